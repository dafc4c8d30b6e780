"""History revisions over HTTP (api.md "History revisions"): every change makes one, and
any kept one can be listed, read, restored; pruning frees what they keep."""

import hashlib
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from test.api.conftest import (
    Json,
    Part,
    UserApi,
    assert_not_modified,
    assert_problem,
    in_process_client,
    make_settings,
    put_history,
    running_app,
    staging_entries,
    upload,
)

pytestmark = pytest.mark.anyio

MARKDOWN = "text/markdown; charset=utf-8"


def etag_of(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()}"'


def revisions_url(chat_id: str) -> str:
    return f"/v1/chats/{chat_id}/history/revisions"


async def append(user: UserApi, chat_id: str, data: bytes) -> httpx.Response:
    response = await user.post(f"/v1/chats/{chat_id}/history", content=data)
    assert response.status_code == 204, response.text
    return response


async def listed(user: UserApi, chat_id: str, **params: str | int) -> Json:
    response = await user.get(revisions_url(chat_id), params=params)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


async def numbers(user: UserApi, chat_id: str) -> list[int]:
    return [item["revision"] for item in (await listed(user, chat_id))["items"]]


async def revision_content(user: UserApi, chat_id: str, revision: int) -> bytes:
    response = await user.get(f"{revisions_url(chat_id)}/{revision}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MARKDOWN
    assert response.headers["etag"] == etag_of(response.content)
    return response.content


async def revision_bytes(user: UserApi) -> int:
    return int((await user.get("/v1/workspace/usage")).json()["revision_bytes"])


async def test_a_new_chat_has_revision_0_the_empty_history(user: UserApi, chat_id: str) -> None:
    body = await listed(user, chat_id)

    assert body["next_cursor"] is None
    [created] = body["items"]
    assert created["revision"] == 0
    assert created["source"] == "create"
    assert created["size_bytes"] == 0
    assert created["etag"] == etag_of(b"")
    assert set(created) == {"revision", "etag", "size_bytes", "source", "created_at"}
    assert await revision_content(user, chat_id, 0) == b""


async def test_every_change_makes_a_revision_named_in_its_answer(
    user: UserApi, chat_id: str
) -> None:
    put = await put_history(user, chat_id, b"# one\n")
    appended = await append(user, chat_id, b"two\n")

    assert put.headers["x-history-revision"] == "1"
    assert put.headers["etag"] == etag_of(b"# one\n")
    assert appended.headers["x-history-revision"] == "2"
    assert appended.headers["etag"] == etag_of(b"# one\ntwo\n")
    items = (await listed(user, chat_id))["items"]
    assert [(item["revision"], item["source"]) for item in items] == [
        (2, "append"),
        (1, "put"),
        (0, "create"),
    ]
    assert await revision_content(user, chat_id, 1) == b"# one\n"
    assert await revision_content(user, chat_id, 2) == b"# one\ntwo\n"


async def test_an_empty_append_makes_no_revision_and_names_the_current_one(
    user: UserApi, chat_id: str
) -> None:
    await put_history(user, chat_id, b"# one\n")

    response = await user.post(f"/v1/chats/{chat_id}/history", content=b"")

    assert response.status_code == 204
    assert response.headers["x-history-revision"] == "1"
    assert await numbers(user, chat_id) == [1, 0]


async def test_a_run_of_appends_keeps_nothing_beside_the_history(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    for turn in range(5):
        await append(user, chat_id, f"turn {turn}\n".encode())

    assert await revision_bytes(user) == 0
    assert await revision_content(user, chat_id, 3) == b"turn 0\nturn 1\nturn 2\n"
    assert entries(chat_path) == ["history.md"]  # nothing else in the chat directory


def entries(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


async def test_a_put_keeps_the_history_it_replaces_and_counts_it(
    user: UserApi, chat_id: str
) -> None:
    await append(user, chat_id, b"first\n")
    await append(user, chat_id, b"second\n")
    await put_history(user, chat_id, b"# new\n")

    assert await revision_bytes(user) == len(b"first\nsecond\n")
    assert await revision_content(user, chat_id, 1) == b"first\n"
    assert await revision_content(user, chat_id, 2) == b"first\nsecond\n"
    assert await revision_content(user, chat_id, 3) == b"# new\n"


async def test_a_revision_read_answers_304_and_head_as_the_history_does(
    user: UserApi, chat_id: str
) -> None:
    await put_history(user, chat_id, b"# one\n")
    url = f"{revisions_url(chat_id)}/1"

    not_modified = await user.get(url, headers={"If-None-Match": etag_of(b"# one\n")})
    head = await user.request("HEAD", url)

    assert_not_modified(not_modified, etag_of(b"# one\n"))
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "6"
    assert head.headers["etag"] == etag_of(b"# one\n")


@pytest.mark.parametrize("revision", ["7", "123456789012345678"])
async def test_a_revision_never_made_is_not_found(
    user: UserApi, chat_id: str, revision: str
) -> None:
    for url in (
        f"{revisions_url(chat_id)}/{revision}",
        f"{revisions_url(chat_id)}/{revision}/restore",
    ):
        method = "POST" if url.endswith("restore") else "GET"
        assert_problem(await user.request(method, url), 404, "history_revision_not_found")


@pytest.mark.parametrize("revision", ["-1", "1.0", "x", "%20", "1234567890123456789"])
async def test_a_revision_that_is_not_a_whole_number_is_a_validation_error(
    user: UserApi, chat_id: str, revision: str
) -> None:
    assert_problem(await user.get(f"{revisions_url(chat_id)}/{revision}"), 422, "validation_error")


async def test_restore_makes_an_old_revision_current_as_a_new_one(
    user: UserApi, chat_id: str, data_dir: Path
) -> None:
    await put_history(user, chat_id, b"# kept\n")
    await put_history(user, chat_id, b"# later\n")

    response = await user.post(f"{revisions_url(chat_id)}/1/restore")

    assert response.status_code == 204, response.text
    assert response.headers["x-history-revision"] == "3"
    assert response.headers["etag"] == etag_of(b"# kept\n")
    assert (await user.get(f"/v1/chats/{chat_id}/history")).content == b"# kept\n"
    items = (await listed(user, chat_id))["items"]
    assert items[0]["source"] == "restore"
    assert await revision_content(user, chat_id, 2) == b"# later\n"
    assert staging_entries(data_dir) == []


async def test_restore_with_a_stale_if_match_changes_nothing(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"# one\n")
    await put_history(user, chat_id, b"# two\n")

    refused = await user.post(
        f"{revisions_url(chat_id)}/1/restore", headers={"If-Match": etag_of(b"# one\n")}
    )

    assert_problem(refused, 412, "precondition_failed")
    assert await numbers(user, chat_id) == [2, 1, 0]
    assert (await user.get(f"/v1/chats/{chat_id}/history")).content == b"# two\n"


async def test_pruning_keeps_only_the_current_revision_and_frees_the_rest(
    user: UserApi, chat_id: str, data_dir: Path
) -> None:
    await put_history(user, chat_id, b"# one\n")
    await put_history(user, chat_id, b"# two\n")
    assert await revision_bytes(user) > 0

    response = await user.delete(revisions_url(chat_id))

    assert response.status_code == 204
    assert await numbers(user, chat_id) == [2]
    assert await revision_bytes(user) == 0
    assert_problem(await user.get(f"{revisions_url(chat_id)}/1"), 404, "history_revision_not_found")
    assert list((data_dir / "revisions").rglob("*.md")) == []
    assert (await put_history(user, chat_id, b"# three\n")).headers["x-history-revision"] == "3"


async def test_revisions_are_listed_newest_first_in_pages(user: UserApi, chat_id: str) -> None:
    for turn in range(5):
        await append(user, chat_id, f"{turn}\n".encode())

    first = await listed(user, chat_id, limit=2)
    second = await listed(user, chat_id, limit=2, cursor=first["next_cursor"])
    third = await listed(user, chat_id, limit=2, cursor=second["next_cursor"])

    pages = [first, second, third]
    assert [[item["revision"] for item in page["items"]] for page in pages] == [
        [5, 4],
        [3, 2],
        [1, 0],
    ]
    assert third["next_cursor"] is None


async def test_a_cursor_of_another_list_is_a_validation_error(user: UserApi, chat_id: str) -> None:
    await user.post("/v1/chats")
    chats = (await user.get("/v1/chats", params={"limit": 1})).json()

    response = await user.get(revisions_url(chat_id), params={"cursor": chats["next_cursor"]})

    assert_problem(response, 422, "validation_error")


async def test_a_history_a_sandbox_changed_is_recorded_when_read(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await append(user, chat_id, b"# one\n")
    (chat_path / "history.md").write_bytes(b"# one\nsandbox wrote this\n")

    read = await user.get(f"/v1/chats/{chat_id}/history")

    assert read.content == b"# one\nsandbox wrote this\n"
    items = (await listed(user, chat_id))["items"]
    assert [(item["revision"], item["source"]) for item in items] == [
        (2, "sandbox"),
        (1, "append"),
        (0, "create"),
    ]
    # It grew the history: the revision before it is still its prefix.
    assert await revision_content(user, chat_id, 1) == b"# one\n"
    assert await revision_bytes(user) == 0


async def test_a_sandbox_rewriting_the_history_loses_the_revisions_it_held(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await put_history(user, chat_id, b"# kept apart\n")
    await append(user, chat_id, b"more\n")
    await put_history(user, chat_id, b"# current\n")
    await append(user, chat_id, b"grown\n")
    (chat_path / "history.md").write_bytes(b"rewritten by a sandbox\n")

    assert await numbers(user, chat_id) == [5, 2, 1, 0]
    assert await revision_content(user, chat_id, 2) == b"# kept apart\nmore\n"
    assert_problem(await user.get(f"{revisions_url(chat_id)}/4"), 404, "history_revision_not_found")
    assert await revision_content(user, chat_id, 5) == b"rewritten by a sandbox\n"


async def test_revisions_of_another_users_chat_are_not_found(
    user: UserApi, other_user: UserApi, chat_id: str
) -> None:
    for response in (
        await other_user.get(revisions_url(chat_id)),
        await other_user.get(f"{revisions_url(chat_id)}/0"),
        await other_user.post(f"{revisions_url(chat_id)}/0/restore"),
        await other_user.delete(revisions_url(chat_id)),
    ):
        assert_problem(response, 404, "chat_not_found")


async def test_restore_over_the_quota_changes_nothing(
    user: UserApi, chat_id: str, data_dir: Path
) -> None:
    big = b"b" * (60 * 1024)
    await put_history(user, chat_id, big)
    await put_history(user, chat_id, b"small")
    usage = (await user.get("/v1/workspace/usage")).json()
    room = usage["quota_bytes"] - usage["used_bytes"] - usage["revision_bytes"]
    fill = room - 1000  # leaves 1,000 bytes: room for "small", not for the big one
    sizes = [200 * 1024] * (fill // (200 * 1024)) + [fill % (200 * 1024)]
    for index, size in enumerate(sizes):
        await upload(user, chat_id, Part(f"fill-{index}.bin", b"f" * size))
    usage = (await user.get("/v1/workspace/usage")).json()
    room = usage["quota_bytes"] - usage["used_bytes"] - usage["revision_bytes"]
    assert room < len(big)

    refused = await user.post(f"{revisions_url(chat_id)}/1/restore")

    assert_problem(refused, 507, "workspace_quota_exceeded")
    assert (await user.get("/v1/workspace/usage")).json() == usage
    assert await numbers(user, chat_id) == [2, 1, 0]
    assert staging_entries(data_dir) == []


async def test_only_the_configured_number_of_revisions_is_kept(data_dir: Path) -> None:
    settings = make_settings(data_dir).model_copy(update={"history_revisions": 2})
    async with running_app(settings) as app, in_process_client(app) as client:
        user = UserApi(client, uuid4())
        await user.put("/v1/workspace")
        chat_id = (await user.post("/v1/chats")).json()["chat_id"]
        for body in (b"# one\n", b"# two\n", b"# three\n"):
            await put_history(user, chat_id, body)

        assert await numbers(user, chat_id) == [3, 2]
        assert await revision_bytes(user) == len(b"# two\n")
        assert list((data_dir / "revisions").rglob("*.md")) == [
            next((data_dir / "revisions").rglob("2.md"))
        ]
