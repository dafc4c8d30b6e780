"""The paths of the service's /v1 GET routes, for the tests that must visit every one of them
(HEAD answers wherever GET does) in process and on a real socket alike."""

from uuid import uuid4


def v1_get_paths(chat_id: str, file_id: str) -> list[str]:
    """Every /v1 GET route, on the caller's chat `chat_id` and its file `file_id`, and last
    the chat route once more on a chat that does not exist."""
    return [
        "/v1/workspace",
        "/v1/workspace/usage",
        "/v1/chats",
        f"/v1/chats/{chat_id}",
        f"/v1/chats/{chat_id}/history",
        f"/v1/chats/{chat_id}/files",
        f"/v1/chats/{chat_id}/files/{file_id}",
        f"/v1/chats/{chat_id}/files/{file_id}/content",
        f"/v1/chats/{chat_id}/sandbox-sessions/active",
        f"/v1/chats/{uuid4()}",
    ]
