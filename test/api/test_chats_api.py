import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import anyio
import httpx
import pytest

from test.api.conftest import (
    START_TEXT,
    Json,
    Part,
    UserApi,
    assert_problem,
    chat_dir,
    create_chat,
    put_history,
    upload,
    upload_file,
    used_bytes,
)
from test.fakes import FakeClock
from test.routes import CHAT_ROUTES, chat_routes

pytestmark = pytest.mark.anyio


async def test_create_chat_answers_201_with_its_location(user: UserApi, workspace: Json) -> None:
    response = await user.post("/v1/chats")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "chat_id",
        "workspace_id",
        "created_at",
        "updated_at",
        "title",
        "metadata",
        "forked_from",
    }
    assert (body["title"], body["metadata"], body["updated_at"]) == (None, {}, START_TEXT)
    UUID(body["chat_id"])
    assert body["forked_from"] is None
    assert body["workspace_id"] == workspace["workspace_id"]
    assert body["created_at"] == START_TEXT
    assert response.headers["location"] == f"/v1/chats/{body['chat_id']}"


async def test_created_chat_has_a_directory_with_an_empty_history(
    user: UserApi, workspace: Json, data_dir: Path
) -> None:
    chat = await create_chat(user)

    history = chat_dir(data_dir, chat) / "history.md"
    assert history.is_file()
    assert not history.is_symlink()
    assert history.read_bytes() == b""


async def test_location_of_a_new_chat_answers_the_chat(user: UserApi, workspace: Json) -> None:
    response = await user.post("/v1/chats")

    fetched = await user.get(response.headers["location"])

    assert fetched.status_code == 200
    assert fetched.json() == response.json()


async def test_each_chat_gets_its_own_id(user: UserApi, workspace: Json) -> None:
    first = await create_chat(user)
    second = await create_chat(user)

    assert first["chat_id"] != second["chat_id"]


async def test_list_of_a_new_workspace_is_empty(user: UserApi, workspace: Json) -> None:
    response = await user.get("/v1/chats")

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_list_orders_chats_by_creation_time(
    user: UserApi, workspace: Json, clock: FakeClock
) -> None:
    created = []
    for _ in range(4):
        created.append(await create_chat(user))
        clock.advance(1)

    response = await user.get("/v1/chats")

    assert response.status_code == 200
    assert response.json() == {"items": created, "next_cursor": None}


async def test_chats_created_at_one_instant_are_listed_in_id_order(
    user: UserApi, workspace: Json
) -> None:
    created = [await create_chat(user) for _ in range(5)]

    response = await user.get("/v1/chats")

    listed = response.json()["items"]
    assert listed == sorted(created, key=lambda chat: UUID(chat["chat_id"]))


async def collect_pages(
    fetch: Callable[[dict[str, str | int]], Awaitable[httpx.Response]], limit: int
) -> list[list[Json]]:
    """Every page of a list, following `next_cursor` until it is null."""
    pages: list[list[Json]] = []
    params: dict[str, str | int] = {"limit": limit}
    while True:
        response = await fetch(params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        if body["next_cursor"] is None:
            return pages
        assert len(pages) <= 10, "paging does not end"
        params = {"limit": limit, "cursor": body["next_cursor"]}


@pytest.mark.parametrize(
    ("limit", "sizes"),
    [
        pytest.param(1, [1, 1, 1, 1, 1, 1], id="one-per-page"),
        pytest.param(2, [2, 2, 2], id="exact-multiple"),
        pytest.param(4, [4, 2], id="short-last-page"),
        pytest.param(6, [6], id="exactly-one-page"),
        pytest.param(7, [6], id="larger-than-the-list"),
    ],
)
async def test_paging_lists_each_chat_exactly_once(
    user: UserApi, workspace: Json, clock: FakeClock, limit: int, sizes: list[int]
) -> None:
    created = []
    for _ in range(6):
        created.append(await create_chat(user))
        clock.advance(1)

    pages = await collect_pages(lambda params: user.get("/v1/chats", params=params), limit)

    assert [len(page) for page in pages] == sizes
    assert [chat for page in pages for chat in page] == created


async def test_paging_is_stable_when_chats_share_a_creation_time(
    user: UserApi, workspace: Json
) -> None:
    created = [await create_chat(user) for _ in range(5)]

    pages = await collect_pages(lambda params: user.get("/v1/chats", params=params), 2)

    listed = [chat["chat_id"] for page in pages for chat in page]
    assert sorted(listed) == sorted(chat["chat_id"] for chat in created)
    assert len(listed) == 5


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"limit": 0}, id="limit-0"),
        pytest.param({"limit": -1}, id="limit-negative"),
        pytest.param({"limit": 1001}, id="limit-1001"),
        pytest.param({"limit": "ten"}, id="limit-not-an-int"),
        pytest.param({"limit": "1.5"}, id="limit-fraction"),
        pytest.param({"cursor": "garbage"}, id="cursor-garbage"),
        pytest.param({"cursor": "!!!"}, id="cursor-not-base64"),
        pytest.param({"cursor": "eHx5"}, id="cursor-base64-of-nonsense"),
        pytest.param({"cursor": ""}, id="cursor-empty"),
    ],
)
async def test_bad_paging_parameter_is_a_validation_error(
    user: UserApi, workspace: Json, params: dict[str, str | int]
) -> None:
    response = await user.get("/v1/chats", params=params)

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("limit", [1, 1000])
async def test_limit_bounds_are_accepted(user: UserApi, workspace: Json, limit: int) -> None:
    await create_chat(user)

    response = await user.get("/v1/chats", params={"limit": limit})

    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


async def test_get_chat_answers_the_chat(user: UserApi, chat: Json) -> None:
    response = await user.get(f"/v1/chats/{chat['chat_id']}")

    assert response.status_code == 200
    assert response.json() == chat


async def test_list_shows_only_the_callers_chats(
    user: UserApi, chat: Json, other_user: UserApi
) -> None:
    await create_chat(other_user)

    response = await user.get("/v1/chats")

    assert response.json()["items"] == [chat]


def on_chat(path: str, chat_id: str, inner_id: UUID) -> str:
    """`path` on chat `chat_id`, with `inner_id` for the file or session it names."""
    return path.format(chat_id=chat_id, file_id=inner_id, session_id=inner_id)


def without_id(response: httpx.Response, chat_id: str) -> tuple[int, str, Json]:
    body: Json = response.json()
    body["detail"] = body["detail"].replace(chat_id, "<chat>")
    return response.status_code, response.headers["content-type"], body


# An upload needs a body of its own: the test after this one.
@pytest.mark.parametrize(("method", "path"), chat_routes(but=("upload",)))
async def test_another_users_chat_answers_like_a_chat_that_does_not_exist(
    user: UserApi, workspace: Json, other_user: UserApi, method: str, path: str
) -> None:
    theirs = str((await create_chat(other_user))["chat_id"])
    unknown = str(uuid4())
    inner_id = uuid4()
    body = b"# a history" if method == "PUT" else None

    foreign = await user.request(method, on_chat(path, theirs, inner_id), content=body)
    missing = await user.request(method, on_chat(path, unknown, inner_id), content=body)

    assert_problem(foreign, 404, "chat_not_found")
    assert without_id(foreign, theirs) == without_id(missing, unknown)


async def test_another_users_upload_target_answers_like_a_chat_that_does_not_exist(
    user: UserApi, workspace: Json, other_user: UserApi
) -> None:
    theirs = str((await create_chat(other_user))["chat_id"])
    unknown = str(uuid4())

    foreign = await upload(user, theirs, Part("a.txt", b"hello"))
    missing = await upload(user, unknown, Part("a.txt", b"hello"))

    assert_problem(foreign, 404, "chat_not_found")
    assert without_id(foreign, theirs) == without_id(missing, unknown)
    assert_problem(await user.get(f"/v1/chats/{theirs}"), 404, "chat_not_found")
    listed = await other_user.get(f"/v1/chats/{theirs}/files")
    assert listed.json()["items"] == []


async def test_another_user_cannot_delete_a_chat(
    user: UserApi, chat: Json, other_user: UserApi, data_dir: Path
) -> None:
    response = await other_user.delete(f"/v1/chats/{chat['chat_id']}")

    assert_problem(response, 404, "chat_not_found")
    assert (await user.get(f"/v1/chats/{chat['chat_id']}")).status_code == 200
    assert chat_dir(data_dir, chat).is_dir()


def one_id_not_a_uuid() -> list[pytest.ParameterSet]:
    """`(method, path, id_name, bad)` of each id in the path of each route on a chat, that
    id made `not-a-uuid`, and two other words in place of an id."""
    return [
        *(
            pytest.param(method, path, id_name, "not-a-uuid", id=f"{name}-{id_name}")
            for method, path, name in CHAT_ROUTES
            for id_name in ("chat_id", "file_id", "session_id")
            if f"{{{id_name}}}" in path
        ),
        pytest.param("GET", "/v1/chats/{chat_id}/history", "chat_id", "123", id="chat-id-a-number"),
        pytest.param(
            "DELETE",
            "/v1/chats/{chat_id}/sandbox-sessions/{session_id}",
            "session_id",
            "xyz",
            id="session-id-a-word",
        ),
    ]


@pytest.mark.parametrize(("method", "path", "id_name", "bad"), one_id_not_a_uuid())
async def test_bad_uuid_in_the_path_is_a_validation_error(
    user: UserApi, chat: Json, method: str, path: str, id_name: str, bad: str
) -> None:
    ids = {"chat_id": chat["chat_id"], "file_id": uuid4(), "session_id": uuid4(), id_name: bad}

    response = await user.request(method, path.format(**ids))

    assert_problem(response, 422, "validation_error")


async def test_delete_chat_removes_it_everywhere(
    user: UserApi, workspace: Json, data_dir: Path
) -> None:
    kept = await create_chat(user)
    await put_history(user, str(kept["chat_id"]), b"kept")
    chat = await create_chat(user)
    chat_id = str(chat["chat_id"])
    await put_history(user, chat_id, b"# gone\n")
    stored = await upload_file(user, chat_id, "a.txt", b"x" * 300)

    response = await user.delete(f"/v1/chats/{chat_id}")

    assert response.status_code == 204
    assert response.content == b""
    assert not chat_dir(data_dir, chat).exists()
    assert_problem(await user.get(f"/v1/chats/{chat_id}"), 404, "chat_not_found")
    assert_problem(
        await user.get(f"/v1/chats/{chat_id}/files/{stored['file_id']}"), 404, "chat_not_found"
    )
    assert (await user.get("/v1/chats")).json()["items"] == [kept]
    assert await used_bytes(user) == 4


async def test_delete_chat_twice_is_not_found(user: UserApi, chat: Json) -> None:
    await user.delete(f"/v1/chats/{chat['chat_id']}")

    response = await user.delete(f"/v1/chats/{chat['chat_id']}")

    assert_problem(response, 404, "chat_not_found")


async def test_delete_chat_with_an_active_sandbox_is_refused_and_removes_nothing(
    user: UserApi, chat: Json, data_dir: Path
) -> None:
    chat_id = str(chat["chat_id"])
    await put_history(user, chat_id, b"# still here\n")
    stored = await upload_file(user, chat_id, "a.txt", b"abc")
    started = await user.post(f"/v1/chats/{chat_id}/sandbox-sessions")
    assert started.status_code == 201

    response = await user.delete(f"/v1/chats/{chat_id}")

    assert_problem(response, 409, "chat_has_active_sandbox")
    assert (await user.get(f"/v1/chats/{chat_id}")).status_code == 200
    assert (await user.get(f"/v1/chats/{chat_id}/files/{stored['file_id']}")).status_code == 200
    assert (chat_dir(data_dir, chat) / "history.md").read_bytes() == b"# still here\n"
    assert (chat_dir(data_dir, chat) / "a.txt").read_bytes() == b"abc"
    assert await used_bytes(user) == 13 + 3
    active = await user.get(f"/v1/chats/{chat_id}/sandbox-sessions/active")
    assert active.json() == started.json()


async def test_deleted_chat_directory_is_not_left_in_trash(
    user: UserApi, chat: Json, data_dir: Path
) -> None:
    await upload_file(user, str(chat["chat_id"]), "a.txt", b"abc")

    await user.delete(f"/v1/chats/{chat['chat_id']}")

    assert list((data_dir / "trash").iterdir()) == []


async def test_delete_chat_never_follows_links_out_of_its_directory(
    user: UserApi, chat: Json, chat_path: Path, outside_dir: Path
) -> None:
    (outside_dir / "precious.txt").write_bytes(b"keep me")
    (chat_path / "dir-link").symlink_to(outside_dir, target_is_directory=True)
    (chat_path / "file-link").symlink_to(outside_dir / "precious.txt")
    (chat_path / "work").mkdir()
    (chat_path / "work" / "nested-link").symlink_to(outside_dir, target_is_directory=True)
    os.mkfifo(chat_path / "pipe")

    response = await user.delete(f"/v1/chats/{chat['chat_id']}")

    assert response.status_code == 204
    assert not await anyio.Path(chat_path).exists()
    assert (outside_dir / "precious.txt").read_bytes() == b"keep me"
