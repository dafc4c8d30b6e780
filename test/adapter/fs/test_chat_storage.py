import asyncio
import gc
import hashlib
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import anyio
import pytest

from adapter.fs.chat_storage import FilesystemChatStorage
from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile
from domain.errors import ChatFileNotFoundError, FileTooLargeError, StorageUnavailableError
from domain.history import HistoryVersion
from test.adapter.fs.cut_short import cut_short, mark_renamed
from test.disk import staged_files
from test.planted import PLANTERS, Planter, plant_directory, plant_socket
from usecase.ports.chat_bytes import ContentReader
from usecase.ports.staging import StagedContent

WORKSPACE_ID = UUID("00000000-0000-4000-8000-00000000000a")
CHAT_ID = UUID("00000000-0000-4000-8000-00000000000c")
NAME = ChatAttachmentName("notes.txt")
MIB = 1024 * 1024
TIB = 1024 * 1024 * MIB
# What the scans of these tests may read of one file: more than any file they plant but one.
SCAN_BOUND = 4096
EMPTY_VERSION = HistoryVersion(hashlib.sha256(b"").hexdigest(), 0)
OUTSIDE_BYTES = b"secret outside the data data_dir"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chat_path(data_dir: Path) -> Path:
    return data_dir / "workspaces" / str(WORKSPACE_ID) / "chats" / str(CHAT_ID)


def directory_names(path: Path) -> list[str]:
    return sorted(entry.name for entry in path.iterdir())


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def committed(
    storage: FilesystemChatStorage, *files: tuple[ChatAttachmentName, bytes]
) -> list[int]:
    """Stages each file's bytes, then commits them all as one upload: what each replaced."""
    items = [(name, await storage.stage(chunks_of(data))) for name, data in files]
    return await storage.commit_attachments(WORKSPACE_ID, CHAT_ID, items)


async def read_all(reader: ContentReader, start: int = 0, end: int | None = None) -> bytes:
    last = reader.size_bytes - 1 if end is None else end
    return b"".join([chunk async for chunk in reader.iter_range(start, last)])


async def read_and_close(reader: ContentReader) -> bytes:
    try:
        return await read_all(reader)
    finally:
        await reader.aclose()


@pytest.fixture
def outside(outside_dir: Path) -> Path:
    """A file beside the data data_dir that nothing may read or change."""
    path = outside_dir / "outside.txt"
    path.write_bytes(OUTSIDE_BYTES)
    return path


def is_untouched(outside: Path) -> bool:
    return outside.read_bytes() == OUTSIDE_BYTES


@pytest.fixture
async def storage(data_dir: Path, anyio_backend: str) -> FilesystemChatStorage:
    prepared = FilesystemChatStorage(data_dir)
    await prepared.prepare()
    return prepared


@pytest.fixture
async def chat(storage: FilesystemChatStorage, data_dir: Path) -> Path:
    await storage.ensure_chat(WORKSPACE_ID, CHAT_ID)
    return chat_path(data_dir)


async def test_ensure_chat_creates_the_layout_with_an_empty_history(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    await storage.ensure_chat(WORKSPACE_ID, CHAT_ID)

    assert directory_names(data_dir) == ["staging", "trash", "workspaces"]
    assert directory_names(chat_path(data_dir)) == ["history.md"]
    assert (chat_path(data_dir) / "history.md").read_bytes() == b""


async def test_ensure_chat_keeps_an_existing_chat_as_it_is(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / "history.md").write_bytes(b"# hello")

    await storage.ensure_chat(WORKSPACE_ID, CHAT_ID)

    assert (chat / "history.md").read_bytes() == b"# hello"


async def test_staged_bytes_commit_with_their_size_and_sha256(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path
) -> None:
    parts = [os.urandom(700 * 1024) for _ in range(3)] + [b"tail"]
    data = b"".join(parts)

    staged = await storage.stage(chunks_of(*parts))
    freed = (await storage.commit_attachments(WORKSPACE_ID, CHAT_ID, [(NAME, staged)]))[0]

    assert (staged.size_bytes, staged.sha256) == (len(data), sha256(data))
    assert freed == 0
    assert (chat / NAME.value).read_bytes() == data
    assert staged_files(data_dir) == []
    reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)
    assert reader.size_bytes == len(data)
    assert await read_and_close(reader) == data


async def test_staging_an_empty_stream_gives_empty_content(
    storage: FilesystemChatStorage,
) -> None:
    staged = await storage.stage(chunks_of())

    assert (staged.size_bytes, staged.sha256) == (0, sha256(b""))
    await storage.discard(staged)


async def test_stage_removes_its_file_and_reraises_when_the_chunks_raise(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    async def too_long() -> AsyncIterator[bytes]:
        yield b"x" * (2 * MIB)
        raise FileTooLargeError("over the limit")

    with pytest.raises(FileTooLargeError):
        await storage.stage(too_long())

    assert staged_files(data_dir) == []


async def test_stage_removes_its_file_when_cancelled_mid_upload(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    written = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"x" * (2 * MIB)
        written.set()  # asked for more, so the first buffer has been written
        await asyncio.Event().wait()
        yield b"never"

    upload = asyncio.create_task(storage.stage(stalled()))
    await written.wait()
    assert len(staged_files(data_dir)) == 1
    upload.cancel()

    with pytest.raises(asyncio.CancelledError):
        await upload
    assert staged_files(data_dir) == []


async def test_discard_removes_the_staged_file_and_then_is_a_no_op(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    staged = await storage.stage(chunks_of(b"draft"))
    assert staged_files(data_dir) == [staged.token]

    await storage.discard(staged)
    await storage.discard(staged)

    assert staged_files(data_dir) == []


async def test_commit_replaces_the_attachment_and_returns_the_old_size(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    await committed(storage, (NAME, b"first version"))

    freed = (await committed(storage, (NAME, b"second")))[0]

    assert freed == len(b"first version")
    assert (chat / NAME.value).read_bytes() == b"second"


async def test_commit_recreates_a_chat_directory_that_is_missing(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    await committed(storage, (NAME, b"data"))

    assert directory_names(chat_path(data_dir)) == ["history.md", NAME.value]


async def test_commit_onto_a_planted_directory_fails_and_removes_the_staged_file(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path
) -> None:
    plant_directory(chat / NAME.value, data_dir)

    with pytest.raises(StorageUnavailableError, match="directory"):
        await committed(storage, (NAME, b"uploaded"))

    assert (chat / NAME.value / "inner.txt").read_bytes() == b"inner"
    assert staged_files(data_dir) == []


async def test_a_failed_commit_of_several_files_puts_back_what_the_earlier_ones_replaced(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path
) -> None:
    await committed(storage, (NAME, b"old notes"))
    blocked = ChatAttachmentName("blocked.txt")
    plant_directory(chat / blocked.value, data_dir)
    fresh = ChatAttachmentName("fresh.txt")

    with pytest.raises(StorageUnavailableError, match="directory"):
        await committed(storage, (NAME, b"new notes"), (fresh, b"fresh"), (blocked, b"never lands"))

    assert (chat / NAME.value).read_bytes() == b"old notes"
    assert not (chat / fresh.value).exists()
    assert (chat / blocked.value / "inner.txt").read_bytes() == b"inner"
    assert staged_files(data_dir) == []


async def test_commit_of_several_files_returns_what_each_replaced(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path
) -> None:
    await committed(storage, (NAME, b"12345"))
    other = ChatAttachmentName("other.txt")

    assert await committed(storage, (other, b"o"), (NAME, b"n")) == [0, 5]
    assert staged_files(data_dir) == []


@pytest.mark.parametrize("plant", PLANTERS)
async def test_open_attachment_answers_a_planted_non_regular_file_as_missing(
    storage: FilesystemChatStorage,
    chat: Path,
    outside: Path,
    plant: Planter,
) -> None:
    plant(chat / NAME.value, outside)

    with pytest.raises(ChatFileNotFoundError):
        await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)


async def test_open_attachment_of_a_chat_without_a_directory_is_not_found(
    storage: FilesystemChatStorage,
) -> None:
    with pytest.raises(ChatFileNotFoundError):
        await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)


async def test_reader_stops_at_the_size_seen_at_open_when_the_file_grows(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / NAME.value).write_bytes(b"0123456789")
    reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)
    with (chat / NAME.value).open("ab") as grown:
        grown.write(b"appended later")

    assert await read_all(reader, 0, 10_000) == b"0123456789"
    await reader.aclose()


async def test_reader_ends_early_without_error_when_the_file_shrinks(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / NAME.value).write_bytes(b"0123456789")
    reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)
    os.truncate(chat / NAME.value, 4)

    assert await read_and_close(reader) == b"0123"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(0, 0, id="first-byte"),
        pytest.param(5, 9, id="middle"),
        pytest.param(MIB - 3, MIB + 3, id="across-a-chunk-boundary"),
        pytest.param(2 * MIB, 3 * MIB, id="tail-past-the-end"),
        pytest.param(7, 6, id="empty"),
    ],
)
async def test_iter_range_serves_the_inclusive_range_within_the_file(
    storage: FilesystemChatStorage, chat: Path, start: int, end: int
) -> None:
    data = os.urandom(2 * MIB + 100)
    (chat / NAME.value).write_bytes(data)
    reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)

    chunks = [chunk async for chunk in reader.iter_range(start, end)]
    await reader.aclose()

    assert b"".join(chunks) == data[start : end + 1]
    assert all(0 < len(chunk) <= MIB for chunk in chunks)


async def test_reader_refuses_to_read_after_it_is_closed(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / NAME.value).write_bytes(b"data")
    reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)
    await reader.aclose()
    await reader.aclose()

    with pytest.raises(ValueError, match="closed"):
        await read_all(reader)


async def test_history_of_a_chat_without_a_directory_is_empty(
    storage: FilesystemChatStorage,
) -> None:
    version, reader = await storage.open_history(WORKSPACE_ID, CHAT_ID)

    assert version == EMPTY_VERSION
    assert await storage.history_version(WORKSPACE_ID, CHAT_ID) == EMPTY_VERSION
    assert await read_and_close(reader) == b""


@pytest.mark.parametrize(
    "size", [pytest.param(100, id="small"), pytest.param(MIB + 100, id="large")]
)
async def test_open_history_serves_the_version_it_names_even_once_replaced(
    storage: FilesystemChatStorage, chat: Path, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    (chat / "history.md").write_bytes(data)

    version, reader = await storage.open_history(WORKSPACE_ID, CHAT_ID)
    (tmp_path / "newer.md").write_bytes(b"newer")
    (tmp_path / "newer.md").replace(chat / "history.md")

    assert version == HistoryVersion(sha256(data), size)
    assert reader.size_bytes == size
    assert await read_and_close(reader) == data
    newer = await storage.history_version(WORKSPACE_ID, CHAT_ID)
    assert newer == HistoryVersion(sha256(b"newer"), 5)


async def test_history_staged_without_fsync_is_written_whole(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path
) -> None:
    staged = await storage.stage(chunks_of(b"# not yet durable"), durable=False)

    await storage.write_history(WORKSPACE_ID, CHAT_ID, staged)

    assert (chat / "history.md").read_bytes() == b"# not yet durable"
    assert staged_files(data_dir) == []


@pytest.mark.parametrize("plant", PLANTERS)
async def test_a_planted_non_regular_history_reads_as_empty(
    storage: FilesystemChatStorage,
    chat: Path,
    outside: Path,
    plant: Planter,
) -> None:
    (chat / "history.md").unlink()
    plant(chat / "history.md", outside)

    version, reader = await storage.open_history(WORKSPACE_ID, CHAT_ID)

    assert version == EMPTY_VERSION
    assert await read_and_close(reader) == b""
    assert await storage.history_version(WORKSPACE_ID, CHAT_ID) == EMPTY_VERSION


async def test_write_history_replaces_the_history_and_returns_the_old_size(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / "history.md").write_bytes(b"old")
    staged = await storage.stage(chunks_of(b"# new ", b"history"))

    freed = await storage.write_history(WORKSPACE_ID, CHAT_ID, staged)

    assert freed == 3
    version = await storage.history_version(WORKSPACE_ID, CHAT_ID)
    assert version == HistoryVersion(sha256(b"# new history"), 13)


async def commit_notes(storage: FilesystemChatStorage, data: bytes) -> int:
    return (await committed(storage, (NAME, data)))[0]


async def write_the_history(storage: FilesystemChatStorage, data: bytes) -> int:
    return await storage.write_history(WORKSPACE_ID, CHAT_ID, await storage.stage(chunks_of(data)))


@pytest.mark.parametrize(
    ("name", "write", "data"),
    [
        pytest.param(NAME.value, commit_notes, b"uploaded", id="attachment-commit"),
        pytest.param("history.md", write_the_history, b"history", id="history-write"),
    ],
)
async def test_writing_onto_a_planted_symlink_replaces_the_link_and_leaves_its_target(
    storage: FilesystemChatStorage,
    chat: Path,
    outside: Path,
    name: str,
    write: Callable[[FilesystemChatStorage, bytes], Awaitable[int]],
    data: bytes,
) -> None:
    (chat / name).unlink(missing_ok=True)
    (chat / name).symlink_to(outside)

    freed = await write(storage, data)

    assert freed == 0
    assert not (chat / name).is_symlink()
    assert (chat / name).read_bytes() == data
    assert is_untouched(outside)


async def test_delete_attachment_removes_the_file_and_returns_the_bytes_freed(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / NAME.value).write_bytes(b"12345")

    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == 5
    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == 0
    assert directory_names(chat) == ["history.md"]


async def test_delete_attachment_removes_a_symlink_but_never_its_target(
    storage: FilesystemChatStorage, chat: Path, outside: Path
) -> None:
    (chat / NAME.value).symlink_to(outside)

    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == 0
    assert directory_names(chat) == ["history.md"]
    assert is_untouched(outside)


async def test_delete_attachment_leaves_a_planted_directory_alone(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path
) -> None:
    plant_directory(chat / NAME.value, data_dir)

    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == 0
    assert (chat / NAME.value / "inner.txt").read_bytes() == b"inner"


async def test_delete_attachment_of_a_chat_without_a_directory_frees_nothing(
    storage: FilesystemChatStorage,
) -> None:
    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == 0


async def test_scan_lists_regular_attachments_by_name_and_skips_everything_else(
    storage: FilesystemChatStorage, chat: Path, outside: Path
) -> None:
    (chat / "b.txt").write_bytes(b"bee")
    (chat / "a.txt").write_bytes(b"")
    (chat / "history.md").write_bytes(b"not an attachment")
    (chat / "a\x01b").write_bytes(b"control character")
    (chat / os.fsdecode(b"\xff.txt")).write_bytes(b"not UTF-8")
    (chat / "link").symlink_to(outside)
    os.mkfifo(chat / "fifo")
    plant_directory(chat / "dir", outside)
    plant_socket(chat / "socket", outside)

    scanned = await storage.scan_attachments(WORKSPACE_ID, CHAT_ID, SCAN_BOUND)

    assert [(item.name.value, item.size_bytes, item.sha256) for item in scanned] == [
        ("a.txt", 0, sha256(b"")),
        ("b.txt", 3, sha256(b"bee")),
    ]


async def test_scan_leaves_out_a_file_over_the_bound_without_reading_it(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / "fits.bin").write_bytes(b"f" * SCAN_BOUND)
    with (chat / "huge.bin").open("wb") as huge:
        huge.truncate(TIB)  # sparse: hashing it whole would take many minutes

    with anyio.fail_after(10):
        scanned = await storage.scan_attachments(WORKSPACE_ID, CHAT_ID, SCAN_BOUND)

    assert [(item.name.value, item.size_bytes) for item in scanned] == [("fits.bin", SCAN_BOUND)]


async def test_scan_of_a_chat_without_a_directory_is_empty(
    storage: FilesystemChatStorage,
) -> None:
    assert await storage.scan_attachments(WORKSPACE_ID, CHAT_ID, SCAN_BOUND) == []


async def test_delete_chat_removes_the_directory_without_following_links(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path, outside_dir: Path, outside: Path
) -> None:
    (outside_dir / "kept.txt").write_bytes(b"kept")
    (chat / "linked-dir").symlink_to(outside_dir)
    (chat / "linked-file").symlink_to(outside)
    plant_directory(chat / "nested", outside)

    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)
    assert directory_names(chat.parent) == []
    await storage.purge_chat(CHAT_ID)

    assert directory_names(chat.parent) == []
    assert directory_names(data_dir / "trash") == []
    assert (outside_dir / "kept.txt").read_bytes() == b"kept"
    assert is_untouched(outside)


async def test_delete_chat_of_a_chat_without_a_directory_is_a_no_op(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)

    assert directory_names(data_dir / "trash") == []


def noted_record(name: str, data: bytes) -> ChatFile:
    return ChatFile(
        file_id=uuid4(),
        chat_id=CHAT_ID,
        name=ChatAttachmentName(name),
        content_type=None,
        size_bytes=len(data),
        sha256=sha256(data),
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
    )


async def crashed_mid_upload(
    storage: FilesystemChatStorage, data_dir: Path, tmp_path: Path, renamed: int
) -> list[ChatFile]:
    """A chat with "notes.txt", then an upload of it and "fresh.txt" that noted its
    records and died after `renamed` of its renames; returns the noted records."""
    await committed(storage, (NAME, b"old notes"))
    files = {NAME.value: b"new notes", "fresh.txt": b"fresh"}
    noted = [noted_record(name, data) for name, data in files.items()]
    await storage.mark_unsettled(WORKSPACE_ID, CHAT_ID)
    await storage.note_pending_files(WORKSPACE_ID, CHAT_ID, noted)
    staging = tmp_path / "dead-staging"
    staging.mkdir()
    pairs = []
    for name, data in files.items():
        (staging / f"{name}.tmp").write_bytes(data)
        pairs.append((name, f"{name}.tmp"))
    cut_short(
        chat_path(data_dir),
        staging,
        data_dir / "unsettled",
        journal_of(data_dir).name,
        pairs,
        renamed,
    )
    return noted


def journal_of(data_dir: Path) -> Path:
    return data_dir / "unsettled" / f"{WORKSPACE_ID}_{CHAT_ID}.commit"


@pytest.mark.parametrize("renamed", [0, 1, 2], ids=lambda k: f"{k} renamed")
async def test_pending_files_first_undoes_a_multi_file_commit_a_crash_cut_short(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path, tmp_path: Path, renamed: int
) -> None:
    await crashed_mid_upload(storage, data_dir, tmp_path, renamed)

    assert await storage.unsettled_chats() == [(WORKSPACE_ID, CHAT_ID)]
    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == []
    assert directory_names(chat) == ["history.md", NAME.value]
    assert (chat / NAME.value).read_bytes() == b"old notes"
    assert not journal_of(data_dir).exists()


async def test_pending_files_of_a_commit_that_had_done_its_renames_are_its_noted_records(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path, tmp_path: Path
) -> None:
    noted = await crashed_mid_upload(storage, data_dir, tmp_path, renamed=2)
    mark_renamed(journal_of(data_dir))

    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == noted
    assert (chat / NAME.value).read_bytes() == b"new notes"
    assert (chat / "fresh.txt").read_bytes() == b"fresh"
    assert not journal_of(data_dir).exists()


async def test_a_commit_journal_alone_marks_its_chat_unsettled_and_goes_with_the_chat(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path, tmp_path: Path
) -> None:
    await crashed_mid_upload(storage, data_dir, tmp_path, renamed=1)
    await storage.mark_settled(WORKSPACE_ID, CHAT_ID)

    assert await storage.unsettled_chats() == [(WORKSPACE_ID, CHAT_ID)]
    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)

    assert await storage.unsettled_chats() == []
    assert directory_names(chat.parent) == []


async def test_prepare_clears_what_a_previous_run_left_in_staging_and_trash(
    storage: FilesystemChatStorage, chat: Path, data_dir: Path, outside_dir: Path
) -> None:
    (outside_dir / "kept.txt").write_bytes(b"kept")
    (data_dir / "staging" / "left.tmp").write_bytes(b"partial upload")
    plant_directory(data_dir / "trash" / "old-chat", data_dir)
    (data_dir / "trash" / "old-chat" / "link").symlink_to(outside_dir)
    (data_dir / "trash" / "link").symlink_to(outside_dir)

    await FilesystemChatStorage(data_dir).prepare()

    assert staged_files(data_dir) == []
    assert directory_names(data_dir / "trash") == []
    assert (outside_dir / "kept.txt").read_bytes() == b"kept"
    assert directory_names(chat) == ["history.md"]


async def test_prepare_creates_private_staging_and_trash(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    for name in ("staging", "trash"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) & 0o077 == 0


async def test_check_writable_passes_on_a_prepared_root_and_leaves_nothing(
    storage: FilesystemChatStorage, data_dir: Path
) -> None:
    await storage.check_writable()

    assert staged_files(data_dir) == []


async def test_check_writable_raises_when_the_root_was_never_prepared(
    tmp_path: Path, anyio_backend: str
) -> None:
    with pytest.raises(StorageUnavailableError):
        await FilesystemChatStorage(tmp_path / "missing").check_writable()


@pytest.mark.parametrize("token", ["../x", "..", ".", "a/b", "", "history.md", "/etc/passwd"])
async def test_tokens_that_are_not_staging_file_names_are_refused(
    storage: FilesystemChatStorage, chat: Path, token: str
) -> None:
    forged = StagedContent(token, 0, sha256(b""))

    with pytest.raises(ValueError, match="staging token"):
        await storage.discard(forged)
    with pytest.raises(ValueError, match="staging token"):
        await storage.commit_attachments(WORKSPACE_ID, CHAT_ID, [(NAME, forged)])
    with pytest.raises(ValueError, match="staging token"):
        await storage.write_history(WORKSPACE_ID, CHAT_ID, forged)
    assert directory_names(chat) == ["history.md"]


def open_descriptor_count() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


async def test_every_operation_closes_the_descriptors_it_opens(
    storage: FilesystemChatStorage, chat: Path, outside: Path
) -> None:
    os.mkfifo(chat / "fifo")
    (chat / "link").symlink_to(outside)
    (chat / "history.md").write_bytes(b"h" * (MIB + 1))
    before = open_descriptor_count()

    staged = await storage.stage(chunks_of(b"data", b"more"))
    await storage.commit_attachments(WORKSPACE_ID, CHAT_ID, [(NAME, staged)])
    await read_and_close(await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME))
    for planted in ("fifo", "link"):
        with pytest.raises(ChatFileNotFoundError):
            await storage.open_attachment(WORKSPACE_ID, CHAT_ID, ChatAttachmentName(planted))
    _, reader = await storage.open_history(WORKSPACE_ID, CHAT_ID)
    await read_and_close(reader)
    await storage.history_version(WORKSPACE_ID, CHAT_ID)
    await storage.scan_attachments(WORKSPACE_ID, CHAT_ID, SCAN_BOUND)
    await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME)
    await storage.check_writable()
    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)

    assert open_descriptor_count() == before


async def test_a_reader_nobody_closed_releases_its_descriptor_when_collected(
    storage: FilesystemChatStorage, chat: Path
) -> None:
    (chat / NAME.value).write_bytes(b"data")
    before = open_descriptor_count()

    reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)
    assert open_descriptor_count() == before + 1
    del reader
    await asyncio.sleep(0)  # lets the loop drop the finished future that held the reader
    gc.collect()

    assert open_descriptor_count() == before
