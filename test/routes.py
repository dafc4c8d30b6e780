"""The service's /v1 routes, for the tests that must visit every one of them: every route on
a chat (`CHAT_ROUTES`), and every GET route (HEAD answers wherever GET does) in process and
on a real socket alike (`v1_get_paths`)."""

from uuid import uuid4

import pytest

# Every /v1 route on one chat: its method, its path as OpenAPI names it ({chat_id} and,
# where the route has one, {file_id} or {session_id}), and its name.
CHAT_ROUTES = [
    ("GET", "/v1/chats/{chat_id}", "get-chat"),
    ("DELETE", "/v1/chats/{chat_id}", "delete-chat"),
    ("GET", "/v1/chats/{chat_id}/history", "get-history"),
    ("PUT", "/v1/chats/{chat_id}/history", "put-history"),
    ("POST", "/v1/chats/{chat_id}/files", "upload"),
    ("GET", "/v1/chats/{chat_id}/files", "list-files"),
    ("DELETE", "/v1/chats/{chat_id}/files", "clear-files"),
    ("POST", "/v1/chats/{chat_id}/files/rescan", "rescan"),
    ("GET", "/v1/chats/{chat_id}/files/{file_id}", "get-file"),
    ("DELETE", "/v1/chats/{chat_id}/files/{file_id}", "delete-file"),
    ("GET", "/v1/chats/{chat_id}/files/{file_id}/content", "download"),
    ("POST", "/v1/chats/{chat_id}/sandbox-sessions", "start-session"),
    ("GET", "/v1/chats/{chat_id}/sandbox-sessions/active", "active-session"),
    ("POST", "/v1/chats/{chat_id}/sandbox-sessions/{session_id}/heartbeat", "heartbeat"),
    ("DELETE", "/v1/chats/{chat_id}/sandbox-sessions/{session_id}", "end-session"),
    ("GET", "/v1/chats/{chat_id}/export", "export-chat"),
]


def chat_routes(*, but: tuple[str, ...] = ()) -> list[pytest.ParameterSet]:
    """`(method, path)` of every route on a chat, save those named in `but`."""
    return [
        pytest.param(method, path, id=name) for method, path, name in CHAT_ROUTES if name not in but
    ]


def v1_get_paths(chat_id: str, file_id: str) -> list[str]:
    """Every /v1 GET route, on the caller's chat `chat_id` and its file `file_id`, and last
    the chat route once more on a chat that does not exist."""
    return [
        "/v1/workspace",
        "/v1/workspace/usage",
        "/v1/workspace/export",
        "/v1/chats",
        *(
            path.format(chat_id=chat_id, file_id=file_id)
            for method, path, _name in CHAT_ROUTES
            if method == "GET"
        ),
        f"/v1/chats/{uuid4()}",
    ]
