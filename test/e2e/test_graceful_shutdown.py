"""SIGTERM on a real server while slow uploads and history writes are in flight (ADR 0029).

With a generous deadline every request already being served is answered as usual, new
connections are refused, and the lifespan shutdown completes. With a deadline shorter than
the requests, the server exits soon after it, having put back what it cancelled: nothing is
staged, no partial file is in a chat directory, and after a restart usage, records and
revisions agree with the disk, every acknowledged write is there and every other one is
whole or absent."""

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from test.disk import staged_files
from test.e2e.client import (
    BOUNDARY,
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    chats_dir,
    client,
    json_of,
    new_chat,
    new_user_with_chat,
    wait_until,
)
from test.e2e.server import (
    GRACEFUL_EXIT_CODES,
    SHUTDOWN_COMPLETE,
    RunningServer,
    running_server,
    server_to_terminate,
)

pytestmark = pytest.mark.e2e

PIECE = 64 * 1024
WAIT_SECONDS = 20.0
OLD_HISTORY = b"# before the shutdown\n"


@dataclass
class SlowWrite:
    """One request whose body goes out `pieces` times `PIECE` bytes, `pause` apart, from its
    own thread; `answer` is what came back, `error` the transport error if none did."""

    chat_id: str
    kind: str  # "upload", "put" or "append"
    pieces: int
    pause: float
    answer: httpx.Response | None = None
    error: httpx.HTTPError | None = None
    thread: threading.Thread = field(init=False)

    @property
    def content(self) -> bytes:
        letter = {"upload": b"u", "put": b"p", "append": b"a"}[self.kind]
        return (letter + self.chat_id[:7].encode()) * (PIECE // 8) * self.pieces

    def body(self) -> Iterator[bytes]:
        content = self.content
        if self.kind == "upload":
            yield (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="slow.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
        for start in range(0, len(content), PIECE):
            yield content[start : start + PIECE]
            time.sleep(self.pause)
        if self.kind == "upload":
            yield f"\r\n--{BOUNDARY}--\r\n".encode()

    def start(self, server: RunningServer, headers: dict[str, str]) -> None:
        def send() -> None:
            path = f"/v1/chats/{self.chat_id}"
            with client(server) as http:
                try:
                    if self.kind == "upload":
                        content_type = f"multipart/form-data; boundary={BOUNDARY}"
                        self.answer = http.post(
                            f"{path}/files",
                            headers={**headers, "Content-Type": content_type},
                            content=self.body(),
                        )
                    else:
                        method = "PUT" if self.kind == "put" else "POST"
                        self.answer = http.request(
                            method, f"{path}/history", headers=headers, content=self.body()
                        )
                except httpx.HTTPError as error:
                    self.error = error

        self.thread = threading.Thread(target=send)
        self.thread.start()

    @property
    def acknowledged(self) -> bool:
        return self.answer is not None and self.answer.status_code in (201, 204)


def prepare_writes(
    server: RunningServer, headers: dict[str, str], pieces: int, pause: float
) -> list[SlowWrite]:
    """Two uploads, a history PUT and a history append, each on its own new chat whose
    history holds OLD_HISTORY, each to send its body slowly; none started yet."""
    writes = []
    with client(server) as http:
        for kind in ("upload", "upload", "put", "append"):
            chat_id = new_chat(http, headers)
            url = f"/v1/chats/{chat_id}/history"
            assert http.put(url, headers=headers, content=OLD_HISTORY).status_code == 204
            writes.append(SlowWrite(chat_id, kind, pieces, pause))
    return writes


def start_writes(
    server: RunningServer, headers: dict[str, str], pieces: int, pause: float
) -> list[SlowWrite]:
    """`prepare_writes`, started; returns once every one has begun to stage its body, so
    that each is being served."""
    writes = prepare_writes(server, headers, pieces, pause)
    for write in writes:
        write.start(server, headers)
    data_dir = server.data_dir
    wait_until(lambda: len(staged_files(data_dir)) == len(writes), "every write staging")
    return writes


def refuses_connections(server: RunningServer) -> bool:
    address = urlsplit(server.base_url)
    assert address.hostname is not None
    assert address.port is not None
    try:
        socket.create_connection((address.hostname, address.port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    return False


def expected_history(write: SlowWrite) -> bytes:
    return write.content if write.kind == "put" else OLD_HISTORY + write.content


def test_requests_in_flight_at_sigterm_finish_with_their_answers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with server_to_terminate(data_dir, shutdown_seconds="60") as running:
        server = running.server
        with client(server) as http:
            headers, workspace_id, _ = new_user_with_chat(http)
        # 20 pieces 0.1 s apart: each body takes about 2 s to send.
        writes = start_writes(server, headers, pieces=20, pause=0.1)
        running.terminate()
        wait_until(lambda: refuses_connections(server), "new connections refused")
        assert any(write.thread.is_alive() for write in writes), "refused only once idle"
        for write in writes:
            write.thread.join(timeout=60)
        code = running.wait(seconds=30)
        log = server.log()
    assert code in GRACEFUL_EXIT_CODES, log
    assert SHUTDOWN_COMPLETE in log
    assert "cancelling" not in log
    for write in writes:
        assert write.error is None, (write.kind, write.error)
        assert write.answer is not None
        expected = 201 if write.kind == "upload" else 204
        assert write.answer.status_code == expected, write.answer.text
    assert staged_files(data_dir) == []

    with running_server(data_dir) as restarted, client(restarted) as http:
        for write in writes:
            path = f"/v1/chats/{write.chat_id}"
            if write.kind == "upload":
                assert write.answer is not None
                file_id = write.answer.json()["items"][0]["file_id"]
                got = http.get(f"{path}/files/{file_id}/content", headers=headers)
            else:
                got = http.get(f"{path}/history", headers=headers)
            assert got.status_code == 200, got.text
            want = write.content if write.kind == "upload" else expected_history(write)
            assert got.content == want, write.kind
        check_consistent(http, headers, data_dir, workspace_id)


def test_requests_still_running_at_the_deadline_are_cancelled_and_leave_nothing_half_done(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    deadline = 1.0
    with server_to_terminate(data_dir, shutdown_seconds=str(deadline)) as running:
        server = running.server
        with client(server) as http:
            headers, workspace_id, _ = new_user_with_chat(http)
        # 60 pieces 0.3 s apart: each body would take about 18 s to send.
        writes = start_writes(server, headers, pieces=60, pause=0.3)
        sent = time.monotonic()
        running.terminate()
        code = running.wait(seconds=30)
        took = time.monotonic() - sent
        log = server.log()
        # Read before any restart could settle or clear anything.
        staged_at_exit = staged_files(data_dir)
        chat_files_at_exit = {
            path.relative_to(data_dir).as_posix(): path.read_bytes()
            for path in chats_dir(data_dir, workspace_id).rglob("*")
            if path.is_file()
        }
        for write in writes:
            write.thread.join(timeout=60)
    assert code in GRACEFUL_EXIT_CODES, log
    assert SHUTDOWN_COMPLETE in log
    assert "cancelling 4 request(s) still running at the deadline" in log
    assert "did not unwind" not in log
    # By the deadline, plus the signal's tick, the unwinding and the store's close.
    assert took < deadline + 5, took
    assert staged_at_exit == []
    for write in writes:
        assert not write.acknowledged, (write.kind, write.answer)
        if write.answer is not None:
            assert_problem(write.answer, 503, "shutting_down")
            assert write.answer.headers.get("x-request-id"), write.answer.headers
        directory = f"workspaces/{workspace_id}/chats/{write.chat_id}"
        assert f"{directory}/slow.bin" not in chat_files_at_exit
        # Its body never arrived whole, so nothing of it can have landed.
        assert chat_files_at_exit[f"{directory}/history.md"] == OLD_HISTORY

    with running_server(data_dir) as restarted, client(restarted) as http:
        for write in writes:
            path = f"/v1/chats/{write.chat_id}"
            assert json_of(http.get(f"{path}/files", headers=headers))["items"] == []
            history = http.get(f"{path}/history", headers=headers)
            assert history.content == OLD_HISTORY, write.kind
        check_consistent(http, headers, data_dir, workspace_id)


def test_writes_cancelled_while_their_records_wait_for_the_store_land_whole_or_not_at_all(
    tmp_path: Path,
) -> None:
    """The cancellation comes while each write waits on the metadata store's write lock
    (held by the test), inside its change: its mark stays, and once the lock is let go the
    store may still save what the write had handed it. After a restart, settling finds
    every write whole or absent."""
    data_dir = tmp_path / "data"
    with server_to_terminate(data_dir, shutdown_seconds="1") as running:
        server = running.server
        with client(server) as http:
            headers, workspace_id, _ = new_user_with_chat(http)
        writes = prepare_writes(server, headers, pieces=1, pause=0)
        store = sqlite3.connect(data_dir / "metadata.db", timeout=WAIT_SECONDS)
        store.isolation_level = None
        store.execute("BEGIN IMMEDIATE")  # every write of the server now waits
        for write in writes:
            write.start(server, headers)
        marks = data_dir / "unsettled"
        wait_until(lambda: len(list(marks.iterdir())) == len(writes), "every write marked")
        sent = time.monotonic()
        running.terminate()
        wait_until(lambda: "cancelling 4 request(s)" in server.log(), "the deadline passed")
        # The uploads end at once; a history write's batch, handed to the store before the
        # cancellation came, is seen through first (ADR 0012), so it ends once the lock goes.
        wait_until(
            lambda: server.log().count("cancelled at the shutdown deadline") == 2,
            "the uploads cancelled",
        )
        store.execute("ROLLBACK")  # what was handed to the store goes on
        store.close()
        code = running.wait(seconds=30)
        took = time.monotonic() - sent
        log = server.log()
        staged_at_exit = staged_files(data_dir)
        for write in writes:
            write.thread.join(timeout=60)
    assert code in GRACEFUL_EXIT_CODES, log
    assert SHUTDOWN_COMPLETE in log
    assert took < 1 + 5, took
    assert staged_at_exit == []
    for write in writes:
        assert write.answer is not None, write.error
        assert_problem(write.answer, 503, "shutting_down")

    with running_server(data_dir) as restarted, client(restarted) as http:
        for write in writes:
            path = f"/v1/chats/{write.chat_id}"
            history = http.get(f"{path}/history", headers=headers)
            assert history.content in {OLD_HISTORY, expected_history(write)}, write.kind
            files = json_of(http.get(f"{path}/files", headers=headers))["items"]
            for item in files:
                got = http.get(f"{path}/files/{item['file_id']}/content", headers=headers)
                assert got.content == write.content
        check_consistent(http, headers, data_dir, workspace_id)
        restart_log = restarted.log()
    assert "settled" in restart_log, restart_log


def check_consistent(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, workspace_id: str
) -> None:
    assert_no_leftovers(data_dir)
    assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
    for chat in json_of(http.get("/v1/chats", headers=headers))["items"]:
        assert_revisions_agree(http, headers, data_dir, workspace_id, chat["chat_id"])
