import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from test.api.conftest import (
    MULTIPART_HEADERS,
    QUOTA_BYTES,
    START_TEXT,
    Json,
    Part,
    UserApi,
    assert_head_problem,
    assert_problem,
    create_chat,
    multipart_body,
    put_history,
    upload,
    upload_file,
    used_bytes,
)
from test.fakes import FakeClock

pytestmark = pytest.mark.anyio


async def test_first_put_creates_the_workspace(user: UserApi) -> None:
    response = await user.put("/v1/workspace")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"workspace_id", "user_id", "created_at"}
    UUID(body["workspace_id"])
    assert body["user_id"] == str(user.user_id)
    assert body["created_at"] == START_TEXT


async def test_second_put_answers_200_with_the_same_workspace(
    user: UserApi, workspace: Json, clock: FakeClock
) -> None:
    clock.advance(60)

    response = await user.put("/v1/workspace")

    assert response.status_code == 200
    assert response.json() == workspace


async def test_concurrent_puts_create_exactly_one_workspace(user: UserApi) -> None:
    responses = await asyncio.gather(*(user.put("/v1/workspace") for _ in range(10)))

    assert sorted(response.status_code for response in responses) == [200] * 9 + [201]
    assert len({response.json()["workspace_id"] for response in responses}) == 1


async def test_each_user_gets_a_workspace_of_their_own(
    user: UserApi, workspace: Json, other_user: UserApi
) -> None:
    response = await other_user.get("/v1/workspace")

    assert response.status_code == 200
    assert response.json()["user_id"] == str(other_user.user_id)
    assert response.json()["workspace_id"] != workspace["workspace_id"]


async def test_get_workspace_before_put_is_not_found(user: UserApi) -> None:
    response = await user.get("/v1/workspace")

    assert_problem(response, 404, "workspace_not_found")


async def test_get_workspace_after_put_answers_it(user: UserApi, workspace: Json) -> None:
    response = await user.get("/v1/workspace")

    assert response.status_code == 200
    assert response.json() == workspace


async def test_usage_before_put_is_not_found(user: UserApi) -> None:
    response = await user.get("/v1/workspace/usage")

    assert_problem(response, 404, "workspace_not_found")


async def test_usage_of_a_new_workspace_is_zero_of_the_configured_quota(
    user: UserApi, workspace: Json
) -> None:
    response = await user.get("/v1/workspace/usage")

    assert response.status_code == 200
    assert response.json() == {
        "workspace_id": workspace["workspace_id"],
        "used_bytes": 0,
        "revision_bytes": 0,
        "quota_bytes": QUOTA_BYTES,
    }


async def test_usage_answers_revision_bytes_and_the_quota_bounds_them_with_used_bytes(
    user: UserApi, workspace: Json
) -> None:
    chat_id = str((await create_chat(user))["chat_id"])
    # Each history replaced is kept as a revision, beside the 4 bytes of the last one.
    kept = QUOTA_BYTES - 10 - 4
    sizes = [60 * 1024] * (kept // (60 * 1024)) + [kept % (60 * 1024)]
    for size in sizes:
        await put_history(user, chat_id, b"k" * size)
    await put_history(user, chat_id, b"four")

    assert (await user.get("/v1/workspace/usage")).json() == {
        "workspace_id": workspace["workspace_id"],
        "used_bytes": 4,
        "revision_bytes": kept,
        "quota_bytes": QUOTA_BYTES,
    }
    assert_problem(
        await upload(user, chat_id, Part("eleven.txt", b"y" * 11)), 507, "workspace_quota_exceeded"
    )
    await upload_file(user, chat_id, "ten.txt", b"y" * 10)
    usage = (await user.get("/v1/workspace/usage")).json()
    assert (usage["used_bytes"], usage["revision_bytes"]) == (14, kept)


async def test_usage_counts_histories_and_attachments_of_every_chat(
    user: UserApi, workspace: Json
) -> None:
    first = str((await create_chat(user))["chat_id"])
    second = str((await create_chat(user))["chat_id"])
    await put_history(user, first, b"# hello\n")
    await upload_file(user, first, "a.txt", b"x" * 100)
    await upload_file(user, second, "b.bin", b"y" * 1000)

    assert await used_bytes(user) == 8 + 100 + 1000


async def test_usage_of_one_user_ignores_another_users_bytes(
    user: UserApi, workspace: Json, other_user: UserApi
) -> None:
    theirs = str((await create_chat(other_user))["chat_id"])
    await upload_file(other_user, theirs, "a.txt", b"x" * 500)

    assert await used_bytes(user) == 0
    assert await used_bytes(other_user) == 500


CHAT = str(uuid4())
FILE = str(uuid4())
SESSION = str(uuid4())
UPLOAD = multipart_body(Part("a.txt", b"hello"))

ENDPOINTS_BEHIND_A_WORKSPACE = [
    pytest.param("GET", "/v1/workspace/usage", None, {}, id="usage"),
    pytest.param("POST", "/v1/chats", None, {}, id="create-chat"),
    pytest.param("GET", "/v1/chats", None, {}, id="list-chats"),
    pytest.param("GET", f"/v1/chats/{CHAT}", None, {}, id="get-chat"),
    pytest.param("DELETE", f"/v1/chats/{CHAT}", None, {}, id="delete-chat"),
    pytest.param("GET", f"/v1/chats/{CHAT}/history", None, {}, id="get-history"),
    pytest.param("PUT", f"/v1/chats/{CHAT}/history", b"# hi", {}, id="put-history"),
    pytest.param("POST", f"/v1/chats/{CHAT}/files", UPLOAD, MULTIPART_HEADERS, id="upload"),
    pytest.param("GET", f"/v1/chats/{CHAT}/files", None, {}, id="list-files"),
    pytest.param("DELETE", f"/v1/chats/{CHAT}/files", None, {}, id="clear-files"),
    pytest.param("POST", f"/v1/chats/{CHAT}/files/rescan", None, {}, id="rescan"),
    pytest.param("GET", f"/v1/chats/{CHAT}/files/{FILE}", None, {}, id="get-file"),
    pytest.param("DELETE", f"/v1/chats/{CHAT}/files/{FILE}", None, {}, id="delete-file"),
    pytest.param("GET", f"/v1/chats/{CHAT}/files/{FILE}/content", None, {}, id="download"),
    pytest.param("POST", f"/v1/chats/{CHAT}/sandbox-sessions", None, {}, id="start-session"),
    pytest.param("GET", f"/v1/chats/{CHAT}/sandbox-sessions/active", None, {}, id="active-session"),
    pytest.param(
        "POST",
        f"/v1/chats/{CHAT}/sandbox-sessions/{SESSION}/heartbeat",
        None,
        {},
        id="heartbeat",
    ),
    pytest.param(
        "DELETE", f"/v1/chats/{CHAT}/sandbox-sessions/{SESSION}", None, {}, id="end-session"
    ),
]


@pytest.mark.parametrize(("method", "path", "content", "headers"), ENDPOINTS_BEHIND_A_WORKSPACE)
async def test_endpoint_answers_workspace_not_found_without_a_workspace(
    user: UserApi, method: str, path: str, content: bytes | None, headers: dict[str, str]
) -> None:
    response = await user.request(method, path, content=content, headers=headers)

    assert_problem(response, 404, "workspace_not_found")


async def test_head_of_content_answers_404_without_a_workspace(user: UserApi) -> None:
    response = await user.head(f"/v1/chats/{CHAT}/files/{FILE}/content")

    assert_head_problem(response, 404)


# A sandbox may change a file behind the service's back; once the service itself has
# deleted or rewritten that file, only bytes the service wrote are left, so usage must be
# exact again without waiting for a rescan.


async def delete_it(user: UserApi, chat_id: str, item: Json) -> None:
    await user.delete(f"/v1/chats/{chat_id}/files/{item['file_id']}")


async def replace_it(user: UserApi, chat_id: str, item: Json) -> None:
    """Upload 100 new bytes under its name."""
    await upload_file(user, chat_id, item["name"], b"n" * 100)


async def clear_the_files(user: UserApi, chat_id: str, item: Json) -> None:
    assert (await user.delete(f"/v1/chats/{chat_id}/files")).status_code == 204


GROWN_AND_OTHER = {"grown.txt": b"g" * 100, "other.txt": b"o" * 500}


@pytest.mark.parametrize(
    ("history", "stored", "rewritten", "act", "used"),
    [
        pytest.param(
            None, GROWN_AND_OTHER, b"G" * 1000, delete_it, 500, id="deleting-a-grown-file"
        ),
        pytest.param(
            None, {"shrunk.txt": b"s" * 1000}, b"S" * 10, delete_it, 0, id="deleting-a-shrunk-file"
        ),
        pytest.param(
            None, GROWN_AND_OTHER, b"G" * 1000, replace_it, 600, id="replacing-a-grown-file"
        ),
        pytest.param(
            b"h" * 10,
            {"grown.txt": b"g" * 100},
            b"G" * 1000,
            clear_the_files,
            10,
            id="clearing-files-keeps-counting-the-history",
        ),
    ],
)
async def test_usage_is_exact_once_the_service_acts_on_a_file_a_sandbox_rewrote(
    user: UserApi,
    chat_id: str,
    chat_path: Path,
    history: bytes | None,
    stored: dict[str, bytes],
    rewritten: bytes,
    act: Callable[[UserApi, str, Json], Awaitable[None]],
    used: int,
) -> None:
    """The `history`, if any, is written, then the files `stored` are uploaded in order; the
    sandbox rewrites the first one. Usage counts the rest and nothing of the sandbox's bytes:
    no phantom bytes."""
    if history is not None:
        await put_history(user, chat_id, history)
    items = [await upload_file(user, chat_id, name, data) for name, data in stored.items()]
    (chat_path / items[0]["name"]).write_bytes(rewritten)

    await act(user, chat_id, items[0])

    assert await used_bytes(user) == used


async def test_writing_a_history_a_sandbox_grew_still_counts_the_attachments(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await put_history(user, chat_id, b"h" * 10)
    await upload_file(user, chat_id, "other.txt", b"o" * 500)
    (chat_path / "history.md").write_bytes(b"H" * 1000)

    await put_history(user, chat_id, b"h" * 10)

    assert await used_bytes(user) == 510
