"""`python -m api` with `CHATSTORE_WORKERS=2` (ADR 0033): both workers answer, the
invariants that two instances hold (test_two_processes) hold between two workers behind
one socket, SIGTERM to the supervisor shuts both down as ADR 0029 shuts one, a worker
killed mid-write is replaced while its sibling serves on and leaves nothing lost or half
done, and a worker that cannot start stops the server with 3.

The races are test_two_processes' own bodies, given one server twice as the "pair": each
request opens its own connection, which the kernel hands to whichever worker accepts it
first, so each race is spread over both processes (`test_both_workers_answer_requests`
shows that they both do)."""

import itertools
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from test.disk import staged_files
from test.e2e import test_graceful_shutdown as shutdown
from test.e2e import test_two_processes as two
from test.e2e.client import (
    Request,
    assert_no_leftovers,
    assert_problem,
    assert_records_bytes_and_usage_agree,
    assert_revisions_agree,
    client,
    json_of,
    new_chat,
    new_user_with_chat,
    race,
    sha256,
    upload,
    wait_until,
)
from test.e2e.server import (
    GRACEFUL_EXIT_CODES,
    SHUTDOWN_COMPLETE,
    RunningServer,
    free_port,
    running_server,
    server_to_terminate,
)
from test.e2e.test_crash import turn
from test.e2e.workers import (
    answering_pids,
    is_running,
    log_lines_of,
    parent_of,
    serving_workers,
    wait_for_workers,
)
from test.postgres_server import PostgresServer

pytestmark = pytest.mark.e2e

WORKERS = "2"
EXIT_TIMEOUT_SECONDS = 60


@contextmanager
def workers_pair(
    backend: str, request: pytest.FixtureRequest, scratch: Path, **settings: str
) -> Iterator[two.Pair]:
    """test_two_processes' `two_servers`, as one server of two workers on `scratch/data`
    and an SQLite file beside it, or one fresh PostgreSQL database."""
    data_dir = scratch / "data"
    if backend == "sqlite":
        url = f"sqlite:///{scratch.resolve() / 'store' / 'metadata.db'}"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        url = postgres.create_database()
    with running_server(data_dir, workers=WORKERS, metadata_url=url, **settings) as server:
        wait_for_workers(server, 2)
        yield two.Pair([server, server], data_dir, url)


@pytest.fixture(scope="module", params=two.BACKENDS)
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[two.Pair]:
    """One server of two workers per backend for the module; each test works as a new user."""
    with workers_pair(request.param, request, tmp_path_factory.mktemp("workers")) as started:
        yield started


def test_both_workers_answer_requests(pair: two.Pair) -> None:
    # Requests sent at once, each on its own connection, are accepted by both workers: the
    # supervisor's children, each logging the access lines of what it answered.
    server = pair.servers[0]
    workers = serving_workers(server)
    assert len(workers) == 2
    assert all(parent_of(pid) == server.pid for pid in workers.values())
    answered: dict[str, int] = {}
    for _ in range(20):
        answered |= _race_healthz(server, [f"both-{uuid.uuid4()}" for _ in range(16)])
        if set(answered.values()) == set(workers.values()):
            break
    assert set(answered.values()) == set(workers.values())


def _race_healthz(server: RunningServer, request_ids: list[str]) -> dict[str, int]:
    """Send a /healthz per id at once; the pid that answered each, by id."""

    def healthz(request_id: str) -> Request:
        return lambda http: http.get("/healthz", headers={"X-Request-Id": request_id})

    answers = race([(server, healthz(request_id)) for request_id in request_ids])
    assert [answer.status_code for answer in answers] == [200] * len(request_ids)
    wanted = set(request_ids)
    wait_until(lambda: len(answering_pids(server, wanted)) == len(wanted), "access lines")
    return answering_pids(server, wanted)


def test_racing_workspace_creation_on_two_workers_makes_one_workspace(pair: two.Pair) -> None:
    two.test_racing_workspace_creation_from_both_servers_makes_one_workspace(pair)


def test_racing_uploads_of_one_name_on_two_workers_keep_one_consistent_file(
    pair: two.Pair,
) -> None:
    two.test_racing_uploads_of_one_name_from_both_servers_keep_one_consistent_file(pair)


def test_racing_sandbox_starts_on_two_workers_leave_one_active_session(pair: two.Pair) -> None:
    two.test_racing_sandbox_starts_from_both_servers_leave_one_active_session(pair)


@pytest.mark.parametrize("backend", two.BACKENDS)
def test_racing_uploads_on_two_workers_never_pass_the_workspace_quota(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The two-process test's body, its pair of servers swapped for two workers.
    monkeypatch.setattr(two, "two_servers", workers_pair)
    two.test_racing_uploads_from_both_servers_never_pass_the_workspace_quota(
        backend, request, tmp_path
    )


def test_racing_history_writes_with_one_if_match_on_two_workers_let_one_win(
    pair: two.Pair,
) -> None:
    two.test_racing_history_writes_with_one_if_match_from_both_servers_let_one_win(pair)


def test_racing_appends_on_two_workers_all_land_whole(pair: two.Pair) -> None:
    two.test_racing_appends_from_both_servers_all_land_whole(pair)


def test_appends_and_puts_on_two_workers_end_as_one_serial_order(pair: two.Pair) -> None:
    two.test_appends_and_puts_from_both_servers_end_as_one_serial_order(pair)


def test_a_chat_deleted_during_an_upload_on_two_workers_stays_gone(pair: two.Pair) -> None:
    two.test_a_chat_deleted_through_one_server_during_an_upload_through_the_other_stays_gone(pair)


def test_sigterm_to_the_supervisor_lets_both_workers_finish_their_writes_in_flight(
    tmp_path: Path,
) -> None:
    # ADR 0029 with two workers: the writes in flight at SIGTERM, spread over both, end
    # with their usual answers, new connections are refused once every copy of the socket
    # is closed, and the supervisor exits cleanly once both workers have.
    data_dir = tmp_path / "data"
    with server_to_terminate(data_dir, workers=WORKERS, shutdown_seconds="60") as running:
        server = running.server
        workers = wait_for_workers(server, 2)
        with client(server) as http:
            headers, workspace_id, _ = new_user_with_chat(http)
        writes = shutdown.start_writes(server, headers, pieces=20, pause=0.1)
        running.terminate()
        wait_until(lambda: shutdown.refuses_connections(server), "new connections refused")
        assert any(write.thread.is_alive() for write in writes), "refused only once idle"
        for write in writes:
            write.thread.join(timeout=60)
        code = running.wait(seconds=EXIT_TIMEOUT_SECONDS)
        log = server.log()
    assert code in GRACEFUL_EXIT_CODES, log
    assert log.count(SHUTDOWN_COMPLETE) == 2, log
    assert "cancelling" not in log
    assert not any(is_running(pid) for pid in workers.values())
    for write in writes:
        assert write.error is None, (write.kind, write.error)
        assert write.answer is not None
        assert write.answer.status_code == (201 if write.kind == "upload" else 204)
    with running_server(data_dir) as restarted, client(restarted) as http:
        for write in writes:
            path = f"/v1/chats/{write.chat_id}"
            assert write.answer is not None
            if write.kind == "upload":
                file_id = write.answer.json()["items"][0]["file_id"]
                got = http.get(f"{path}/files/{file_id}/content", headers=headers)
                assert got.content == write.content
            else:
                got = http.get(f"{path}/history", headers=headers)
                assert got.content == shutdown.expected_history(write), write.kind
        shutdown.check_consistent(http, headers, data_dir, workspace_id)


def test_writes_past_the_deadline_on_both_workers_are_cancelled_and_leave_nothing_half_done(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    deadline = 1.0
    with server_to_terminate(data_dir, workers=WORKERS, shutdown_seconds=str(deadline)) as running:
        server = running.server
        wait_for_workers(server, 2)
        with client(server) as http:
            headers, workspace_id, _ = new_user_with_chat(http)
        # Each body would take about 18 s to send.
        writes = shutdown.start_writes(server, headers, pieces=60, pause=0.3)
        sent = time.monotonic()
        running.terminate()
        code = running.wait(seconds=EXIT_TIMEOUT_SECONDS)
        took = time.monotonic() - sent
        log = server.log()
        staged_at_exit = staged_files(data_dir)
        for write in writes:
            write.thread.join(timeout=60)
    assert code in GRACEFUL_EXIT_CODES, log
    assert log.count(SHUTDOWN_COMPLETE) == 2, log
    assert "did not unwind" not in log
    assert took < deadline + 5, took
    assert staged_at_exit == []
    for write in writes:
        assert not write.acknowledged, (write.kind, write.answer)
        if write.answer is not None:
            assert_problem(write.answer, 503, "shutting_down")
    with running_server(data_dir) as restarted, client(restarted) as http:
        for write in writes:
            path = f"/v1/chats/{write.chat_id}"
            assert json_of(http.get(f"{path}/files", headers=headers))["items"] == []
            history = http.get(f"{path}/history", headers=headers)
            assert history.content == shutdown.OLD_HISTORY, write.kind
        shutdown.check_consistent(http, headers, data_dir, workspace_id)


MIB = 1024 * 1024
WRITERS = 6


@dataclass
class Writer:
    """One thread writing its own chat over and over, on a new connection each time (so
    its requests go to both workers), until told to stop; it goes on after a transport
    error (its request was on the killed worker) and stops only after an answered write."""

    server: RunningServer
    headers: dict[str, str]
    chat_id: str
    kind: str  # "put", "append" or "upload"
    acknowledged: list[bytes] = field(default_factory=list)
    cut: int = 0  # writes that got no answer
    after_kill: int = 0  # writes answered after the kill
    killed: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    failure: AssertionError | None = None

    def body(self, number: int) -> bytes:
        if self.kind == "append":
            return turn(0, number)
        return f"{self.kind} {number:05d} ".encode() * (MIB // 11)

    def send(self, http: httpx.Client, body: bytes) -> None:
        url = f"/v1/chats/{self.chat_id}"
        if self.kind == "upload":
            answer = upload(http, self.headers, self.chat_id, [("same.bin", body, None)])
        else:
            method = "PUT" if self.kind == "put" else "POST"
            answer = http.request(method, f"{url}/history", headers=self.headers, content=body)
        assert answer.status_code in (201, 204), answer.text

    def run(self) -> None:
        # A write cut short may still have landed, so no body is ever sent twice: an
        # append's turns stay distinct, and their order tells what landed when.
        try:
            for number in itertools.count():
                body = self.body(number)
                try:
                    with client(self.server) as http:
                        self.send(http, body)
                except httpx.TransportError:
                    self.cut += 1
                    time.sleep(0.01)
                    continue
                self.acknowledged.append(body)
                if self.killed.is_set():
                    self.after_kill += 1
                if self.stop.is_set():
                    return
        except AssertionError as error:
            self.failure = error

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        assert self.thread is not None
        self.thread.join(timeout=EXIT_TIMEOUT_SECONDS)
        assert not self.thread.is_alive()
        if self.failure is not None:
            raise self.failure


def test_a_worker_killed_mid_write_is_replaced_while_its_sibling_serves_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    # Writers PUT, append and upload 1 MiB bodies on their own chats, each request on a
    # new connection, so both workers are mid-write when one is killed. The supervisor
    # starts a replacement, whose start-up clears the dead worker's staging area and
    # settles what it left, while the sibling goes on serving (its changes hold their
    # chats' locks, so none is settled under it). Without any restart, once the writers
    # stop: every acknowledged write is there, every history is whole, records, bytes,
    # usage and revisions agree, nothing is staged or left to settle.
    data_dir = tmp_path / "data"
    with server_to_terminate(data_dir, workers=WORKERS) as running:
        server = running.server
        workers = wait_for_workers(server, 2)
        with client(server) as http:
            headers, workspace_id, first = new_user_with_chat(http)
            chat_ids = [first] + [new_chat(http, headers) for _ in range(WRITERS - 1)]
        kinds = ["put", "append", "upload"]
        writers = [
            Writer(server, headers, chat_id, kinds[index % len(kinds)])
            for index, chat_id in enumerate(chat_ids)
        ]
        for writer in writers:
            writer.start()
        wait_until(lambda: len(staged_files(data_dir)) >= 2, "writes staging")
        time.sleep(0.3)
        victim, sibling = workers[0], workers[1]
        os.kill(victim, signal.SIGKILL)
        for writer in writers:
            writer.killed.set()
        replaced = lambda: serving_workers(server).get(0) not in (None, victim)  # noqa: E731
        wait_until(replaced, "a replacement serving", seconds=EXIT_TIMEOUT_SECONDS)
        wait_until(
            lambda: all(writer.after_kill >= 3 or writer.failure for writer in writers),
            "writes answered after the kill",
            seconds=EXIT_TIMEOUT_SECONDS,
        )
        for writer in writers:
            writer.finish()
        assert serving_workers(server) == {0: serving_workers(server)[0], 1: sibling}
        assert is_running(sibling)
        assert not is_running(victim)

        with client(server) as http:
            for writer in writers:
                _assert_all_acknowledged_there(http, writer)
            assert_records_bytes_and_usage_agree(http, headers, data_dir, workspace_id)
            for chat_id in chat_ids:
                assert_revisions_agree(http, headers, data_dir, workspace_id, chat_id)
        assert_no_leftovers(data_dir)
        assert list((data_dir / "unsettled").iterdir()) == []
        log = server.log()
        running.terminate()
        code = running.wait(seconds=EXIT_TIMEOUT_SECONDS)
    assert f"worker 0 (pid {victim}) died (exit -9); starting a replacement" in log
    # The victim was serving writes (the kill came while staged bodies were on disk).
    assert any(
        line["pid"] == victim and line.get("method") in ("PUT", "POST")
        for line in log_lines_of(log)
    )
    assert code in GRACEFUL_EXIT_CODES, server.log()


def _assert_all_acknowledged_there(http: httpx.Client, writer: Writer) -> None:
    """A PUT chat holds its last acknowledged body; an append chat, whole turns each once
    with every acknowledged one among them in order; an upload chat, one file: the last
    acknowledged body."""
    url = f"/v1/chats/{writer.chat_id}"
    history = http.get(f"{url}/history", headers=writer.headers)
    assert history.headers["etag"] == f'"{sha256(history.content)}"'
    if writer.kind == "put":
        assert history.content == writer.acknowledged[-1]
    elif writer.kind == "append":
        # Whole turns only, in the order sent, none twice; every acknowledged one there.
        lines = history.content.splitlines(keepends=True)
        numbers = [int(line.split()[3]) for line in lines]
        assert lines == [turn(0, number) for number in numbers]
        assert numbers == sorted(set(numbers))
        assert set(writer.acknowledged) <= set(lines)
        assert lines[-1] == writer.acknowledged[-1]
    else:
        (record,) = json_of(http.get(f"{url}/files", headers=writer.headers))["items"]
        content = http.get(f"{url}/files/{record['file_id']}/content", headers=writer.headers)
        assert content.content == writer.acknowledged[-1]
        assert record["sha256"] == sha256(content.content)


def _start_and_fail(data_dir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CHATSTORE_DATA_DIR": str(data_dir),
        "CHATSTORE_PORT": str(free_port()),
        **{f"CHATSTORE_{key.upper()}": value for key, value in settings.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "api"],
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_SECONDS,
        check=False,
    )


def test_several_workers_on_the_in_memory_store_stop_start_up_with_one_line(
    tmp_path: Path,
) -> None:
    done = _start_and_fail(tmp_path, workers=WORKERS, metadata_url="memory://")

    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("chatstore: invalid setting CHATSTORE_WORKERS: ")


def test_workers_that_cannot_start_stop_the_server_with_3(tmp_path: Path) -> None:
    # The store is fine (checked once, before any worker starts), but the data directory
    # is a file: the first worker's start-up fails, and no other is started.
    data_dir = tmp_path / "not-a-directory"
    data_dir.write_text("a file")
    store = f"sqlite:///{tmp_path.resolve() / 'metadata.db'}"

    done = _start_and_fail(data_dir, workers=WORKERS, metadata_url=store)

    assert done.returncode == 3, done.stderr
    assert "worker 0 (pid" in done.stderr
    assert "before it served" in done.stderr
    assert "started worker 1" not in done.stderr


def test_a_port_in_use_stops_the_supervisor_with_one_line_and_3(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _start_and_fail(tmp_path, workers=WORKERS, port=str(port))

    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"chatstore: cannot listen on 127.0.0.1:{port}: ")


def test_workers_left_without_their_supervisor_shut_down(tmp_path: Path) -> None:
    # The supervisor killed outright cannot stop its workers: each sees its pipe to the
    # supervisor close and shuts down gracefully, instead of serving on unsupervised.
    with server_to_terminate(tmp_path / "data", workers=WORKERS) as running:
        workers = wait_for_workers(running.server, 2)
        os.kill(running.server.pid, signal.SIGKILL)
        running.wait(seconds=EXIT_TIMEOUT_SECONDS)
        wait_until(
            lambda: not any(is_running(pid) for pid in workers.values()),
            "the workers gone",
            seconds=EXIT_TIMEOUT_SECONDS,
        )
        log = running.server.log()
    assert log.count("the supervisor is gone: shutting down") == 2, log
    assert log.count(SHUTDOWN_COMPLETE) == 2, log


def test_a_worker_that_dies_is_replaced_and_a_replacement_that_cannot_start_is_retried(
    tmp_path: Path,
) -> None:
    # The real supervisor over stand-in workers (test/e2e/flaky_workers.py): worker 0
    # serves, then dies; its first two replacements exit with 3 before serving, which,
    # once the server has served, is no reason to stop it: each is tried again after a
    # longer pause, and the third serves. Worker 1 serves throughout. SIGTERM then stops
    # both, and the supervisor exits 0.
    scratch = tmp_path / "attempts"
    scratch.mkdir()
    env = {
        **os.environ,
        "CHATSTORE_DATA_DIR": str(tmp_path / "data"),
        "CHATSTORE_PORT": str(free_port()),
        "CHATSTORE_WORKERS": WORKERS,
        "FLAKY_WORKERS_DIR": str(scratch),
    }
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "test.e2e.flaky_workers"], env=env, stderr=stderr
        )
        try:

            def log() -> str:
                # Read through a new description: seeking the child's would move its writes.
                return Path(f"/proc/self/fd/{stderr.fileno()}").read_text()

            wait_until(
                lambda: (scratch / "serving-5").exists() and log().count(" serves") == 3,
                "the fifth process serving",
                seconds=EXIT_TIMEOUT_SECONDS,
            )
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=EXIT_TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        messages = [line["message"] for line in log_lines_of(log())]
    assert code == 0, messages
    started = re.compile(r"started worker \d \(pid (\d+)\)")
    pids = [int(found.group(1)) for message in messages if (found := started.fullmatch(message))]
    first, second, third, fourth, fifth = pids
    assert [
        message
        for message in messages
        if "serves" in message or "exited" in message or "died" in message
    ] == [
        f"worker 0 (pid {first}) serves",
        f"worker 1 (pid {second}) serves",
        f"worker 0 (pid {first}) died (exit 1); starting a replacement",
        f"worker 0 (pid {third}) exited with 3 before it served; trying again in 1s",
        f"worker 0 (pid {fourth}) exited with 3 before it served; trying again in 2s",
        f"worker 0 (pid {fifth}) serves",
    ]
    assert messages[-1] == "stopping 2 worker(s)"


def test_the_store_is_checked_once_before_any_worker_starts(tmp_path: Path) -> None:
    # A schema newer than this build stops start-up with its one line and 2, as for one
    # server: the supervisor checked the store before it bound or spawned anything.
    store = tmp_path / "metadata.db"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT)")
        db.execute("INSERT INTO schema_migrations VALUES (999, 'from the future')")

    done = _start_and_fail(tmp_path, workers=WORKERS, metadata_url=f"sqlite:///{store}")

    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "metadata schema is at version 999, newer than" in done.stderr
