import os
import socket
from pathlib import Path
from uuid import UUID

import anyio
import pytest

from test.api.conftest import (
    MAX_FILE_BYTES,
    Json,
    Part,
    UserApi,
    assert_problem,
    list_files,
    put_history,
    sha256,
    upload,
    upload_file,
    used_bytes,
)
from test.attachment_names import a_file_can_bear, kept_names, refused_names
from test.disk import regular_bytes_under
from test.fakes import FakeClock
from test.planted import PLANTERS, Planter

pytestmark = pytest.mark.anyio

OUTSIDE_BYTES = b"outside secret " * 100
TIB = 1024**4


def is_untouched(outside_file: Path) -> bool:
    return outside_file.read_bytes() == OUTSIDE_BYTES


@pytest.fixture
def outside_file(outside_dir: Path) -> Path:
    path = outside_dir / "secret.bin"
    path.write_bytes(OUTSIDE_BYTES)
    return path


async def rescan(user: UserApi, chat_id: str) -> list[Json]:
    response = await user.post(f"/v1/chats/{chat_id}/files/rescan")
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"items"}
    items: list[Json] = response.json()["items"]
    return items


async def test_rescan_of_an_untouched_chat_changes_nothing(user: UserApi, chat_id: str) -> None:
    stored = await upload_file(user, chat_id, "a.txt", b"abc")

    assert await rescan(user, chat_id) == [stored]
    assert await list_files(user, chat_id) == [stored]


async def test_regular_file_written_behind_the_service_gets_a_record(
    user: UserApi, chat_id: str, chat_path: Path, clock: FakeClock
) -> None:
    clock.advance(30)
    (chat_path / "notes.txt").write_bytes(b"sandbox output")

    (item,) = await rescan(user, chat_id)

    UUID(item["file_id"])
    assert item["chat_id"] == chat_id
    assert item["name"] == "notes.txt"
    assert item["size_bytes"] == len(b"sandbox output")
    assert item["sha256"] == sha256(b"sandbox output")
    assert item["created_at"] == "2026-04-01T12:00:30Z"
    assert await list_files(user, chat_id) == [item]
    content = await user.get(f"/v1/chats/{chat_id}/files/{item['file_id']}/content")
    assert content.content == b"sandbox output"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        pytest.param("notes.txt", "text/plain", id="txt"),
        pytest.param("page.html", "text/html", id="html"),
        pytest.param("image.png", "image/png", id="png"),
        pytest.param("data.json", "application/json", id="json"),
        pytest.param("mystery.zzqx", None, id="unknown-extension"),
        pytest.param("Makefile", None, id="no-extension"),
    ],
)
async def test_imported_file_gets_a_content_type_guessed_from_its_name(
    user: UserApi, chat_id: str, chat_path: Path, name: str, content_type: str | None
) -> None:
    (chat_path / name).write_bytes(b"x")

    (item,) = await rescan(user, chat_id)

    assert item["content_type"] == content_type


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(b"before", b"after, and longer", id="other-size"),
        pytest.param(b"aaaa", b"bbbb", id="same-size"),
    ],
)
async def test_file_whose_bytes_changed_keeps_its_id_with_new_size_and_sha256(
    user: UserApi, chat_id: str, chat_path: Path, before: bytes, after: bytes
) -> None:
    stored = await upload_file(user, chat_id, "a.txt", before)
    (chat_path / "a.txt").write_bytes(after)

    (item,) = await rescan(user, chat_id)

    assert item == {**stored, "size_bytes": len(after), "sha256": sha256(after)}
    fetched = await user.get(f"/v1/chats/{chat_id}/files/{stored['file_id']}")
    assert fetched.json() == item


async def test_record_of_a_deleted_file_is_removed(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    kept = await upload_file(user, chat_id, "kept.txt", b"k")
    gone = await upload_file(user, chat_id, "gone.txt", b"g")
    (chat_path / "gone.txt").unlink()

    assert await rescan(user, chat_id) == [kept]
    response = await user.get(f"/v1/chats/{chat_id}/files/{gone['file_id']}")
    assert_problem(response, 404, "chat_file_not_found")


@pytest.mark.parametrize("plant", PLANTERS)
async def test_record_of_a_file_replaced_by_a_non_regular_file_is_removed(
    user: UserApi, chat_id: str, chat_path: Path, outside_file: Path, plant: Planter
) -> None:
    await upload_file(user, chat_id, "a.txt", b"abc")
    path = chat_path / "a.txt"
    path.unlink()
    plant(path, outside_file)

    with anyio.fail_after(5):
        items = await rescan(user, chat_id)

    assert items == []


@pytest.mark.parametrize("plant", PLANTERS)
async def test_non_regular_files_are_never_imported_or_counted(
    user: UserApi, chat_id: str, chat_path: Path, outside_file: Path, plant: Planter
) -> None:
    plant(chat_path / "planted.txt", outside_file)

    with anyio.fail_after(5):
        items = await rescan(user, chat_id)

    assert items == []
    assert await used_bytes(user) == regular_bytes_under(chat_path)
    assert is_untouched(outside_file)


async def test_socket_is_never_imported(
    user: UserApi, chat_id: str, chat_path: Path, tmp_path: Path
) -> None:
    # An AF_UNIX path must be short: bind near the top of tmp_path, then move it in place.
    bound = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(bound))
        bound.rename(chat_path / "listening.sock")

        items = await rescan(user, chat_id)

    assert items == []


@pytest.mark.parametrize("name", kept_names(a_file_can_bear))
async def test_file_under_a_name_the_rules_keep_is_imported_under_it(
    user: UserApi, chat_id: str, chat_path: Path, name: str
) -> None:
    (chat_path / name).write_bytes(b"x")

    (item,) = await rescan(user, chat_id)

    assert item["name"] == name
    assert [listed["name"] for listed in await list_files(user, chat_id)] == [name]


@pytest.mark.parametrize("name", refused_names(a_file_can_bear))
async def test_names_that_break_the_name_rules_are_never_imported(
    user: UserApi, chat_id: str, chat_path: Path, name: str
) -> None:
    (chat_path / name).write_bytes(b"x")

    assert await rescan(user, chat_id) == []


async def test_history_is_never_imported_as_an_attachment(user: UserApi, chat_id: str) -> None:
    await put_history(user, chat_id, b"# history\n")

    assert await rescan(user, chat_id) == []


async def test_usage_after_rescan_counts_regular_files_at_any_depth_and_not_link_targets(
    user: UserApi, chat_id: str, chat_path: Path, outside_dir: Path
) -> None:
    await put_history(user, chat_id, b"h" * 10)
    await upload_file(user, chat_id, "a.txt", b"a" * 100)
    (chat_path / "new.bin").write_bytes(b"n" * 1000)
    (chat_path / "out" / "deep").mkdir(parents=True)
    (chat_path / "out" / "one.txt").write_bytes(b"o" * 20_000)
    (chat_path / "out" / "deep" / "two.txt").write_bytes(b"t" * 300_000)
    big = outside_dir / "big.bin"
    big.write_bytes(b"B" * 500_000)
    (chat_path / "link.bin").symlink_to(big)
    (chat_path / "out" / "dirlink").symlink_to(outside_dir, target_is_directory=True)
    os.mkfifo(chat_path / "pipe")

    with anyio.fail_after(5):
        items = await rescan(user, chat_id)

    assert sorted(item["name"] for item in items) == ["a.txt", "new.bin"]
    assert await used_bytes(user) == 10 + 100 + 1000 + 20_000 + 300_000


async def test_usage_after_rescan_forgets_files_the_sandbox_removed(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await upload_file(user, chat_id, "a.txt", b"a" * 100)
    await upload_file(user, chat_id, "b.txt", b"b" * 50)
    (chat_path / "a.txt").unlink()

    await rescan(user, chat_id)

    assert await used_bytes(user) == 50


async def test_huge_sparse_file_a_sandbox_wrote_is_counted_but_never_imported_or_read(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    kept = await upload_file(user, chat_id, "kept.txt", b"kept")
    with (chat_path / "huge.bin").open("wb") as huge:
        huge.truncate(TIB)  # sparse: no disk used, but hashing it would take many minutes

    with anyio.fail_after(10):
        items = await rescan(user, chat_id)

    assert items == [kept]
    assert await used_bytes(user) == TIB + len(b"kept")
    refused = await upload(user, chat_id, Part("more.txt", b"more"))
    assert_problem(refused, 507, "workspace_quota_exceeded")

    (chat_path / "huge.bin").unlink()
    await rescan(user, chat_id)
    assert await used_bytes(user) == len(b"kept")


async def test_file_grown_past_the_upload_limit_loses_its_record(
    user: UserApi, chat_id: str, chat_path: Path
) -> None:
    await upload_file(user, chat_id, "grows.bin", b"small")
    with (chat_path / "grows.bin").open("r+b") as grown:
        grown.truncate(MAX_FILE_BYTES + 1)

    with anyio.fail_after(10):
        items = await rescan(user, chat_id)

    assert items == []
    assert await used_bytes(user) == MAX_FILE_BYTES + 1
