"""`python -m api.admin check` as operators run it: another process beside a real server on
the same data directory and metadata store (SQLite, and PostgreSQL), differences planted
behind the server's back. A check finds them and changes nothing; a check while the
server serves a stream of writes finds nothing that is not there; a repair while those
writes land loses none of them; a repair killed with SIGKILL half-way is finished by the
next one (ADR 0026)."""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from test.e2e.client import (
    chats_dir,
    client,
    json_of,
    new_chat,
    new_user_with_chat,
    upload,
    wait_until,
)
from test.e2e.pause_in_repair import PAUSED, TRASHED, UNMARKING
from test.e2e.server import RunningServer, running_server
from test.postgres_server import PostgresServer

pytestmark = pytest.mark.e2e

ADMIN_TIMEOUT_SECONDS = 120.0
ORPHAN = "00000000-0000-4000-8000-00000000beef"


@dataclass(frozen=True)
class Deployment:
    server: RunningServer
    data_dir: Path
    metadata_url: str
    postgres: PostgresServer | None

    def admin(
        self, *argv: str, module: tuple[str, ...] = ("api.admin",)
    ) -> "subprocess.CompletedProcess[str]":
        return subprocess.run(
            [sys.executable, "-m", *module, *argv],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=ADMIN_TIMEOUT_SECONDS,
            check=False,
        )

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "CHATSTORE_DATA_DIR": str(self.data_dir),
            "CHATSTORE_METADATA_URL": self.metadata_url,
        }

    def set_used_bytes(self, chat_id: str, used_bytes: int) -> None:
        """Edit the chat's usage row in the store, as an operator's stray UPDATE would."""
        if self.postgres is None:
            path = self.metadata_url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as db:
                db.execute(
                    "UPDATE chat_usage SET used_bytes = ? WHERE chat_id = ?",
                    (used_bytes, UUID(chat_id).bytes),
                )
        else:
            self.postgres.run_sql(
                self.metadata_url,
                f"UPDATE chat_usage SET used_bytes = {used_bytes} WHERE chat_id = '{chat_id}'",
            )


@pytest.fixture(params=["sqlite", "postgres"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    data_dir = tmp_path / "data"
    postgres: PostgresServer | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir.resolve() / 'metadata.db'}"
    else:
        postgres = request.getfixturevalue("postgres_server")
        url = postgres.create_database()
    with running_server(data_dir, metadata_url=url) as server:
        yield Deployment(server, data_dir, url, postgres)


def chat_dir(data_dir: Path, workspace_id: str, chat_id: str) -> Path:
    return chats_dir(data_dir, workspace_id) / chat_id


def written_chat(http: httpx.Client) -> tuple[dict[str, str], str, str]:
    headers, workspace_id, chat_id = new_user_with_chat(http)
    for body in (b"# one\n", b"# two\n"):
        assert http.put(f"/v1/chats/{chat_id}/history", headers=headers, content=body).is_success
    appended = http.post(f"/v1/chats/{chat_id}/history", headers=headers, content=b"more\n")
    assert appended.status_code == 204
    uploaded = upload(
        http, headers, chat_id, [("a.txt", b"a" * 100, "text/plain"), ("b.bin", b"b" * 300, None)]
    )
    assert uploaded.status_code == 201, uploaded.text
    return headers, workspace_id, chat_id


def usage_agrees_with_disk(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, workspace_id: str
) -> None:
    used = json_of(http.get("/v1/workspace/usage", headers=headers))["used_bytes"]
    on_disk = sum(
        path.lstat().st_size
        for path in chats_dir(data_dir, workspace_id).rglob("*")
        if path.is_file() and not path.is_symlink()
    )
    assert used == on_disk


def test_a_check_from_another_process_sees_what_was_planted_and_repairs_it(
    deployment: Deployment,
) -> None:
    data_dir = deployment.data_dir
    with client(deployment.server) as http:
        headers, workspace_id, chat_id = written_chat(http)
        here = chat_dir(data_dir, workspace_id, chat_id)
        (here / "behind.bin").write_bytes(b"x" * 12)
        os.truncate(here / "b.bin", 10)
        deployment.set_used_bytes(chat_id, 1)
        orphan = here.parent / ORPHAN
        orphan.mkdir()
        (orphan / "history.md").write_bytes(b"# nobody's\n")

        found = deployment.admin("check")

        assert found.returncode == 1, found.stderr
        lines = found.stdout.splitlines()
        assert f"chat {chat_id}: file 'behind.bin' on disk has no record (12 bytes)" in lines
        assert f"chat {chat_id}: used_bytes recorded 1, disk 133" in lines
        assert f"chat {ORPHAN}: directory on disk has no chat record" in lines
        assert any("'b.bin' says 300 bytes, disk has 10" in line for line in lines)
        assert deployment.admin("check").stdout == found.stdout  # the check changed nothing

        repaired = deployment.admin("check", "--repair")

        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        again = deployment.admin("check")
        assert (again.returncode, again.stdout) == (0, ""), again.stderr
        files = json_of(http.get(f"/v1/chats/{chat_id}/files", headers=headers))["items"]
        assert sorted((file["name"], file["size_bytes"]) for file in files) == [
            ("a.txt", 100),
            ("b.bin", 10),
            ("behind.bin", 12),
        ]
        assert not orphan.exists()
        usage_agrees_with_disk(http, headers, data_dir, workspace_id)


class Writer(threading.Thread):
    """Appends numbered lines to a chat, and uploads a numbered file now and then, until
    stopped; keeps what the server acknowledged."""

    def __init__(
        self, server: RunningServer, headers: dict[str, str], chat_id: str, tag: str
    ) -> None:
        super().__init__(daemon=True)
        self._server, self._headers, self._chat_id, self._tag = server, headers, chat_id, tag
        self.stop = threading.Event()
        self.appended: list[bytes] = []
        self.uploaded: list[str] = []
        self.failures: list[str] = []

    def run(self) -> None:
        with client(self._server) as http:
            number = 0
            while not self.stop.is_set():
                number += 1
                line = f"{self._tag} {number}\n".encode()
                answer = http.post(
                    f"/v1/chats/{self._chat_id}/history", headers=self._headers, content=line
                )
                if answer.status_code == 204:
                    self.appended.append(line)
                else:
                    self.failures.append(answer.text)
                if number % 5 == 0:
                    name = f"{self._tag}-{number}.txt"
                    answer = upload(http, self._headers, self._chat_id, [(name, line * 10, None)])
                    if answer.status_code == 201:
                        self.uploaded.append(name)
                    else:
                        self.failures.append(answer.text)


def test_checks_and_a_repair_amid_writes_report_only_what_differs_and_lose_no_write(
    deployment: Deployment,
) -> None:
    data_dir, server = deployment.data_dir, deployment.server
    with client(server) as http:
        clean_headers, clean_workspace, clean_chat = new_user_with_chat(http)
        second_clean_chat = new_chat(http, clean_headers)
        planted_headers, planted_workspace, planted_chat = written_chat(http)
        (chat_dir(data_dir, planted_workspace, planted_chat) / "behind.bin").write_bytes(b"x")
        deployment.set_used_bytes(planted_chat, 1)
        writers = [
            Writer(server, clean_headers, clean_chat, "clean"),
            Writer(server, clean_headers, second_clean_chat, "second"),
            Writer(server, planted_headers, planted_chat, "planted"),
        ]
        for writer in writers:
            writer.start()
        try:
            wait_until(lambda: all(len(writer.appended) >= 5 for writer in writers), "writes flow")
            clean_checks = [
                deployment.admin("check", "--workspace", clean_workspace) for _ in range(3)
            ]
            repaired = deployment.admin("check", "--repair", "--workspace", planted_workspace)
            wait_until(lambda: all(len(writer.appended) >= 30 for writer in writers), "more writes")
        finally:
            for writer in writers:
                writer.stop.set()
            for writer in writers:
                writer.join(timeout=30)

        for checked in clean_checks:
            assert (checked.returncode, checked.stdout) == (0, ""), checked.stdout + checked.stderr
        assert repaired.returncode == 0, repaired.stdout + repaired.stderr
        assert f"chat {planted_chat}: file 'behind.bin' on disk has no record (1 bytes)" in (
            repaired.stdout.splitlines()
        )
        final = deployment.admin("check")
        assert (final.returncode, final.stdout) == (0, ""), final.stdout + final.stderr
        for writer, (headers, chat_id) in zip(
            writers,
            [
                (clean_headers, clean_chat),
                (clean_headers, second_clean_chat),
                (planted_headers, planted_chat),
            ],
            strict=True,
        ):
            assert writer.failures == []
            history = http.get(f"/v1/chats/{chat_id}/history", headers=headers).content
            assert history.endswith(b"".join(writer.appended))
            names = {
                file["name"]
                for file in json_of(
                    http.get(f"/v1/chats/{chat_id}/files?limit=1000", headers=headers)
                )["items"]
            }
            assert set(writer.uploaded) <= names
        usage_agrees_with_disk(http, clean_headers, data_dir, clean_workspace)
        usage_agrees_with_disk(http, planted_headers, data_dir, planted_workspace)


@pytest.mark.parametrize("instant", [TRASHED, UNMARKING])
def test_a_repair_killed_half_way_is_finished_by_the_next_one(
    deployment: Deployment, tmp_path: Path, instant: str
) -> None:
    data_dir = deployment.data_dir
    control = tmp_path / "control"
    control.mkdir()
    with client(deployment.server) as http:
        headers, workspace_id, chat_id = written_chat(http)
        here = chat_dir(data_dir, workspace_id, chat_id)
        (here / "behind.bin").write_bytes(b"x" * 7)
        orphan = here.parent / ORPHAN
        orphan.mkdir()
        (orphan / "history.md").write_bytes(b"# nobody's\n")

        repair = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "test.e2e.pause_in_repair",
                str(control),
                instant,
                "check",
                "--repair",
            ],
            env=deployment.environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until((control / PAUSED).exists, "the repair to pause", seconds=60)
            os.kill(repair.pid, signal.SIGKILL)
        finally:
            repair.kill()
            repair.wait(timeout=30)
        paused_on = (control / PAUSED).read_text()
        assert paused_on == (ORPHAN if instant == TRASHED else chat_id)

        left = deployment.admin("check")
        assert left.returncode == 1, left.stderr
        finished = deployment.admin("check", "--repair")
        assert finished.returncode == 0, finished.stdout + finished.stderr
        again = deployment.admin("check")
        assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr
        assert not orphan.exists()
        assert list((data_dir / "trash").iterdir()) == []
        names = {
            file["name"]
            for file in json_of(http.get(f"/v1/chats/{chat_id}/files", headers=headers))["items"]
        }
        assert names == {"a.txt", "b.bin", "behind.bin"}
        usage_agrees_with_disk(http, headers, data_dir, workspace_id)
