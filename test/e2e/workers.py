"""What the tests of `CHATSTORE_WORKERS` read off a running server: its workers' pids, from
the supervisor's log lines, and the pid that answered each request, from the access lines
(ADR 0033)."""

import json
import re
from pathlib import Path
from typing import Any

from test.e2e.client import wait_until
from test.e2e.server import RunningServer

_SERVES = re.compile(r"worker (\d+) \(pid (\d+)\) serves")


def log_lines(server: RunningServer) -> list[dict[str, Any]]:
    """The server's JSON log lines so far (uvicorn's own text lines left out)."""
    return log_lines_of(server.log())


def log_lines_of(log: str) -> list[dict[str, Any]]:
    """The JSON lines of a server's `log` (uvicorn's own text lines left out)."""
    return [json.loads(text) for text in log.splitlines() if text.startswith("{")]


def serving_workers(server: RunningServer) -> dict[int, int]:
    """Each worker's number, and the pid of the latest process that came to serve as it."""
    workers: dict[int, int] = {}
    for line in log_lines(server):
        if line["pid"] == server.pid and (found := _SERVES.fullmatch(line["message"])):
            workers[int(found.group(1))] = int(found.group(2))
    return workers


def wait_for_workers(server: RunningServer, count: int) -> dict[int, int]:
    """Once `count` workers serve, their pids by number."""
    wait_until(lambda: len(serving_workers(server)) == count, f"{count} workers serving")
    return serving_workers(server)


def answering_pids(server: RunningServer, request_ids: set[str]) -> dict[str, int]:
    """The pid of the process that logged the access line of each of `request_ids`."""
    return {
        line["request_id"]: line["pid"]
        for line in log_lines(server)
        if line["logger"] == "chatstore.access" and line["request_id"] in request_ids
    }


def parent_of(pid: int) -> int:
    """The parent's pid of a live process (Linux's /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name, in parentheses, may hold spaces: the fields after it are plain.
    return int(stat.rpartition(")")[2].split()[1])


def is_running(pid: int) -> bool:
    """Whether the process is there and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
