"""Forking a chat over HTTP (api.md `POST /v1/chats/{chat_id}/fork`): a new, independent
chat from any kept revision, its attachments copied, the quota checked first."""

import hashlib
from pathlib import Path

import httpx
import pytest

from test.api.conftest import (
    QUOTA_BYTES,
    Json,
    Part,
    UserApi,
    assert_problem,
    chat_dir,
    put_history,
    staging_entries,
    upload,
    upload_file,
)

pytestmark = pytest.mark.anyio


def fork_url(chat_id: str) -> str:
    return f"/v1/chats/{chat_id}/fork"


async def fork(user: UserApi, chat_id: str, **body: object) -> Json:
    response = await user.post(fork_url(chat_id), json=body or None)
    assert response.status_code == 201, response.text
    forked: Json = response.json()
    assert response.headers["location"] == f"/v1/chats/{forked['chat_id']}"
    return forked


async def history(user: UserApi, chat_id: str) -> bytes:
    response = await user.get(f"/v1/chats/{chat_id}/history")
    assert response.status_code == 200, response.text
    return response.content


async def files_of(user: UserApi, chat_id: str) -> list[Json]:
    items: list[Json] = (await user.get(f"/v1/chats/{chat_id}/files")).json()["items"]
    return items


def directories_under(data_dir: Path) -> set[Path]:
    """Every directory of the data directory but the staging and trash areas."""
    return {
        path
        for path in data_dir.rglob("*")
        if path.is_dir() and not {"staging", "trash"} & set(path.relative_to(data_dir).parts)
    }


async def chat_count(user: UserApi) -> int:
    return len((await user.get("/v1/chats")).json()["items"])


async def test_a_fork_holds_the_current_history_and_a_copy_of_every_attachment(
    user: UserApi, chat_id: str, workspace: Json
) -> None:
    await put_history(user, chat_id, b"# the chat so far\n")
    await upload_file(user, chat_id, "notes.txt", b"some notes")

    forked = await fork(user, chat_id)

    assert forked["workspace_id"] == workspace["workspace_id"]
    assert forked["forked_from"] == {"chat_id": chat_id, "revision": 1}
    assert await history(user, forked["chat_id"]) == b"# the chat so far\n"
    [source_file] = await files_of(user, chat_id)
    [copy] = await files_of(user, forked["chat_id"])
    assert copy["file_id"] != source_file["file_id"]
    assert copy["chat_id"] == forked["chat_id"]
    for kept in ("name", "content_type", "size_bytes", "sha256"):
        assert copy[kept] == source_file[kept]
    content = await user.get(f"/v1/chats/{forked['chat_id']}/files/{copy['file_id']}/content")
    assert content.content == b"some notes"
    assert (await user.get(f"/v1/chats/{forked['chat_id']}")).json() == forked


async def test_a_fork_starts_with_revision_0_empty_and_revision_1_of_source_fork(
    user: UserApi, chat_id: str
) -> None:
    await put_history(user, chat_id, b"# one\n")
    await put_history(user, chat_id, b"# two\n")

    forked = await fork(user, chat_id, revision=1)

    revisions = (await user.get(f"/v1/chats/{forked['chat_id']}/history/revisions")).json()
    assert [(item["revision"], item["source"]) for item in revisions["items"]] == [
        (1, "fork"),
        (0, "create"),
    ]
    assert await history(user, forked["chat_id"]) == b"# one\n"
    assert forked["forked_from"] == {"chat_id": chat_id, "revision": 1}


async def test_a_fork_without_attachments_copies_none(user: UserApi, chat_id: str) -> None:
    await upload_file(user, chat_id, "notes.txt", b"some notes")

    forked = await fork(user, chat_id, attachments=False)

    assert await files_of(user, forked["chat_id"]) == []


async def test_the_two_chats_are_independent_even_on_disk(
    user: UserApi, chat_id: str, data_dir: Path, chat: Json
) -> None:
    await put_history(user, chat_id, b"# shared start\n")
    await upload_file(user, chat_id, "notes.txt", b"some notes")
    forked = await fork(user, chat_id)
    source_dir, fork_dir = chat_dir(data_dir, chat), chat_dir(data_dir, forked)

    # A sandbox writing in place in the source never shows in the fork: no shared inode.
    with (source_dir / "notes.txt").open("r+b") as written:
        written.write(b"SOME")
    await user.post(f"/v1/chats/{chat_id}/history", content=b"more\n")

    assert (fork_dir / "notes.txt").read_bytes() == b"some notes"
    assert (source_dir / "notes.txt").stat().st_ino != (fork_dir / "notes.txt").stat().st_ino
    assert await history(user, forked["chat_id"]) == b"# shared start\n"


async def test_a_fork_counts_its_copy_in_the_usage(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"h" * 100)
    await upload_file(user, chat_id, "notes.txt", b"n" * 50)
    before = (await user.get("/v1/workspace/usage")).json()

    await fork(user, chat_id)

    after = (await user.get("/v1/workspace/usage")).json()
    assert after["used_bytes"] == before["used_bytes"] + 150
    assert after["revision_bytes"] == before["revision_bytes"]


async def test_a_fork_over_the_quota_creates_nothing(
    user: UserApi, chat_id: str, data_dir: Path
) -> None:
    await put_history(user, chat_id, b"h" * 1000)
    usage = (await user.get("/v1/workspace/usage")).json()
    fill = QUOTA_BYTES - usage["used_bytes"] - usage["revision_bytes"] - 1500
    sizes = [200 * 1024] * (fill // (200 * 1024)) + [fill % (200 * 1024)]
    for index, size in enumerate(sizes):
        await upload(user, chat_id, Part(f"fill-{index}.bin", b"f" * size))
    chats, usage = await chat_count(user), (await user.get("/v1/workspace/usage")).json()
    directories = directories_under(data_dir)

    refused = await user.post(fork_url(chat_id))
    history_only = await user.post(fork_url(chat_id), json={"attachments": False})

    assert_problem(refused, 507, "workspace_quota_exceeded")
    assert await chat_count(user) == chats + 1  # only the history-only fork fits
    assert history_only.status_code == 201
    assert (await user.get("/v1/workspace/usage")).json()["used_bytes"] == (
        usage["used_bytes"] + 1000
    )
    assert directories_under(data_dir) - directories == {chat_dir(data_dir, history_only.json())}
    assert staging_entries(data_dir) == []


async def test_forking_a_revision_never_made_is_not_found_and_creates_nothing(
    user: UserApi, chat_id: str
) -> None:
    chats = await chat_count(user)

    assert_problem(
        await user.post(fork_url(chat_id), json={"revision": 5}), 404, "history_revision_not_found"
    )
    assert await chat_count(user) == chats


@pytest.mark.parametrize(
    "body",
    [{"revision": -1}, {"revision": "x"}, {"attachments": "maybe"}, {"title": "no"}, [1]],
)
async def test_a_fork_body_out_of_the_contract_is_a_validation_error(
    user: UserApi, chat_id: str, body: object
) -> None:
    chats = await chat_count(user)

    assert_problem(await user.post(fork_url(chat_id), json=body), 422, "validation_error")
    assert await chat_count(user) == chats


async def test_another_users_chat_cannot_be_forked(
    user: UserApi, other_user: UserApi, chat_id: str
) -> None:
    assert_problem(await other_user.post(fork_url(chat_id)), 404, "chat_not_found")


async def test_an_attachment_a_sandbox_changed_is_rescanned_before_it_is_copied(
    user: UserApi, chat_id: str, data_dir: Path, chat: Json
) -> None:
    await upload_file(user, chat_id, "notes.txt", b"some notes")
    (chat_dir(data_dir, chat) / "notes.txt").write_bytes(b"longer notes, from a sandbox")

    forked = await fork(user, chat_id)

    [copy] = await files_of(user, forked["chat_id"])
    assert copy["size_bytes"] == len(b"longer notes, from a sandbox")
    assert copy["sha256"] == hashlib.sha256(b"longer notes, from a sandbox").hexdigest()
    [source_file] = await files_of(user, chat_id)
    assert source_file["sha256"] == copy["sha256"]


async def test_a_fork_of_a_fork_names_its_own_source(user: UserApi, chat_id: str) -> None:
    first = await fork(user, chat_id)
    second = await fork(user, first["chat_id"])

    assert second["forked_from"] == {"chat_id": first["chat_id"], "revision": 1}


async def test_a_fork_outlives_its_source(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"# kept\n")
    forked = await fork(user, chat_id)

    assert (await user.delete(f"/v1/chats/{chat_id}")).status_code == 204

    again: httpx.Response = await user.get(f"/v1/chats/{forked['chat_id']}")
    assert again.json()["forked_from"] == {"chat_id": chat_id, "revision": 1}
    assert await history(user, forked["chat_id"]) == b"# kept\n"
