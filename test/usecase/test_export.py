"""Exports, driven through the use cases on a real data directory: each chat in the archive
is one state of it, taken under its lock, whatever changes it while the archive streams;
the manifest agrees with the bytes; nothing stays open however the export ends."""

import os
from pathlib import Path
from uuid import UUID

import pytest

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.errors import ChatNotFoundError, StorageUnavailableError, WorkspaceNotFoundError
from domain.limits import StorageLimits
from test.disk import descriptors_under
from test.export_archives import Archive
from test.usecase.service import (
    OTHER_USER,
    USER,
    Part,
    Service,
    chunks_of,
    open_service,
    parts,
    sha256,
)
from usecase.export import Export

pytestmark = pytest.mark.anyio

KIB = 1024
MIB = 1024 * KIB
ROOMY = StorageLimits(
    quota_bytes=64 * MIB, max_file_bytes=16 * MIB, max_history_bytes=4 * MIB, history_revisions=5
)
# Larger than what the archive writer gathers before it hands bytes on, so that the first
# chunk of an export comes while this file is still being read.
BIG = 3 * MIB
# Larger than the history the storage reads whole (1 MiB): read from its descriptor.
LONG_HISTORY = b"# long\n" + b"turn after turn\n" * (96 * KIB)


@pytest.fixture
async def service(tmp_path: Path, anyio_backend: str) -> Service:
    return await open_service(tmp_path / "data", ROOMY)


async def upload(service: Service, chat: Chat, name: str, data: bytes) -> ChatFile:
    (stored,) = await service.run.upload_files(
        USER, chat.chat_id, parts(Part(name, data, "application/octet-stream", 256 * KIB))
    )
    return stored


async def put_history(service: Service, chat: Chat, content: bytes) -> None:
    await service.run.put_history(USER, chat.chat_id, chunks_of(content), None)


async def append(service: Service, chat: Chat, content: bytes) -> None:
    await service.run.append_history(USER, chat.chat_id, chunks_of(content), None)


async def history_of(service: Service, chat: Chat) -> bytes:
    read = await service.run.get_history(USER, chat.chat_id, None)
    assert read.content is not None
    try:
        return b"".join([chunk async for chunk in read.content.iter_range(0, 2**62)])
    finally:
        await read.content.aclose()


async def drained(export: Export) -> bytes:
    try:
        return b"".join([chunk async for chunk in export.chunks])
    finally:
        await export.aclose()


def open_descriptors(root: Path) -> list[str]:
    """What this process holds open under the data directory's workspaces."""
    return descriptors_under(root / "workspaces")


async def test_chat_export_holds_its_history_its_attachments_and_the_manifest_last(
    service: Service, chat: Chat
) -> None:
    await put_history(service, chat, b"# Trip\n")
    first = await upload(service, chat, "notes.md", b"packing list")
    second = await upload(service, chat, "Übersicht €.csv", b"a,b\n1,2\n")

    archive = Archive(await drained(await service.run.export_chat(USER, chat.chat_id)))

    base = f"chats/{chat.chat_id}"
    assert archive.names == [
        f"{base}/history.md",
        f"{base}/files/notes.md",
        f"{base}/files/Übersicht €.csv",
        "manifest.json",
    ]
    assert archive.history(chat.chat_id) == b"# Trip\n"
    assert archive.file(chat.chat_id, "notes.md") == b"packing list"
    entry = archive.chat(chat.chat_id)
    assert [record["file_id"] for record in entry["files"]] == [
        str(first.file_id),
        str(second.file_id),
    ]
    assert archive.manifest["format"] == "chatstore-export"
    assert archive.manifest["version"] == 1
    archive.assert_agrees()


async def test_an_empty_workspace_exports_as_a_manifest_alone(service: Service) -> None:
    workspace, _ = await service.run.ensure_workspace(USER)

    export = await service.run.export_workspace(USER)
    archive = Archive(await drained(export))

    assert export.archive_id == workspace.workspace_id
    assert archive.names == ["manifest.json"]
    assert archive.manifest["chats"] == []
    assert archive.manifest["workspace"]["workspace_id"] == str(workspace.workspace_id)


async def test_workspace_export_holds_every_chat_of_the_caller_in_creation_order(
    service: Service,
) -> None:
    chats = [await service.new_chat() for _ in range(3)]
    for number, each in enumerate(chats):
        await put_history(service, each, f"chat {number}\n".encode())
    stranger = await service.new_chat(OTHER_USER)

    archive = Archive(await drained(await service.run.export_workspace(USER)))

    listed = [entry["chat"]["chat_id"] for entry in archive.manifest["chats"]]
    assert listed == [str(each.chat_id) for each in chats]
    assert str(stranger.chat_id) not in " ".join(archive.names)
    assert [archive.history(each.chat_id) for each in chats] == [
        b"chat 0\n",
        b"chat 1\n",
        b"chat 2\n",
    ]
    archive.assert_agrees()


async def test_changes_after_a_chat_export_began_are_not_in_it(
    service: Service, chat: Chat
) -> None:
    await put_history(service, chat, LONG_HISTORY)
    kept = await upload(service, chat, "kept.bin", os.urandom(BIG))
    doomed = await upload(service, chat, "doomed.txt", b"about to go")

    export = await service.run.export_chat(USER, chat.chat_id)
    await append(service, chat, b"an append after the state was taken\n")
    await upload(service, chat, "kept.bin", b"replaced after the state was taken")
    await upload(service, chat, "new.txt", b"uploaded after the state was taken")
    await service.run.delete_file(USER, chat.chat_id, doomed.file_id)
    archive = Archive(await drained(export))

    assert archive.history(chat.chat_id) == LONG_HISTORY
    entry = archive.chat(chat.chat_id)
    assert [record["file_id"] for record in entry["files"]] == [
        str(kept.file_id),
        str(doomed.file_id),
    ]
    assert sha256(archive.file(chat.chat_id, "kept.bin")) == kept.sha256
    assert archive.file(chat.chat_id, "doomed.txt") == b"about to go"
    archive.assert_agrees()


async def test_a_workspace_export_takes_each_chat_when_it_reaches_it(service: Service) -> None:
    first, second = await service.new_chat(), await service.new_chat()
    await put_history(service, first, b"first, before\n")
    big = await upload(service, first, "big.bin", os.urandom(BIG))
    await put_history(service, second, b"second, before\n")

    export = await service.run.export_workspace(USER)
    chunks = [await anext(export.chunks)]  # the first chat's state is taken and streaming
    await append(service, first, b"first, after\n")
    await upload(service, first, "big.bin", b"small now")
    await append(service, second, b"second, after\n")
    await upload(service, second, "late.txt", b"in time for the archive")
    chunks += [chunk async for chunk in export.chunks]
    await export.aclose()
    archive = Archive(b"".join(chunks))

    assert archive.history(first.chat_id) == b"first, before\n"
    assert sha256(archive.file(first.chat_id, "big.bin")) == big.sha256
    assert archive.history(second.chat_id) == b"second, before\nsecond, after\n"
    assert archive.file(second.chat_id, "late.txt") == b"in time for the archive"
    archive.assert_agrees()


async def test_a_chat_deleted_before_the_export_reaches_it_is_left_out(service: Service) -> None:
    first, second = await service.new_chat(), await service.new_chat()
    await upload(service, first, "big.bin", os.urandom(BIG))

    export = await service.run.export_workspace(USER)
    chunks = [await anext(export.chunks)]
    await service.run.delete_chat(USER, second.chat_id)
    chunks += [chunk async for chunk in export.chunks]
    await export.aclose()
    archive = Archive(b"".join(chunks))

    assert [entry["chat"]["chat_id"] for entry in archive.manifest["chats"]] == [str(first.chat_id)]
    archive.assert_agrees()


async def test_a_record_whose_file_a_sandbox_removed_or_replaced_by_a_link_is_left_out(
    service: Service, chat: Chat, outside_dir: Path
) -> None:
    await upload(service, chat, "gone.txt", b"removed by the sandbox")
    await upload(service, chat, "linked.txt", b"replaced by a link")
    await upload(service, chat, "stays.txt", b"untouched")
    secret = outside_dir / "secret.txt"
    secret.write_bytes(b"never to be read")
    (service.chat_dir(chat) / "gone.txt").unlink()
    (service.chat_dir(chat) / "linked.txt").unlink()
    (service.chat_dir(chat) / "linked.txt").symlink_to(secret)

    archive = Archive(await drained(await service.run.export_chat(USER, chat.chat_id)))

    assert [record["name"] for record in archive.chat(chat.chat_id)["files"]] == ["stays.txt"]
    assert b"never to be read" not in b"".join(archive.zip.read(name) for name in archive.names)
    archive.assert_agrees()


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(b"same size, new bytes!!", id="same-size"),
        pytest.param(b"a sandbox rewrote this file, longer", id="other-size"),
    ],
)
async def test_an_attachment_a_sandbox_changed_in_place_goes_out_as_it_is_on_disk(
    service: Service, chat: Chat, changed: bytes
) -> None:
    stored = await upload(service, chat, "draft.txt", b"as uploaded, 22 bytes!")
    (service.chat_dir(chat) / "draft.txt").write_bytes(changed)

    archive = Archive(await drained(await service.run.export_chat(USER, chat.chat_id)))

    (record,) = archive.chat(chat.chat_id)["files"]
    assert archive.file(chat.chat_id, "draft.txt") == changed
    assert record["file_id"] == str(stored.file_id)
    assert (record["size_bytes"], record["sha256"]) == (len(changed), sha256(changed))
    archive.assert_agrees()
    # An export reads: the record stays as it was until a rescan.
    assert await service.run.get_file(USER, chat.chat_id, stored.file_id) == stored


async def test_a_history_a_sandbox_changed_is_exported_and_recorded_as_a_revision(
    service: Service, chat: Chat
) -> None:
    await put_history(service, chat, b"# by the service\n")
    (service.chat_dir(chat) / "history.md").write_bytes(b"# by the sandbox\n")

    archive = Archive(await drained(await service.run.export_chat(USER, chat.chat_id)))

    assert archive.history(chat.chat_id) == b"# by the sandbox\n"
    # Read from the store itself: listing the revisions would record the change too.
    newest = (await service.metadata.revisions.list_newest_first(chat.chat_id, 1, None))[0]
    assert (newest.revision, newest.source.value) == (2, "sandbox")
    assert newest.size_bytes == len(b"# by the sandbox\n")


async def test_what_a_crash_left_on_the_chat_is_settled_before_its_state_is_taken(
    service: Service, chat: Chat
) -> None:
    # An upload killed between its rename and its record: the bytes are in place, the
    # record only noted with the chat's mark.
    noted = ChatFile(
        file_id=service.ids.new_id(),
        chat_id=chat.chat_id,
        name=(await upload(service, chat, "placeholder.txt", b"x")).name,
        content_type="text/plain",
        size_bytes=len(b"renamed in, never recorded"),
        sha256=sha256(b"renamed in, never recorded"),
        created_at=service.clock.now(),
    )
    (service.chat_dir(chat) / "placeholder.txt").write_bytes(b"renamed in, never recorded")
    await service.storage.mark_unsettled(chat.workspace_id, chat.chat_id, [noted])

    archive = Archive(await drained(await service.run.export_chat(USER, chat.chat_id)))

    (record,) = archive.chat(chat.chat_id)["files"]
    assert record["file_id"] == str(noted.file_id)
    assert record["content_type"] == "text/plain"
    archive.assert_agrees()


@pytest.mark.parametrize("read_before_closing", [0, 1], ids=["before-the-first-byte", "midway"])
async def test_closing_an_export_early_closes_every_descriptor_it_opened(
    service: Service, chat: Chat, read_before_closing: int
) -> None:
    await put_history(service, chat, LONG_HISTORY)
    for number in range(5):
        await upload(service, chat, f"file-{number}.bin", os.urandom(BIG // 2))

    export = await service.run.export_chat(USER, chat.chat_id)
    assert len(open_descriptors(service.root)) == 6  # the history and five attachments
    for _ in range(read_before_closing):
        await anext(export.chunks)
    await export.aclose()

    assert open_descriptors(service.root) == []


async def test_a_disk_failing_mid_export_closes_every_descriptor(
    service: Service, chat: Chat
) -> None:
    await upload(service, chat, "big.bin", os.urandom(BIG))
    second = await service.new_chat()
    await put_history(service, second, LONG_HISTORY)  # opened before the failing call
    await upload(service, second, "other.bin", b"never reached")
    service.storage.fail("open_attachments", StorageUnavailableError("the disk"), after_calls=1)

    export = await service.run.export_workspace(USER)
    with pytest.raises(StorageUnavailableError):
        async for _ in export.chunks:
            pass
    assert [Path(held).name for held in open_descriptors(service.root)] == ["history.md"]
    await export.aclose()

    assert open_descriptors(service.root) == []


async def test_a_disk_failing_while_the_state_is_taken_refuses_the_export_and_closes_all(
    service: Service, chat: Chat
) -> None:
    await put_history(service, chat, LONG_HISTORY)
    await upload(service, chat, "a.bin", b"a")
    service.storage.fail("open_attachments", StorageUnavailableError("the disk failed"))

    with pytest.raises(StorageUnavailableError):
        await service.run.export_chat(USER, chat.chat_id)

    assert open_descriptors(service.root) == []


async def test_another_users_chat_is_not_found_and_no_workspace_is_refused(
    service: Service, chat: Chat
) -> None:
    await service.run.ensure_workspace(OTHER_USER)

    with pytest.raises(ChatNotFoundError):
        await service.run.export_chat(OTHER_USER, chat.chat_id)
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.export_workspace(UUID(int=7))
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.export_chat(UUID(int=7), chat.chat_id)
