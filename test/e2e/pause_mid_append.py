"""`python -m test.e2e.pause_mid_append CONTROL`: the real server (`python -m api`), which a
test can stop in the middle of a batch of appends, after the first append's bytes were
copied onto the history and before the second one's.

Nothing of the service is patched: an audit hook (PEP 578) watches the "open" event for
staging files opened for reading. An append batch opens each staged body twice: to hash
it, then to copy it onto the history. Once the test has created CONTROL/armed, the first
copy-open writes CONTROL/holding and waits for CONTROL/go (so that the test can queue two
more appends behind that one, as one batch); after that, the second copy-open writes
CONTROL/paused and waits for good, so the test can SIGKILL the server there.
"""

import os
import re
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from test.e2e.server import SERVE

ARMED = "armed"
HOLDING = "holding"
GO = "go"
PAUSED = "paused"
_STAGING_TOKEN = re.compile(r"[0-9a-f]{32}\.tmp")
_WRITING = os.O_WRONLY | os.O_RDWR


def pause_mid_append(control: Path) -> None:
    opened: Counter[str] = Counter()
    copies = [0]
    lock = threading.Lock()

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "open" or not isinstance(args[0], str) or not isinstance(args[2], int):
            return
        if not _STAGING_TOKEN.fullmatch(args[0]) or args[2] & _WRITING:
            return
        if not (control / ARMED).exists():
            return
        with lock:
            opened[args[0]] += 1
            if opened[args[0]] != 2:  # the first open hashes the body
                return
            copies[0] += 1
            copy = copies[0]
        if copy == 1:
            (control / HOLDING).write_text(args[0])
            while not (control / GO).exists():
                time.sleep(0.005)
        elif copy == 3:  # the second body of the batch queued behind the first
            (control / PAUSED).write_text(args[0])
            threading.Event().wait()  # until the test kills the process

    sys.addaudithook(hook)


def main() -> None:
    pause_mid_append(Path(sys.argv[1]))
    sys.argv[1:] = []
    runpy.run_module(SERVE[-1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
