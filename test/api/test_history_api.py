import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import httpx
import pytest

from test.api.conftest import (
    MAX_HISTORY_BYTES,
    QUOTA_BYTES,
    Part,
    UserApi,
    assert_not_modified,
    assert_problem,
    put_history,
    staging_entries,
    upload,
    used_bytes,
)

pytestmark = pytest.mark.anyio

MARKDOWN = "text/markdown; charset=utf-8"


def history_url(chat_id: str) -> str:
    return f"/v1/chats/{chat_id}/history"


async def read_history(user: UserApi, chat_id: str) -> httpx.Response:
    response = await user.get(history_url(chat_id))
    assert response.status_code == 200, response.text
    return response


async def test_history_of_a_new_chat_is_empty_markdown_with_a_strong_etag(
    user: UserApi, chat_id: str
) -> None:
    response = await user.get(history_url(chat_id))

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == MARKDOWN
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert len(etag) > 2


async def test_put_history_answers_204_with_the_etag_the_next_get_gives(
    user: UserApi, chat_id: str
) -> None:
    text = "# Hello\n\nünïcödé ✓\n".encode()

    put = await user.put(history_url(chat_id), content=text)

    assert put.status_code == 204
    assert put.content == b""
    got = await read_history(user, chat_id)
    assert got.content == text
    assert got.headers["content-type"] == MARKDOWN
    assert got.headers["etag"] == put.headers["etag"]


async def test_history_etag_changes_with_the_content(user: UserApi, chat_id: str) -> None:
    empty = (await read_history(user, chat_id)).headers["etag"]
    first = (await put_history(user, chat_id, b"one")).headers["etag"]
    second = (await put_history(user, chat_id, b"two")).headers["etag"]
    back = (await put_history(user, chat_id, b"one")).headers["etag"]

    assert len({empty, first, second}) == 3
    assert back == first


async def test_history_is_written_to_history_md(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await put_history(user, chat_id, b"# on disk\n")

    assert (chat_path / "history.md").read_bytes() == b"# on disk\n"


async def test_put_accepts_any_content_type(user: UserApi, chat_id: str) -> None:
    response = await user.put(
        history_url(chat_id), content=b"{}", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 204
    assert (await read_history(user, chat_id)).content == b"{}"


async def test_put_of_an_empty_body_empties_the_history(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"something")

    await put_history(user, chat_id, b"")

    assert (await read_history(user, chat_id)).content == b""
    assert await used_bytes(user) == 0


async def test_if_none_match_with_the_current_etag_answers_304(user: UserApi, chat_id: str) -> None:
    etag = (await put_history(user, chat_id, b"# cached")).headers["etag"]

    response = await user.get(history_url(chat_id), headers={"If-None-Match": etag})

    assert_not_modified(response, etag)


async def test_if_none_match_with_a_stale_etag_answers_the_content(
    user: UserApi, chat_id: str
) -> None:
    stale = (await put_history(user, chat_id, b"old")).headers["etag"]
    await put_history(user, chat_id, b"new")

    response = await user.get(history_url(chat_id), headers={"If-None-Match": stale})

    assert response.status_code == 200
    assert response.content == b"new"


async def test_if_match_with_a_stale_etag_fails_and_changes_nothing(
    user: UserApi, chat_id: str
) -> None:
    stale = (await put_history(user, chat_id, b"old")).headers["etag"]
    current = (await put_history(user, chat_id, b"current")).headers["etag"]

    response = await user.put(history_url(chat_id), content=b"lost", headers={"If-Match": stale})

    assert_problem(response, 412, "precondition_failed")
    got = await read_history(user, chat_id)
    assert got.content == b"current"
    assert got.headers["etag"] == current
    assert await used_bytes(user) == len(b"current")


async def test_if_match_with_the_current_etag_writes(user: UserApi, chat_id: str) -> None:
    current = (await put_history(user, chat_id, b"v1")).headers["etag"]

    response = await user.put(history_url(chat_id), content=b"v2", headers={"If-Match": current})

    assert response.status_code == 204
    assert (await read_history(user, chat_id)).content == b"v2"


async def test_if_match_on_a_new_chat_matches_the_empty_history_etag(
    user: UserApi, chat_id: str
) -> None:
    empty = (await read_history(user, chat_id)).headers["etag"]

    response = await user.put(history_url(chat_id), content=b"first", headers={"If-Match": empty})

    assert response.status_code == 204


async def test_if_match_star_writes(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"v1")

    response = await user.put(history_url(chat_id), content=b"v2", headers={"If-Match": "*"})

    assert response.status_code == 204
    assert (await read_history(user, chat_id)).content == b"v2"


async def test_two_writers_with_one_etag_only_the_first_wins(user: UserApi, chat_id: str) -> None:
    base = (await put_history(user, chat_id, b"base")).headers["etag"]

    first = await user.put(history_url(chat_id), content=b"A", headers={"If-Match": base})
    second = await user.put(history_url(chat_id), content=b"B", headers={"If-Match": base})

    assert first.status_code == 204
    assert_problem(second, 412, "precondition_failed")
    assert (await read_history(user, chat_id)).content == b"A"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xfe", id="invalid-bytes"),
        pytest.param(b"ok then \xc3", id="truncated-sequence"),
        pytest.param(b"\xed\xa0\x80", id="encoded-surrogate"),
        pytest.param(b"\xc0\xaf", id="overlong"),
        pytest.param("caf\u00e9".encode("latin-1"), id="latin-1"),
    ],
)
async def test_history_that_is_not_utf8_is_refused_and_changes_nothing(
    user: UserApi, chat_id: str, data_dir: Path, body: bytes
) -> None:
    await put_history(user, chat_id, b"kept")

    response = await user.put(history_url(chat_id), content=body)

    assert_problem(response, 422, "invalid_history_encoding")
    assert (await read_history(user, chat_id)).content == b"kept"
    assert await used_bytes(user) == 4
    assert staging_entries(data_dir) == []


async def test_utf8_character_split_across_body_chunks_is_accepted(
    user: UserApi, chat_id: str
) -> None:
    text = "a é b 📄 c".encode()
    cut = text.index("📄".encode()) + 2

    async def body() -> AsyncIterator[bytes]:
        yield text[:cut]
        yield text[cut:]

    response = await user.client.put(
        history_url(chat_id), content=body(), headers={"X-User-Id": str(user.user_id)}
    )

    assert response.status_code == 204
    assert (await read_history(user, chat_id)).content == text


async def test_history_of_exactly_the_maximum_size_is_accepted(user: UserApi, chat_id: str) -> None:
    body = b"m" * MAX_HISTORY_BYTES

    await put_history(user, chat_id, body)

    assert (await read_history(user, chat_id)).content == body
    assert await used_bytes(user) == MAX_HISTORY_BYTES


async def test_history_over_the_maximum_size_is_refused_and_changes_nothing(
    user: UserApi, chat_id: str, data_dir: Path
) -> None:
    await put_history(user, chat_id, b"kept")

    response = await user.put(history_url(chat_id), content=b"m" * (MAX_HISTORY_BYTES + 1))

    assert_problem(response, 413, "history_too_large")
    assert (await read_history(user, chat_id)).content == b"kept"
    assert await used_bytes(user) == 4
    assert staging_entries(data_dir) == []


async def fill_workspace(user: UserApi, chat_id: str, free_bytes: int) -> None:
    """Attachments that leave exactly `free_bytes` of the quota."""
    total = QUOTA_BYTES - free_bytes - await used_bytes(user)
    sizes = [200 * 1024] * (total // (200 * 1024)) + [total % (200 * 1024)]
    parts = [Part(f"fill-{index}.bin", b"f" * size) for index, size in enumerate(sizes)]
    response = await upload(user, chat_id, *parts)
    assert response.status_code == 201, response.text
    assert await used_bytes(user) == QUOTA_BYTES - free_bytes


async def test_history_that_would_pass_the_quota_is_refused_and_changes_nothing(
    user: UserApi, chat_id: str, data_dir: Path
) -> None:
    await put_history(user, chat_id, b"kept")
    await fill_workspace(user, chat_id, free_bytes=100)

    response = await user.put(history_url(chat_id), content=b"q" * 105)

    assert_problem(response, 507, "workspace_quota_exceeded")
    assert (await read_history(user, chat_id)).content == b"kept"
    assert await used_bytes(user) == QUOTA_BYTES - 100
    assert staging_entries(data_dir) == []


async def charged_bytes(user: UserApi) -> int:
    usage = (await user.get("/v1/workspace/usage")).json()
    return int(usage["used_bytes"]) + int(usage["revision_bytes"])


async def test_history_that_fills_the_quota_exactly_is_accepted(
    user: UserApi, chat_id: str
) -> None:
    await put_history(user, chat_id, b"kept")
    await fill_workspace(user, chat_id, free_bytes=100)

    # The history it replaces is kept as a revision: 4 bytes beside the 96 it brings.
    assert_problem(
        await user.put(f"/v1/chats/{chat_id}/history", content=b"q" * 101),
        507,
        "workspace_quota_exceeded",
    )
    await put_history(user, chat_id, b"q" * 100)

    assert await charged_bytes(user) == QUOTA_BYTES


async def test_shrinking_history_in_a_full_workspace_needs_room_for_the_revision_it_keeps(
    user: UserApi, chat_id: str
) -> None:
    await put_history(user, chat_id, b"h" * 1000)
    await fill_workspace(user, chat_id, free_bytes=0)
    # Replacing it keeps the 1,000 bytes as a revision: no room for even 10 more.
    assert_problem(
        await user.put(f"/v1/chats/{chat_id}/history", content=b"h" * 10),
        507,
        "workspace_quota_exceeded",
    )
    listed = (await user.get(f"/v1/chats/{chat_id}/files")).json()["items"]
    await user.delete(f"/v1/chats/{chat_id}/files/{listed[0]['file_id']}")

    await put_history(user, chat_id, b"h" * 10)

    usage = (await user.get("/v1/workspace/usage")).json()
    assert usage["revision_bytes"] == 1000
    assert await charged_bytes(user) == QUOTA_BYTES - listed[0]["size_bytes"] + 10


async def test_usage_follows_the_history_size(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"x" * 1000)
    grown = await used_bytes(user)
    await put_history(user, chat_id, b"x" * 10)

    assert grown == 1000
    assert await used_bytes(user) == 10


async def test_history_replaced_by_a_link_reads_as_empty_and_never_reveals_the_target(
    user: UserApi, chat_id: str, chat_path: Path, outside_dir: Path
) -> None:
    empty_etag = (await read_history(user, chat_id)).headers["etag"]
    secret = outside_dir / "secret.md"
    secret.write_bytes(b"# outside secret\n")
    history = chat_path / "history.md"
    history.unlink()
    history.symlink_to(secret)

    response = await user.get(history_url(chat_id))

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["etag"] == empty_etag
    assert b"secret" not in response.content


async def test_put_replaces_a_planted_history_link_and_leaves_its_target_alone(
    user: UserApi, chat_id: str, chat_path: Path, outside_dir: Path
) -> None:
    secret = outside_dir / "secret.md"
    secret.write_bytes(b"# outside secret\n")
    history = chat_path / "history.md"
    history.unlink()
    history.symlink_to(secret)

    await put_history(user, chat_id, b"# mine\n")

    assert secret.read_bytes() == b"# outside secret\n"
    assert not history.is_symlink()
    assert history.read_bytes() == b"# mine\n"
    assert (await read_history(user, chat_id)).content == b"# mine\n"


async def remove_the_history_file(user: UserApi, chat_id: str, chat_path: Path) -> None:
    await put_history(user, chat_id, b"# soon gone")
    (chat_path / "history.md").unlink()


async def put_a_directory_in_its_place(user: UserApi, chat_id: str, chat_path: Path) -> None:
    (chat_path / "history.md").unlink()
    (chat_path / "history.md").mkdir()


async def put_a_fifo_in_its_place(user: UserApi, chat_id: str, chat_path: Path) -> None:
    (chat_path / "history.md").unlink()
    os.mkfifo(chat_path / "history.md")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(remove_the_history_file, id="missing"),
        pytest.param(put_a_directory_in_its_place, id="replaced-by-a-directory"),
        pytest.param(put_a_fifo_in_its_place, id="replaced-by-a-fifo-without-hanging"),
    ],
)
async def test_history_that_is_not_a_regular_file_reads_as_empty(
    user: UserApi,
    chat_id: str,
    chat_path: Path,
    change: Callable[[UserApi, str, Path], Awaitable[None]],
) -> None:
    await change(user, chat_id, chat_path)

    with anyio.fail_after(5):
        response = await user.get(history_url(chat_id))

    assert response.status_code == 200
    assert response.content == b""


async def test_history_changed_on_disk_is_served_with_its_new_etag(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    written = (await put_history(user, chat_id, b"by the service")).headers["etag"]
    (chat_path / "history.md").write_bytes(b"by the sandbox")

    response = await read_history(user, chat_id)
    stale = await user.put(history_url(chat_id), content=b"x", headers={"If-Match": written})

    assert response.content == b"by the sandbox"
    assert response.headers["etag"] != written
    assert_problem(stale, 412, "precondition_failed")


async def test_concurrent_writers_with_one_etag_let_exactly_one_win(
    user: UserApi, chat_id: str
) -> None:
    base = (await put_history(user, chat_id, b"base")).headers["etag"]
    bodies = [f"writer {index}".encode() for index in range(5)]

    responses = await asyncio.gather(
        *(
            user.put(history_url(chat_id), content=body, headers={"If-Match": base})
            for body in bodies
        )
    )

    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [204] + [412] * 4
    winner = bodies[statuses.index(204)]
    assert (await read_history(user, chat_id)).content == winner
    assert await used_bytes(user) == len(winner)
