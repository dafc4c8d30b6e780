"""`python -m test.e2e.pause_at_rename CONTROL NAME`: the real server (`python -m api`), which
a test can stop at one chosen instant, just before a staged file is renamed over NAME.

Nothing of the service is patched: the server runs with an audit hook (PEP 578) on the
"os.rename" event, which `os.replace` raises before it renames. Once the test has created
CONTROL/armed, the first rename of a staging file (a staging token) over NAME writes
CONTROL/paused and then waits for good, in the worker thread that was about to do it, so
the test can look at the disk and SIGKILL the server at exactly that point.
"""

import re
import runpy
import sys
import threading
from pathlib import Path

from test.e2e.server import SERVE

ARMED = "armed"
PAUSED = "paused"
_STAGING_TOKEN = re.compile(r"[0-9a-f]{32}\.tmp")


def pause_before_renaming_over(control: Path, name: str) -> None:
    paused = threading.Event()

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "os.rename" or paused.is_set() or args[1] != name:
            return
        if not _STAGING_TOKEN.fullmatch(str(args[0])) or not (control / ARMED).exists():
            return
        paused.set()
        (control / PAUSED).write_text(name)
        threading.Event().wait()  # until the test kills the process

    sys.addaudithook(hook)


def main() -> None:
    control, name = Path(sys.argv[1]), sys.argv[2]
    pause_before_renaming_over(control, name)
    sys.argv[1:] = []
    runpy.run_module(SERVE[-1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
