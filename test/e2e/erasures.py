"""Workspaces to erase on a real server, and what the tests check of them after: every id
and text of a workspace a leftover could name, everything its user can read of it, and
every entry the data directory keeps for it."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from test.e2e.client import (
    chats_dir,
    json_of,
    new_user_with_chat,
    upload,
    write_revisions,
)
from test.leftovers import Entry, tree


@dataclass(slots=True)
class Filled:
    """One user's workspace, and every id and text of it a leftover could name."""

    headers: dict[str, str]
    tag: str
    workspace_id: str
    chat_ids: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[UUID]:
        named = [self.workspace_id, self.headers["X-User-Id"], *self.chat_ids]
        return [UUID(each) for each in (*named, *self.file_ids, *self.session_ids)]

    @property
    def texts(self) -> list[str]:
        """Content of the workspace's that nothing else holds."""
        return [f"zebra-{self.tag}", f"history of {self.tag}", f"sandbox of {self.tag}"]


def filled(http: httpx.Client, data_dir: Path, outside: Path, tag: str) -> Filled:
    """A new user's workspace: a chat whose history was put, appended to and put again (its
    first run kept under `revisions/`), with two attachments and, from a sandbox session
    since ended, a file in a nested directory and a link out of the data directory; and a
    fork of it with copies of the attachments."""
    headers, workspace_id, chat_id = new_user_with_chat(http)
    one = f"# history of {tag}\n".encode()
    write_revisions(http, headers, chat_id, [b"", one, one + b"turn\n", f"# {tag}\n".encode()])
    sent = upload(
        http,
        headers,
        chat_id,
        [
            (f"zebra-{tag}.txt", f"attached by {tag}".encode(), "text/plain"),
            ("data.bin", hashlib.sha256(tag.encode()).digest() * 64, None),
        ],
    )
    assert sent.status_code == 201, sent.text
    session = json_of(http.post(f"/v1/chats/{chat_id}/sandbox-sessions", headers=headers), 201)
    directory = chats_dir(data_dir, workspace_id) / chat_id
    (directory / "work" / "deeper").mkdir(parents=True)
    (directory / "work" / "deeper" / "log.txt").write_bytes(f"sandbox of {tag}".encode())
    (directory / "escape").symlink_to(outside)
    url = f"/v1/chats/{chat_id}/sandbox-sessions/{session['session_id']}"
    assert http.delete(url, headers=headers).status_code == 204
    fork = json_of(http.post(f"/v1/chats/{chat_id}/fork", headers=headers), 201)
    scene = Filled(headers, tag, workspace_id, [chat_id, fork["chat_id"]])
    scene.session_ids.append(session["session_id"])
    for each in scene.chat_ids:
        files = json_of(http.get(f"/v1/chats/{each}/files", headers=headers))["items"]
        scene.file_ids += [item["file_id"] for item in files]
    return scene


def seen(http: httpx.Client, headers: dict[str, str]) -> list[Any]:
    """Everything the user can read of their workspace, bytes included."""
    views: list[Any] = [
        json_of(http.get(path, headers=headers))
        for path in ("/v1/workspace", "/v1/workspace/usage")
    ]
    chats = json_of(http.get("/v1/chats", headers=headers))["items"]
    views.append(chats)
    for chat in chats:
        base = f"/v1/chats/{chat['chat_id']}"
        views.append(http.get(f"{base}/history", headers=headers).content)
        revisions = json_of(http.get(f"{base}/history/revisions", headers=headers))["items"]
        views.append(revisions)
        for revision in revisions:
            url = f"{base}/history/revisions/{revision['revision']}"
            views.append(http.get(url, headers=headers).content)
        files = json_of(http.get(f"{base}/files", headers=headers))["items"]
        views.append(files)
        for item in files:
            views.append(
                http.get(f"{base}/files/{item['file_id']}/content", headers=headers).content
            )
    return views


def entries_of(data_dir: Path, workspace_id: str) -> dict[str, Entry]:
    """Every entry of the data directory that belongs to the workspace (its name in the path)."""
    return {path: entry for path, entry in tree(data_dir).items() if workspace_id in path}
