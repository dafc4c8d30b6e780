"""Rescan: the chat's records are made to agree with what a sandbox left in its directory."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.errors import StorageUnavailableError
from test.usecase.service import USER, Part, Service, chunks_of, parts, sha256

pytestmark = pytest.mark.anyio


async def upload(service: Service, chat: Chat, name: str, data: bytes) -> ChatFile:
    [stored] = await service.run.upload_files(USER, chat.chat_id, parts(Part(name, data)))
    return stored


async def test_rescan_imports_a_file_written_behind_the_services_back(service: Service) -> None:
    chat = await service.new_chat()
    service.clock.advance(30)
    (service.chat_dir(chat) / "report.csv").write_bytes(b"a,b\n1,2\n")
    (service.chat_dir(chat) / "blob.unknownext").write_bytes(b"??")

    listed = await service.run.rescan_files(USER, chat.chat_id)

    assert [(r.name.value, r.content_type, r.size_bytes, r.sha256) for r in listed] == [
        ("blob.unknownext", None, 2, sha256(b"??")),
        ("report.csv", "text/csv", 8, sha256(b"a,b\n1,2\n")),
    ]
    assert {record.created_at for record in listed} == {service.clock.now()}
    assert {record.chat_id for record in listed} == {chat.chat_id}
    for record in listed:
        assert await service.run.get_file(USER, chat.chat_id, record.file_id) == record


async def test_rescan_keeps_the_id_of_a_file_whose_bytes_changed(service: Service) -> None:
    chat = await service.new_chat()
    stored = await upload(service, chat, "notes.txt", b"short")
    (service.chat_dir(chat) / "notes.txt").write_bytes(b"rewritten, longer")

    [rescanned] = await service.run.rescan_files(USER, chat.chat_id)

    assert rescanned == stored.with_content(17, sha256(b"rewritten, longer"))
    assert await service.run.get_file(USER, chat.chat_id, stored.file_id) == rescanned


async def test_rescan_leaves_an_unchanged_record_as_it_was(service: Service) -> None:
    chat = await service.new_chat()
    stored = await upload(service, chat, "notes.txt", b"same")
    service.clock.advance(60)

    assert await service.run.rescan_files(USER, chat.chat_id) == [stored]


def remove(path: Path, outside: Path) -> None:
    path.unlink()


def replace_with_link(path: Path, outside: Path) -> None:
    path.unlink()
    path.symlink_to(outside)


def replace_with_directory(path: Path, outside: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inner.txt").write_bytes(b"inner")


def replace_with_fifo(path: Path, outside: Path) -> None:
    path.unlink()
    os.mkfifo(path)


GONE = [
    pytest.param(remove, id="removed"),
    pytest.param(replace_with_link, id="now-a-link"),
    pytest.param(replace_with_directory, id="now-a-directory"),
    pytest.param(replace_with_fifo, id="now-a-fifo"),
]


@pytest.mark.parametrize("make_gone", GONE)
async def test_rescan_removes_the_record_of_a_file_no_longer_regular(
    service: Service, tmp_path: Path, make_gone: Callable[[Path, Path], None]
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside the data root")
    chat = await service.new_chat()
    gone = await upload(service, chat, "gone.txt", b"gone")
    kept = await upload(service, chat, "kept.txt", b"kept")
    make_gone(service.chat_dir(chat) / "gone.txt", outside)

    listed = await service.run.rescan_files(USER, chat.chat_id)

    assert listed == [kept]
    assert await service.metadata.files.get(gone.file_id) is None
    assert outside.read_bytes() == b"outside the data root"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A 1000-byte file beside the data root, for a planted link to point at."""
    path = tmp_path / "outside.txt"
    path.write_bytes(b"x" * 1000)
    return path


async def test_rescan_never_imports_links_odd_files_bad_names_or_the_history(
    service: Service, chat: Chat, outside: Path
) -> None:
    directory = service.chat_dir(chat)
    (directory / "link.txt").symlink_to(outside)
    os.mkfifo(directory / "pipe")
    (directory / "sub").mkdir()
    (directory / "sub" / "inner.txt").write_bytes(b"inner")
    (directory / "bad\x01name").write_bytes(b"bad")
    (directory / "history.md").write_bytes(b"# history")

    listed = await service.run.rescan_files(USER, chat.chat_id)

    assert listed == []


async def test_rescan_measures_usage_as_every_regular_file_at_any_depth(
    service: Service, chat: Chat, outside: Path
) -> None:
    await service.run.put_history(USER, chat.chat_id, chunks_of(b"# history"), None)
    await upload(service, chat, "a.txt", b"a" * 10)
    directory = service.chat_dir(chat)
    (directory / "link.txt").symlink_to(outside)
    (directory / "sub" / "deeper").mkdir(parents=True)
    (directory / "sub" / "deeper" / "inner.bin").write_bytes(b"i" * 100)
    (directory / "bad\x01name").write_bytes(b"b" * 7)
    (directory / "sandbox-output.txt").write_bytes(b"s" * 20)

    await service.run.rescan_files(USER, chat.chat_id)

    assert await service.used_bytes() == 9 + 10 + 100 + 7 + 20
    assert await service.used_bytes() == service.disk_bytes(chat.workspace_id)


async def test_rescan_the_disk_refuses_changes_no_record(service: Service) -> None:
    chat = await service.new_chat()
    stored = await upload(service, chat, "a.txt", b"aaa")
    (service.chat_dir(chat) / "b.txt").write_bytes(b"bbb")
    service.storage.fail("scan_attachments", StorageUnavailableError("I/O error"))

    with pytest.raises(StorageUnavailableError):
        await service.run.rescan_files(USER, chat.chat_id)

    assert await service.metadata.files.list_all_by_chat_id(chat.chat_id) == [stored]
    assert await service.used_bytes() == 3
