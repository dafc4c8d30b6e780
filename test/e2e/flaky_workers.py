"""`python -m test.e2e.flaky_workers`: the supervisor of `python -m api` (ADR 0033) over
two workers that fail on cue, to watch how it replaces them. The processes, in the order
they start: the first (worker 0) serves, then dies; the second (worker 1) serves on; the
third and fourth (worker 0's replacements) exit with 3 before they serve; the fifth serves
on. A process "serves" by telling the supervisor so and waiting for SIGTERM; they count
themselves in files under `FLAKY_WORKERS_DIR`."""

import logging.config
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

from api.server_config import log_config
from api.settings import load_settings
from api.workers import SERVING, STARTUP_FAILURE, Supervisor, listen

DIES_AFTER_SERVING = 1  # the first process's exit code, once it has served
FAILS_TO_START = (3, 4)  # the processes that exit with 3 before serving


def _count_myself() -> int:
    """1 for the first process to start, 2 for the second, ..."""
    directory = Path(os.environ["FLAKY_WORKERS_DIR"])
    for count in range(1, 100):
        try:
            (directory / f"process-{count}").touch(exist_ok=False)
        except FileExistsError:
            continue
        return count
    raise RuntimeError("too many processes")


def flaky_worker(listener: socket.socket, supervisor: Connection) -> None:
    del listener  # nobody connects: these workers only play at serving
    count = _count_myself()
    if count in FAILS_TO_START:
        sys.exit(STARTUP_FAILURE)
    supervisor.send_bytes(SERVING)
    directory = Path(os.environ["FLAKY_WORKERS_DIR"])
    (directory / f"serving-{count}").touch()
    if count == 1:
        # Dies once the server is up: after the second process, worker 1, serves too.
        while not (directory / "serving-2").exists():
            time.sleep(0.01)
        time.sleep(0.2)
        sys.exit(DIES_AFTER_SERVING)
    signal.pause()  # until SIGTERM, whose default action ends the process


def main() -> int:
    settings = load_settings()
    logging.config.dictConfig(log_config())
    return Supervisor(settings, listen(settings, 16), target=flaky_worker).run()


if __name__ == "__main__":
    sys.exit(main())
