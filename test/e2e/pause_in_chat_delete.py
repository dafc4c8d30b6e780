"""`python -m test.e2e.pause_in_chat_delete CONTROL INSTANT`: the real server (`python -m
api`), which a test can stop for good at one instant of a chat's deletion, once CONTROL/armed
exists: `before_trash`, just before the chat's directory is renamed into `trash/`, or
`after_trash`, just after it was. Nothing of the service is patched: an audit hook (PEP 578)
on the "os.rename" event watches for the directory's rename (its name is the chat's id, its
new name starts with it), in the worker thread that makes it."""

import os
import runpy
import sys
import threading
from pathlib import Path

from test.e2e.pausing import PAUSED
from test.e2e.server import SERVE

ARMED = "armed"
BEFORE_TRASH = "before_trash"
AFTER_TRASH = "after_trash"
INSTANTS = (BEFORE_TRASH, AFTER_TRASH)


def _is_chat_into_trash(source: str, target: str) -> bool:
    return len(source) == 36 and target.startswith(f"{source}.") and target.count(".") == 1


def pause_around_chat_trash(control: Path, instant: str) -> None:
    paused = threading.Event()

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "os.rename" or paused.is_set() or not (control / ARMED).exists():
            return
        source, target, source_dir, target_dir = args
        if not _is_chat_into_trash(str(source), str(target)):
            return
        paused.set()
        if instant == AFTER_TRASH:
            assert isinstance(source_dir, int)
            assert isinstance(target_dir, int)
            os.rename(str(source), str(target), src_dir_fd=source_dir, dst_dir_fd=target_dir)
        (control / PAUSED).write_text(str(source))
        threading.Event().wait()  # until the test kills the process

    sys.addaudithook(hook)


def main() -> None:
    control, instant = Path(sys.argv[1]), sys.argv[2]
    assert instant in INSTANTS, instant
    pause_around_chat_trash(control, instant)
    sys.argv[1:] = []
    runpy.run_module(SERVE[-1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
