"""What a user stored survives a restart: SIGTERM one server, start another on the same data
directory and metadata store, and everything reads back as it was."""

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from test.disk import regular_bytes_under
from test.e2e.client import (
    assert_problem,
    client,
    json_of,
    new_chat,
    new_user,
    problem_code,
    sha256,
    upload,
)
from test.e2e.server import running_server
from test.postgres_server import PostgresServer

pytestmark = pytest.mark.e2e

HISTORY = (
    "# Trip planning\n\n"
    "**user**: Which *trains* leave Zürich before 9:00?\n\n"
    "> assistant: three — see `timetable.csv`\n\n"
    "| train | departs |\n|---|---|\n| IC 1 | 07:02 |\n\n"
    "```python\nprint('héllo')\n```\n"
).encode()
ATTACHMENTS = [
    ("timetable.csv", b"train,departs\nIC 1,07:02\nIR 15,08:31\n", "text/csv"),
    # A non-ASCII name, random bytes, and no Content-Type: stored as null.
    ("Übersicht 2026.bin", os.urandom(150_000), None),
]


@pytest.fixture(params=["sqlite", "postgres"])
def metadata_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """The metadata store both servers use, as settings. `memory://` is deliberately not a
    parameter: it keeps nothing across a restart, so this test would rightly fail on it."""
    if request.param == "sqlite":
        return {}  # the default: the SQLite file metadata.db in the data directory
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    return {"metadata_url": postgres.create_database()}


def test_a_restarted_server_serves_everything_stored_before(
    tmp_path: Path, metadata_settings: dict[str, str]
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, **metadata_settings) as first, client(first) as http:
        headers = new_user(http)
        talk_chat, sandbox_chat = new_chat(http, headers), new_chat(http, headers)
        put = http.put(f"/v1/chats/{talk_chat}/history", headers=headers, content=HISTORY)
        assert put.status_code == 204, put.text
        stored = json_of(upload(http, headers, talk_chat, ATTACHMENTS), 201)["items"]
        assert [item["name"] for item in stored] == [name for name, _, _ in ATTACHMENTS]
        session = json_of(
            http.post(
                f"/v1/chats/{sandbox_chat}/sandbox-sessions",
                headers=headers,
                json={"ttl_seconds": 3600},
            ),
            201,
        )
        _assert_chat_is_held(http, headers, sandbox_chat)
        before = _observe(http, headers)
    if not metadata_settings:
        assert (data_dir / "metadata.db").is_file()  # the default store was the one used

    with running_server(data_dir, **metadata_settings) as second, client(second) as http:
        after = _observe(http, headers)

        assert after == before
        # ...and "before" is what was stored, not just something stable.
        assert before["history"][talk_chat]["body"] == HISTORY
        assert before["history"][talk_chat]["etag"] == put.headers["etag"]
        assert before["history"][sandbox_chat]["body"] == b""
        assert before["files"][talk_chat] == stored
        assert before["files"][sandbox_chat] == []
        for (_name, content, _type), item in zip(ATTACHMENTS, stored, strict=True):
            assert before["content"][item["file_id"]] == sha256(content) == item["sha256"]
        assert before["active"][sandbox_chat] == session
        assert before["active"][talk_chat] == "sandbox_session_not_found"
        used = len(HISTORY) + sum(len(content) for _, content, _ in ATTACHMENTS)
        assert before["usage"]["used_bytes"] == used
        workspace_id = before["workspace"]["workspace_id"]
        assert regular_bytes_under(data_dir / "workspaces" / workspace_id) == used

        # The restarted server acts on the old state, not only reads it.
        again = http.put("/v1/workspace", headers=headers)
        assert again.status_code == 200
        assert again.json() == before["workspace"]
        current = http.get(
            f"/v1/chats/{talk_chat}/history",
            headers={**headers, "If-None-Match": put.headers["etag"]},
        )
        assert current.status_code == 304
        _assert_chat_is_held(http, headers, sandbox_chat)
        ended = http.delete(
            f"/v1/chats/{sandbox_chat}/sandbox-sessions/{session['session_id']}", headers=headers
        )
        assert ended.status_code == 204
        assert http.delete(f"/v1/chats/{sandbox_chat}", headers=headers).status_code == 204
        assert [chat["chat_id"] for chat in _chats(http, headers)] == [talk_chat]


def _assert_chat_is_held(http: httpx.Client, headers: dict[str, str], chat_id: str) -> None:
    """The chat's active sandbox session blocks its deletion, and nothing is removed."""
    refused = http.delete(f"/v1/chats/{chat_id}", headers=headers)
    assert_problem(refused, 409, "chat_has_active_sandbox")
    assert http.get(f"/v1/chats/{chat_id}", headers=headers).status_code == 200


def _chats(http: httpx.Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    page = json_of(http.get("/v1/chats", headers=headers))
    assert page["next_cursor"] is None
    chats: list[dict[str, Any]] = page["items"]
    return chats


def _observe(http: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """Everything the user can read back: workspace, usage, chats, and per chat its
    history (bytes and ETag), file records, each file's downloaded sha256, and its active
    sandbox session (or the 404 code)."""
    chats = _chats(http, headers)
    seen: dict[str, Any] = {
        "workspace": json_of(http.get("/v1/workspace", headers=headers)),
        "usage": json_of(http.get("/v1/workspace/usage", headers=headers)),
        "chats": chats,
        "chat": {},
        "history": {},
        "files": {},
        "file": {},
        "content": {},
        "active": {},
    }
    for chat in chats:
        chat_id = chat["chat_id"]
        seen["chat"][chat_id] = json_of(http.get(f"/v1/chats/{chat_id}", headers=headers))
        history = http.get(f"/v1/chats/{chat_id}/history", headers=headers)
        assert history.status_code == 200
        assert history.headers["content-type"] == "text/markdown; charset=utf-8"
        seen["history"][chat_id] = {"body": history.content, "etag": history.headers["etag"]}
        page = json_of(http.get(f"/v1/chats/{chat_id}/files", headers=headers))
        assert page["next_cursor"] is None
        seen["files"][chat_id] = page["items"]
        for item in page["items"]:
            url = f"/v1/chats/{chat_id}/files/{item['file_id']}"
            seen["file"][item["file_id"]] = json_of(http.get(url, headers=headers))
            content = http.get(f"{url}/content", headers=headers)
            assert content.status_code == 200
            assert content.headers["etag"] == f'"{item["sha256"]}"'
            assert len(content.content) == item["size_bytes"]
            seen["content"][item["file_id"]] = sha256(content.content)
        active = http.get(f"/v1/chats/{chat_id}/sandbox-sessions/active", headers=headers)
        seen["active"][chat_id] = (
            active.json() if active.status_code == 200 else problem_code(active)
        )
    return seen
