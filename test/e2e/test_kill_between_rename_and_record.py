"""SIGKILL between an upload's rename and its records (issue 11's second defect), on a
real server, hit on purpose rather than by luck.

The test watches the chat's unsettled mark; the moment the upload's commit begins (its
journal appears beside the mark), the test takes SQLite's write lock on the server's
metadata store, so the upload's record saves wait. Once the new bytes are in place under
the lock (all renamed, the commit's journal gone), the server is killed. After a restart,
the acknowledged file ids must be gone (404) and the new bytes must carry records with
new ids: never an acknowledged id holding bytes nobody acknowledged."""

import contextlib
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from test.e2e.client import (
    chats_dir,
    client,
    json_of,
    new_chat,
    new_user,
    sha256,
    upload,
)
from test.e2e.server import running_server, server_to_kill

pytestmark = pytest.mark.e2e

FILES = 40
ATTEMPTS = 12
WAIT_SECONDS = 10.0


def bodies(tag: bytes) -> list[tuple[str, bytes, str | None]]:
    return [(f"f{index:02d}.bin", tag + b"-%d" % index, None) for index in range(FILES)]


def wedge_when_committing(mark: Path, last: Path, new_bytes: bytes) -> sqlite3.Connection | None:
    """Wait for the upload's commit to begin (its journal beside `mark` appears, ADR 0019:
    the quota is reserved by then, and the records wait for the renames), then hold the
    store's write lock. Returns the connection holding it once the upload's last file holds
    its new bytes and its commit stands (the journal is gone), or None if the window was
    missed."""
    journal = mark.with_name(mark.name + ".commit")
    deadline = time.monotonic() + WAIT_SECONDS
    while not journal.exists():
        if time.monotonic() > deadline:
            return None
    store = sqlite3.connect(last.parents[4] / "metadata.db", timeout=WAIT_SECONDS)
    store.isolation_level = None
    store.execute("BEGIN IMMEDIATE")
    while time.monotonic() < deadline:
        if last.read_bytes() == new_bytes and not journal.exists():
            return store
    store.close()
    return None


def recorded_ids(data_dir: Path, chat_id: str) -> set[UUID]:
    with sqlite3.connect(data_dir / "metadata.db") as store:
        rows = store.execute(
            "SELECT file_id FROM chat_files WHERE chat_id = ?", (UUID(chat_id).bytes,)
        ).fetchall()
    return {UUID(bytes=row[0]) for row in rows}


def kill_between_rename_and_record(data_dir: Path) -> tuple[dict[str, str], str, list[Any]] | None:
    """Replace FILES acknowledged attachments in one upload and kill the server between
    the new bytes and their records: the user's headers, the chat and the acknowledged
    records, or None when the window was missed."""
    with server_to_kill(data_dir) as server, client(server) as http:
        headers = new_user(http)
        workspace_id = json_of(http.get("/v1/workspace", headers=headers))["workspace_id"]
        chat_id = new_chat(http, headers)
        acknowledged = json_of(upload(http, headers, chat_id, bodies(b"old")), 201)["items"]
        last = chats_dir(data_dir, workspace_id) / chat_id / f"f{FILES - 1:02d}.bin"
        mark = data_dir / "unsettled" / f"{workspace_id}_{chat_id}"

        def replace_all() -> None:
            with contextlib.suppress(httpx.HTTPError):  # killed mid-request, as intended
                upload(http, headers, chat_id, bodies(b"new"))

        replacing = threading.Thread(target=replace_all)
        replacing.start()
        wedge = wedge_when_committing(mark, last, b"new-%d" % (FILES - 1))
        if wedge is not None and recorded_ids(data_dir, chat_id) != {
            UUID(item["file_id"]) for item in acknowledged
        }:  # the records were saved before the wedge: the window was missed
            wedge.rollback()
            wedge.close()
            wedge = None
        if wedge is not None:
            os.kill(server.pid, signal.SIGKILL)
            wedge.rollback()
            wedge.close()
        replacing.join(timeout=WAIT_SECONDS)
    return None if wedge is None else (headers, chat_id, acknowledged)


def test_a_kill_between_rename_and_record_never_gives_an_acknowledged_id_new_bytes(
    tmp_path: Path,
) -> None:
    for attempt in range(ATTEMPTS):
        data_dir = tmp_path / f"attempt-{attempt}"
        killed = kill_between_rename_and_record(data_dir)
        if killed is not None:
            break
    else:
        pytest.fail(f"the window between rename and record was not hit in {ATTEMPTS} attempts")
    headers, chat_id, acknowledged = killed

    with running_server(data_dir) as restarted, client(restarted) as http:
        listed = json_of(http.get(f"/v1/chats/{chat_id}/files?limit=1000", headers=headers))
        by_name = {item["name"]: item for item in listed["items"]}
        old_ids = {item["file_id"] for item in acknowledged}
        for item in acknowledged:
            record = by_name[item["name"]]
            assert record["sha256"] == sha256(b"new-%d" % int(item["name"][1:3]))
            assert record["file_id"] not in old_ids, item["name"]
            gone = http.get(f"/v1/chats/{chat_id}/files/{item['file_id']}", headers=headers)
            assert gone.status_code == 404
