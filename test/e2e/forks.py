"""Checks of forks (`POST /v1/chats/{chat_id}/fork`, api.md) on a real server's API, disk
and store: a fork answered 201 is a whole chat of its own, and a fork cut short or refused
leaves nothing of it anywhere."""

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from test.e2e.client import (
    assert_revisions_agree,
    chats_dir,
    json_of,
    listed_revisions,
    revisions_dir,
)

# What a file record is copied with, beside its new id (api.md).
_COPIED = ("name", "content_type", "size_bytes", "sha256")


def fork(
    http: httpx.Client, headers: dict[str, str], chat_id: str, revision: int | None = None
) -> httpx.Response:
    """Fork the chat at `revision` (None: no body, so the current one), with its
    attachments."""
    url = f"/v1/chats/{chat_id}/fork"
    if revision is None:
        return http.post(url, headers=headers)
    return http.post(url, headers=headers, json={"revision": revision})


def chat_ids(http: httpx.Client, headers: dict[str, str]) -> set[str]:
    """Every chat of the caller's workspace, as listed."""
    page = json_of(http.get("/v1/chats?limit=100", headers=headers))
    assert page["next_cursor"] is None
    return {item["chat_id"] for item in page["items"]}


def file_records(http: httpx.Client, headers: dict[str, str], chat_id: str) -> list[Any]:
    page = json_of(http.get(f"/v1/chats/{chat_id}/files?limit=1000", headers=headers))
    assert page["next_cursor"] is None
    items: list[Any] = page["items"]
    return items


def assert_fork_holds(
    http: httpx.Client,
    headers: dict[str, str],
    data_dir: Path,
    forked: Any,
    source_id: str,
    content: bytes,
    source_files: Sequence[Any],
) -> None:
    """The fork whose 201 body is `forked` is a chat of its own of the source's workspace:
    listed as answered, its revisions 0 (empty) and 1 (`fork`, holding `content`, its
    history) agreeing with the disk, a copy of every record of `source_files` under a new
    id, and none of its files a second name of another's bytes."""
    fork_id, workspace_id = forked["chat_id"], forked["workspace_id"]
    assert forked["forked_from"]["chat_id"] == source_id
    assert json_of(http.get(f"/v1/chats/{fork_id}", headers=headers)) == forked
    contents = assert_revisions_agree(http, headers, data_dir, workspace_id, fork_id)
    assert contents == {0: b"", 1: content}
    sources = [item["source"] for item in listed_revisions(http, headers, fork_id)]
    assert sources == ["fork", "create"]
    records = file_records(http, headers, fork_id)
    assert sorted(copied(records)) == sorted(copied(source_files))
    assert not {record["file_id"] for record in records} & {
        record["file_id"] for record in source_files
    }
    assert {record["chat_id"] for record in records} <= {fork_id}
    for entry in (chats_dir(data_dir, workspace_id) / fork_id).iterdir():
        assert entry.lstat().st_nlink == 1, entry  # copied, never linked to the source's
    assert not revisions_dir(data_dir, workspace_id, fork_id).exists()


def copied(records: Sequence[Any]) -> list[tuple[Any, ...]]:
    """What each file record keeps in a copy."""
    return [tuple(record[field] for field in _COPIED) for record in records]


def paths_naming(data_dir: Path, chat_id: str) -> list[str]:
    """Every path under the data directory with the chat's id in it (its directory, its
    revisions, its crash mark or commit journal, its trash), relative to it."""
    return sorted(
        str(path.relative_to(data_dir))
        for path in data_dir.rglob("*")
        if chat_id in str(path.relative_to(data_dir))
    )


def stored_rows(data_dir: Path, chat_id: str) -> dict[str, int]:
    """How many rows of each table of the default store (the SQLite file in the data
    directory) belong to the chat."""
    tables = ("chats", "chat_usage", "history_revisions", "chat_files")
    with contextlib.closing(sqlite3.connect(data_dir / "metadata.db")) as store:
        return {
            table: store.execute(
                f"SELECT COUNT(*) FROM {table} WHERE chat_id = ?",
                (UUID(chat_id).bytes,),
            ).fetchone()[0]
            for table in tables
        }


def usage_chat_ids(data_dir: Path, workspace_id: str) -> set[str]:
    """The chats the default store counts usage for, in the workspace."""
    with contextlib.closing(sqlite3.connect(data_dir / "metadata.db")) as store:
        rows = store.execute(
            "SELECT chat_id FROM chat_usage WHERE workspace_id = ?", (UUID(workspace_id).bytes,)
        ).fetchall()
    return {str(UUID(bytes=row[0])) for row in rows}
