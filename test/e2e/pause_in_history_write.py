"""`python -m test.e2e.pause_in_history_write CONTROL INSTANT`: the real server (`python -m
api`), which a test can stop at one chosen instant of a change that replaces the history
(a PUT or a restore), or that prunes its revisions, after its revisions and usage were
recorded (ADR 0022):

- `link`: before the history it replaces is kept, by a hard link `history.md` ->
  `revisions/<ws>/<chat>/<run>.md` (made only when a kept revision still needs it);
- `rename`: before the staged new history is renamed over `history.md` (the link, if
  any, made);
- `unmark`: after that rename, when the chat's unsettled mark is about to go (the old
  runs no revision needs any more are dropped by then);
- `drop`: before the first run file that no revision needs any more is removed, as a
  prune (`DELETE .../history/revisions`) does once its records are written.

Nothing of the service is patched: an audit hook (PEP 578) watches the "os.link",
"os.rename" (which `os.replace` raises too) and "os.remove" events. Once the test has
created CONTROL/armed, the first such instant writes CONTROL/paused and waits for good,
in the worker thread that was about to act, so the test can look at the disk and SIGKILL
the server exactly there.
"""

import re
import runpy
import sys
import threading
from pathlib import Path

from test.e2e.server import SERVE

ARMED = "armed"
PAUSED = "paused"
LINK, RENAME, UNMARK, DROP = "link", "rename", "unmark", "drop"
_HISTORY = "history.md"
_STAGING_TOKEN = re.compile(r"[0-9a-f]{32}\.tmp")
_RUN_FILE = re.compile(r"(0|[1-9][0-9]*)\.md")
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_MARK = re.compile(f"{_UUID}_{_UUID}")
_EVENTS = frozenset({"os.link", "os.rename", "os.remove"})


def pause_in_history_write(control: Path, instant: str) -> None:
    if instant not in (LINK, RENAME, UNMARK, DROP):
        raise SystemExit(f"unknown instant {instant!r}")
    lock = threading.Lock()
    renamed = threading.Event()
    paused = threading.Event()

    def reached(event: str, args: tuple[object, ...]) -> bool:
        """Whether this event is the chosen instant (noting the rename on the way)."""
        if event == "os.link":
            return instant == LINK and args[0] == _HISTORY and _run_file(args[1])
        if event == "os.rename":
            if args[1] != _HISTORY or not _STAGING_TOKEN.fullmatch(str(args[0])):
                return False
            renamed.set()
            return instant == RENAME
        if instant == DROP:
            return _run_file(args[0])
        return instant == UNMARK and renamed.is_set() and bool(_MARK.fullmatch(str(args[0])))

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event not in _EVENTS or paused.is_set() or not (control / ARMED).exists():
            return
        with lock:
            if paused.is_set() or not reached(event, args):
                return
            paused.set()
        (control / PAUSED).write_text(f"{event} {args[0]!s} {args[1]!s}")
        threading.Event().wait()  # until the test kills the process

    sys.addaudithook(hook)


def _run_file(name: object) -> bool:
    return isinstance(name, str) and _RUN_FILE.fullmatch(name) is not None


def main() -> None:
    control, instant = Path(sys.argv[1]), sys.argv[2]
    pause_in_history_write(control, instant)
    sys.argv[1:] = []
    runpy.run_module(SERVE[-1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
