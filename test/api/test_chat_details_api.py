"""v2 chat fields: a title and metadata set at creation and by merge patch, `updated_at`
moved by every change of the chat, and the list newest change first."""

from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import pytest

from test.api.conftest import (
    START_TEXT,
    Json,
    UserApi,
    assert_problem,
    create_chat,
    put_history,
    upload_file,
)
from test.api.test_chats_api import collect_pages
from test.fakes import FakeClock

pytestmark = pytest.mark.anyio

LATER_TEXT = "2026-04-01T12:01:00Z"
PATCH_HEADERS = {"content-type": "application/merge-patch+json"}


async def create(user: UserApi, body: Json) -> Json:
    response = await user.post("/v1/chats", json=body)
    assert response.status_code == 201, response.text
    created: Json = response.json()
    return created


async def patch(user: UserApi, chat_id: str, body: object) -> httpx.Response:
    return await user.request("PATCH", f"/v1/chats/{chat_id}", json=body, headers=PATCH_HEADERS)


async def fetched(user: UserApi, chat_id: str) -> Json:
    response = await user.get(f"/v1/chats/{chat_id}")
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def test_a_chat_is_created_with_its_title_and_metadata(
    user: UserApi, workspace: Json
) -> None:
    chat = await create(user, {"title": "Trip to Lyon", "metadata": {"model": "m-1", "k": ""}})

    assert chat["title"] == "Trip to Lyon"
    assert chat["metadata"] == {"model": "m-1", "k": ""}
    assert chat["updated_at"] == chat["created_at"] == START_TEXT
    assert await fetched(user, chat["chat_id"]) == chat


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"title": None}, id="null-title"),
        pytest.param({"metadata": {}}, id="empty-metadata"),
    ],
)
async def test_a_body_that_sets_nothing_makes_a_plain_chat(
    user: UserApi, workspace: Json, body: Json
) -> None:
    chat = await create(user, body)

    assert (chat["title"], chat["metadata"]) == (None, {})


A_TITLE_TOO_LONG = "t" * 257
SEVENTEEN_KEYS = {f"k{i}": "v" for i in range(17)}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"name": "x"}, id="unknown-field"),
        pytest.param({"title": A_TITLE_TOO_LONG}, id="title-257"),
        pytest.param({"title": "bell\u0007"}, id="title-control-character"),
        pytest.param({"title": "line\nbreak"}, id="title-newline"),
        pytest.param({"title": 5}, id="title-not-a-string"),
        pytest.param({"metadata": SEVENTEEN_KEYS}, id="metadata-17-keys"),
        pytest.param({"metadata": {"": "v"}}, id="metadata-empty-key"),
        pytest.param({"metadata": {"k" * 65: "v"}}, id="metadata-key-65"),
        pytest.param({"metadata": {"k": "v" * 513}}, id="metadata-value-513"),
        pytest.param({"metadata": {"k": 1}}, id="metadata-value-not-a-string"),
        pytest.param({"metadata": {"k": None}}, id="metadata-value-null"),
        pytest.param({"metadata": ["k"]}, id="metadata-not-an-object"),
        pytest.param(["title"], id="not-an-object"),
    ],
)
async def test_a_create_body_past_the_rules_creates_nothing(
    user: UserApi, workspace: Json, data_dir: Path, body: object
) -> None:
    response = await user.post("/v1/chats", json=body)

    assert_problem(response, 422, "validation_error")
    assert (await user.get("/v1/chats")).json()["items"] == []
    chats_dir = data_dir / "workspaces" / workspace["workspace_id"] / "chats"
    assert not chats_dir.exists() or not any(chats_dir.iterdir())


async def test_limits_count_code_points_not_bytes(user: UserApi, workspace: Json) -> None:
    title = "é" * 256  # 512 bytes in UTF-8
    chat = await create(user, {"title": title, "metadata": {"ключ" * 16: "ж" * 512}})

    assert chat["title"] == title
    assert chat["metadata"] == {"ключ" * 16: "ж" * 512}


async def test_a_merge_patch_sets_and_removes_members(
    user: UserApi, workspace: Json, clock: FakeClock
) -> None:
    chat = await create(user, {"title": "old", "metadata": {"a": "1", "b": "2"}})
    clock.advance(60)

    response = await patch(
        user, chat["chat_id"], {"title": "new", "metadata": {"a": None, "c": "3"}}
    )

    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["title"] == "new"
    assert patched["metadata"] == {"b": "2", "c": "3"}
    assert patched["updated_at"] == LATER_TEXT
    assert patched["created_at"] == START_TEXT
    assert await fetched(user, chat["chat_id"]) == patched


async def test_null_title_and_null_metadata_remove_them(user: UserApi, workspace: Json) -> None:
    chat = await create(user, {"title": "t", "metadata": {"a": "1"}})

    response = await patch(user, chat["chat_id"], {"title": None, "metadata": None})

    assert response.status_code == 200, response.text
    assert (response.json()["title"], response.json()["metadata"]) == (None, {})


async def test_a_member_left_out_stays_as_it_is(user: UserApi, workspace: Json) -> None:
    chat = await create(user, {"title": "t", "metadata": {"a": "1"}})

    only_title = (await patch(user, chat["chat_id"], {"title": "u"})).json()
    only_metadata = (await patch(user, chat["chat_id"], {"metadata": {"b": "2"}})).json()

    assert only_title["metadata"] == {"a": "1"}
    assert only_metadata["title"] == "u"
    assert only_metadata["metadata"] == {"a": "1", "b": "2"}


async def test_a_patch_as_plain_json_is_a_merge_patch_too(user: UserApi, chat: Json) -> None:
    response = await user.request("PATCH", f"/v1/chats/{chat['chat_id']}", json={"title": "x"})

    assert response.status_code == 200, response.text
    assert response.json()["title"] == "x"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-patch"),
        pytest.param({"title": "same"}, id="same-title"),
        pytest.param({"metadata": {"a": "1"}}, id="same-value"),
        pytest.param({"metadata": {"gone": None}}, id="remove-a-missing-key"),
    ],
)
async def test_a_patch_that_changes_nothing_leaves_updated_at(
    user: UserApi, workspace: Json, clock: FakeClock, body: Json
) -> None:
    chat = await create(user, {"title": "same", "metadata": {"a": "1"}})
    clock.advance(60)

    response = await patch(user, chat["chat_id"], body)

    assert response.status_code == 200, response.text
    assert response.json() == chat


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"forked_from": None}, id="another-member"),
        pytest.param({"title": A_TITLE_TOO_LONG}, id="title-257"),
        pytest.param({"title": "tab\t"}, id="title-control-character"),
        pytest.param({"metadata": {f"n{i}": "v" for i in range(16)}}, id="seventeenth-key"),
        pytest.param({"metadata": {"a": 1}}, id="value-not-a-string"),
        pytest.param({"metadata": "a"}, id="metadata-not-an-object"),
        pytest.param("title", id="not-an-object"),
        pytest.param(None, id="null-document"),
    ],
)
async def test_a_patch_past_the_rules_changes_nothing(
    user: UserApi, workspace: Json, clock: FakeClock, body: object
) -> None:
    chat = await create(user, {"title": "t", "metadata": {"a": "1"}})
    clock.advance(60)

    response = await patch(user, chat["chat_id"], body)

    assert_problem(response, 422, "validation_error")
    assert await fetched(user, chat["chat_id"]) == chat


async def test_a_patch_that_is_not_json_is_a_validation_error(user: UserApi, chat: Json) -> None:
    response = await user.request(
        "PATCH", f"/v1/chats/{chat['chat_id']}", content=b"{", headers=PATCH_HEADERS
    )

    assert_problem(response, 422, "validation_error")


async def test_another_users_chat_cannot_be_patched(
    user: UserApi, chat: Json, other_user: UserApi
) -> None:
    response = await patch(other_user, chat["chat_id"], {"title": "mine"})

    assert_problem(response, 404, "chat_not_found")
    assert (await fetched(user, chat["chat_id"]))["title"] is None


async def test_patches_of_different_keys_racing_both_land(user: UserApi, chat: Json) -> None:
    keys = [f"k{i}" for i in range(12)]

    async with anyio.create_task_group() as tasks:
        for key in keys:
            tasks.start_soon(patch, user, chat["chat_id"], {"metadata": {key: key}})

    assert (await fetched(user, chat["chat_id"]))["metadata"].items() == {
        (key, key) for key in keys
    }


async def changed_by(user: UserApi, chat_id: str, change: str) -> None:
    if change == "put":
        assert (await put_history(user, chat_id, b"# hi\n")).status_code == 204
    elif change == "append":
        response = await user.post(f"/v1/chats/{chat_id}/history", content=b"more\n")
        assert response.status_code == 204
    elif change == "upload":
        await upload_file(user, chat_id, "a.txt", b"a")
    elif change == "delete-file":
        (item,) = (await user.get(f"/v1/chats/{chat_id}/files")).json()["items"]
        response = await user.delete(f"/v1/chats/{chat_id}/files/{item['file_id']}")
        assert response.status_code == 204
    elif change == "clear-files":
        assert (await user.delete(f"/v1/chats/{chat_id}/files")).status_code == 204
    elif change == "restore":
        response = await user.post(f"/v1/chats/{chat_id}/history/revisions/0/restore")
        assert response.status_code == 204, response.text
    elif change == "patch":
        assert (await patch(user, chat_id, {"title": "x"})).status_code == 200
    else:
        raise AssertionError(change)


@pytest.mark.parametrize(
    "change",
    ["put", "append", "upload", "delete-file", "clear-files", "restore", "patch"],
)
async def test_every_change_of_a_chat_moves_its_updated_at(
    user: UserApi, chat: Json, clock: FakeClock, change: str
) -> None:
    chat_id = chat["chat_id"]
    await upload_file(user, chat_id, "a.txt", b"a")
    await put_history(user, chat_id, b"# one\n")
    before = await fetched(user, chat_id)
    clock.advance(60)

    await changed_by(user, chat_id, change)

    after = await fetched(user, chat_id)
    assert before["updated_at"] == START_TEXT
    assert after["updated_at"] == LATER_TEXT


async def test_a_change_a_sandbox_made_moves_updated_at_when_it_is_recorded(
    user: UserApi, chat: Json, clock: FakeClock, data_dir: Path
) -> None:
    chat_id = chat["chat_id"]
    directory = data_dir / "workspaces" / chat["workspace_id"] / "chats" / chat_id
    (directory / "notes.txt").write_bytes(b"written by a sandbox")
    clock.advance(60)

    assert (await user.post(f"/v1/chats/{chat_id}/files/rescan")).status_code == 200

    assert (await fetched(user, chat_id))["updated_at"] == LATER_TEXT


async def test_reading_pruning_and_an_unchanged_rescan_leave_updated_at(
    user: UserApi, chat: Json, clock: FakeClock
) -> None:
    chat_id = chat["chat_id"]
    await put_history(user, chat_id, b"# one\n")
    clock.advance(60)

    await user.get(f"/v1/chats/{chat_id}/history")
    await user.get(f"/v1/chats/{chat_id}/history/revisions")
    await user.delete(f"/v1/chats/{chat_id}/history/revisions")
    await user.post(f"/v1/chats/{chat_id}/files/rescan")

    assert (await fetched(user, chat_id))["updated_at"] == START_TEXT


async def test_a_fork_keeps_the_title_and_metadata_and_starts_its_own_clock(
    user: UserApi, workspace: Json, clock: FakeClock
) -> None:
    source = await create(user, {"title": "t", "metadata": {"a": "1"}})
    clock.advance(60)

    response = await user.post(f"/v1/chats/{source['chat_id']}/fork")

    assert response.status_code == 201, response.text
    fork = response.json()
    assert (fork["title"], fork["metadata"]) == ("t", {"a": "1"})
    assert fork["created_at"] == fork["updated_at"] == LATER_TEXT
    assert (await fetched(user, source["chat_id"]))["updated_at"] == START_TEXT


async def recent(user: UserApi, **params: str | int) -> httpx.Response:
    return await user.get("/v1/chats", params={"order": "-updated", **params})


async def test_the_list_newest_change_first_follows_every_change(
    user: UserApi, workspace: Json, clock: FakeClock
) -> None:
    chats = []
    for _ in range(3):
        chats.append(await create_chat(user))
        clock.advance(1)
    first, second, third = (chat["chat_id"] for chat in chats)

    assert [c["chat_id"] for c in (await recent(user)).json()["items"]] == [third, second, first]
    await put_history(user, first, b"# moved\n")

    listed = (await recent(user)).json()["items"]
    assert [chat["chat_id"] for chat in listed] == [first, third, second]
    assert [c["chat_id"] for c in (await user.get("/v1/chats")).json()["items"]] == [
        first,
        second,
        third,
    ]


async def test_chats_changed_at_one_instant_are_listed_highest_id_first(
    user: UserApi, workspace: Json
) -> None:
    created = [await create_chat(user) for _ in range(5)]

    listed = [chat["chat_id"] for chat in (await recent(user)).json()["items"]]

    assert listed == sorted((chat["chat_id"] for chat in created), reverse=True)


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8])
async def test_paging_newest_first_lists_each_chat_exactly_once(
    user: UserApi, workspace: Json, clock: FakeClock, limit: int
) -> None:
    created = []
    for index in range(7):
        created.append(await create_chat(user))
        if index % 2:
            clock.advance(1)  # pairs share an instant: the id breaks the tie

    fetch: Callable[[dict[str, str | int]], Awaitable[httpx.Response]] = lambda params: (  # noqa: E731
        recent(user, **params)
    )
    pages = await collect_pages(fetch, limit)

    listed = [chat for page in pages for chat in page]
    assert listed == sorted(
        created, key=lambda chat: (chat["updated_at"], chat["chat_id"]), reverse=True
    )


async def test_a_chat_changed_mid_walk_is_the_only_one_that_may_move(
    user: UserApi, workspace: Json, clock: FakeClock
) -> None:
    created = []
    for _ in range(6):
        created.append(await create_chat(user))
        clock.advance(1)
    first_page = (await recent(user, limit=3)).json()
    moved = created[0]["chat_id"]  # on the second page, then changed to the front
    await put_history(user, moved, b"# moved\n")

    rest = (await recent(user, limit=10, cursor=first_page["next_cursor"])).json()["items"]

    seen = [chat["chat_id"] for chat in first_page["items"] + rest]
    others = [chat["chat_id"] for chat in created if chat["chat_id"] != moved]
    assert [chat_id for chat_id in seen if chat_id != moved] == list(reversed(others))


@pytest.mark.parametrize(
    ("make_order", "use_order"), [("created", "-updated"), ("-updated", "created")]
)
async def test_a_cursor_belongs_to_its_order(
    user: UserApi, workspace: Json, make_order: str, use_order: str
) -> None:
    for _ in range(3):
        await create_chat(user)
    cursor = (await user.get("/v1/chats", params={"order": make_order, "limit": 1})).json()[
        "next_cursor"
    ]

    response = await user.get("/v1/chats", params={"order": use_order, "cursor": cursor})

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("order", ["updated", "+updated", "-created", "", "CREATED"])
async def test_an_unknown_order_is_a_validation_error(
    user: UserApi, workspace: Json, order: str
) -> None:
    assert_problem(await user.get("/v1/chats", params={"order": order}), 422, "validation_error")
