"""`python -m bench.shared_fs`: one chatstore instance with its data directory on the local
disk, then on a JuiceFS mount (metadata in PostgreSQL, data in a local directory, mounted
as the tests mount it), both on one PostgreSQL metadata store, so that only the filesystem
differs. Prints, per placement: history PUTs and appends of 4 KiB by WRITERS threads each
on its own chat, history GETs, and uploads of a 16 MiB attachment one after another, as
req/s or MB/s with p50 and p99 latency. The figures of docs/deployment.md's sizing.

A rough client: Python threads with httpx on the same cores as the server and JuiceFS,
so the figures compare the two placements and size a deployment; they are not peak rates.
"""

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from test.e2e.client import client, new_chat, new_user, upload
from test.e2e.server import RunningServer, running_server
from test.juicefs_volume import JuiceFsVolume
from test.postgres_server import PostgresServer

WRITERS = 8
SECONDS = 5.0
SMALL = 4096
UPLOAD_BYTES = 16 * 1024 * 1024
UPLOADS = 8


@dataclass(frozen=True)
class Figure:
    what: str
    rate: float
    unit: str
    p50_ms: float
    p99_ms: float


def _timed_loop(
    server: RunningServer, seconds: float, request: Callable[[httpx.Client, int], None]
) -> list[float]:
    """Run `request(http, n)` on WRITERS threads for `seconds`; each call's latency."""
    latencies: list[list[float]] = [[] for _ in range(WRITERS)]
    deadline = time.monotonic() + seconds

    def loop(writer: int) -> None:
        with client(server) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                request(http, writer)
                latencies[writer].append(time.perf_counter() - started)

    threads = [threading.Thread(target=loop, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [latency for each in latencies for latency in each]


def _figure(
    what: str, latencies: list[float], seconds: float, per_call: float, unit: str
) -> Figure:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Figure(
        what, len(ordered) * per_call / seconds, unit, statistics.median(ordered) * 1e3, p99 * 1e3
    )


def measure(server: RunningServer) -> list[Figure]:
    with client(server) as http:
        headers = new_user(http)
        chats = [new_chat(http, headers) for _ in range(WRITERS)]
    body = (b"**user**: " + b"x" * SMALL)[: SMALL - 1] + b"\n"

    def put(http: httpx.Client, writer: int) -> None:
        answer = http.put(f"/v1/chats/{chats[writer]}/history", headers=headers, content=body)
        assert answer.status_code == 204, answer.text

    def append(http: httpx.Client, writer: int) -> None:
        answer = http.post(f"/v1/chats/{chats[writer]}/history", headers=headers, content=body)
        assert answer.status_code == 204, answer.text

    def get(http: httpx.Client, writer: int) -> None:
        answer = http.get(f"/v1/chats/{chats[writer]}/history", headers=headers)
        assert answer.status_code == 200

    figures = []
    for what, request in (("PUT history 4 KiB", put), ("GET history 4 KiB", get)):
        latencies = _timed_loop(server, SECONDS, request)
        figures.append(_figure(f"{what}, {WRITERS} chats", latencies, SECONDS, 1, "req/s"))
    latencies = _timed_loop(server, SECONDS, append)
    figures.append(_figure(f"append 4 KiB, {WRITERS} chats", latencies, SECONDS, 1, "req/s"))
    data = os.urandom(UPLOAD_BYTES)
    with client(server) as http:
        uploads = []
        for number in range(UPLOADS):
            started = time.perf_counter()
            answer = upload(http, headers, chats[0], [(f"u{number}.bin", data, None)])
            assert answer.status_code == 201, answer.text
            uploads.append(time.perf_counter() - started)
    figures.append(
        _figure("upload 16 MiB, one at a time", uploads, sum(uploads), UPLOAD_BYTES / 1e6, "MB/s")
    )
    return figures


def main() -> None:
    results: dict[str, list[Figure]] = {}
    with (
        PostgresServer.start() as postgres,
        JuiceFsVolume.create(postgres, 1) as volume,
        tempfile.TemporaryDirectory(prefix="chatstore-bench-local-") as local,
    ):
        placements = {
            "local disk": Path(local) / "data",
            "JuiceFS mount": volume.directories("bench/data")[0],
        }
        for name, data_dir in placements.items():
            url = postgres.create_database()
            with running_server(data_dir, metadata_url=url) as server:
                results[name] = measure(server)
    names = list(results)
    print(f"{'job':40} " + " ".join(f"{name:>32}" for name in names))
    for row in zip(*results.values(), strict=True):
        cells = [f"{f.rate:9.1f} {f.unit:5} p50 {f.p50_ms:6.1f} p99 {f.p99_ms:6.1f}" for f in row]
        print(f"{row[0].what:40} " + " ".join(f"{cell:>32}" for cell in cells))


if __name__ == "__main__":
    main()
