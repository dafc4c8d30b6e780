"""The soak on a real server: a short run with one SIGTERM during uploads and one SIGKILL
passes and reports what it measured; and its checks, run on a server whose data was
changed behind its back, fail loudly (bench/soak, ADR 0034)."""

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.soak.content import Blob
from bench.soak.ledger import ChatLedger, Stored
from bench.soak.traffic import User, Violations
from bench.soak.verify import admin_check, check_ledgers, check_usage
from test.e2e.client import chats_dir, client, new_user_with_chat, upload
from test.e2e.server import running_server

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent.parent


def test_a_short_soak_with_a_kill_and_a_term_passes_and_reports(tmp_path: Path) -> None:
    figures = tmp_path / "soak.json"
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--minutes=0.4",
            "--users=3",
            "--connections=8",
            "--kill-every=10",
            "--term-during-uploads",
            "--shutdown-seconds=1",
            "--sample-every=1",
            "--no-large-files",
            f"--json={figures}",
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert ran.returncode == 0, ran.stdout[-5000:] + ran.stderr[-3000:]
    assert "soak passed" in ran.stdout
    found = json.loads(figures.read_text())
    assert [restart["kind"] for restart in found["restarts"]] == ["SIGTERM", "SIGKILL"]
    counts = {row["operation"]: row["count"] for row in found["operations"]}
    for operation in ("upload", "history_put", "history_append", "download_range"):
        assert counts.get(operation, 0) > 0, counts
    assert found["samples"][0]["rss_kib"] > 0
    assert found["violations"] == []


@dataclass
class Owner:
    user: User
    chats: list[ChatLedger]


def test_the_soaks_checks_catch_lost_and_changed_bytes_behind_the_servers_back(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    kept, changed = Blob(seed=7, size=5000), Blob(seed=8, size=3000)
    with running_server(data_dir) as server, client(server) as http:
        headers, workspace_id, chat_id = new_user_with_chat(http)
        answer = upload(
            http,
            headers,
            chat_id,
            [("kept.bin", kept.data(), None), ("changed.bin", changed.data(), None)],
        )
        assert answer.status_code == 201
        ids = {item["name"]: item["file_id"] for item in answer.json()["items"]}
        chat = ChatLedger(chat_id, workspace_id)
        for name, blob in (("kept.bin", kept), ("changed.bin", changed)):
            chat.uploaded(name, Stored(blob, blob.sha256(), ids[name]))
        directory = chats_dir(data_dir, workspace_id) / chat_id
        (directory / "kept.bin").unlink()  # a lost write
        (directory / "changed.bin").write_bytes(b"x" * 3001)  # bytes that no longer match
        owner = Owner(User(headers, workspace_id), [chat])
        violations = Violations()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "CHATSTORE_DATA_DIR": str(data_dir),
        }
        asyncio.run(_check(server.base_url, owner, data_dir, env, violations))

    text = "\n".join(violations.found)
    assert "'kept.bin' (file" in text
    assert "'changed.bin' (file" in text
    assert "used_bytes" in text
    assert "api.admin check" in text


async def _check(
    base_url: str, owner: Owner, data_dir: Path, env: dict[str, str], violations: Violations
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        await check_ledgers(http, [owner], violations, "planted")
        await check_usage(http, [owner.user], data_dir, violations, "planted")
    await admin_check(env, None, violations, "planted")
