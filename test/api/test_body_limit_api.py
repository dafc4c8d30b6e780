"""Bodies of routes that do not stream to disk are bounded, so a crafted one is never read
whole into memory; uploads and history PUTs keep their own, larger limits."""

from collections.abc import AsyncIterator

import pytest

from api.body_limit import JSON_BODY_MAX_BYTES
from test.api.conftest import UserApi, assert_problem, upload_file

pytestmark = pytest.mark.anyio

OVERSIZED = b'{"ttl_seconds": 60, "padding": "' + b"a" * JSON_BODY_MAX_BYTES + b'"}'


async def in_chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_body_declared_too_large_is_refused_and_starts_nothing(
    user: UserApi, chat_id: str
) -> None:
    response = await user.post(
        f"/v1/chats/{chat_id}/sandbox-sessions",
        content=OVERSIZED,
        headers={"Content-Type": "application/json"},
    )

    body = assert_problem(response, 422, "validation_error")
    assert str(JSON_BODY_MAX_BYTES) in body["detail"]
    active = await user.get(f"/v1/chats/{chat_id}/sandbox-sessions/active")
    assert_problem(active, 404, "sandbox_session_not_found")


async def test_a_chunked_body_is_refused_once_it_passes_the_bound(
    user: UserApi, chat_id: str
) -> None:
    response = await user.client.post(
        f"/v1/chats/{chat_id}/sandbox-sessions",
        content=in_chunks(OVERSIZED),
        headers={"X-User-Id": str(user.user_id), "Content-Type": "application/json"},
    )

    body = assert_problem(response, 422, "validation_error")
    assert str(JSON_BODY_MAX_BYTES) in body["detail"]


async def test_a_body_within_the_bound_is_served(user: UserApi, chat_id: str) -> None:
    padded = b'{"ttl_seconds": 60' + b" " * (JSON_BODY_MAX_BYTES - 100) + b"}"

    response = await user.post(
        f"/v1/chats/{chat_id}/sandbox-sessions",
        content=padded,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201


async def test_uploads_are_not_held_to_the_json_bound(user: UserApi, chat_id: str) -> None:
    data = b"x" * (2 * JSON_BODY_MAX_BYTES)

    stored = await upload_file(user, chat_id, "big.bin", data)

    assert stored["size_bytes"] == len(data)
