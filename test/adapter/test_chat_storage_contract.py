"""The ChatStorage contract (usecase/ports/chat_bytes.py, staging.py, crash_journal.py), run
on every implementation, through the port's methods only.

A factory in STORAGE_FACTORIES gets a fresh scratch directory and returns a StorageUnderTest:
a prepared storage holding no chat, and the two views no port method gives: the directory a
sandbox mounts for a chat (where tests plant files, links and FIFOs as a sandbox would), and
how many staged files wait in the staging area. A new implementation, or the filesystem one
on another filesystem, joins by adding `pytest.param(factory, id=...)`: issue 14's instances
on JuiceFS, for example, add a factory that builds a FilesystemChatStorage on the FUSE mount
(and calls `pytest.skip` when no mount is available).

What only a crash can show (a commit cut short and rolled back by `pending_files`, `prepare`
clearing a dead run's staging and trash) needs the layout on disk: test/adapter/fs/ has it.
"""

import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from adapter.fs.chat_storage import FilesystemChatStorage
from adapter.fs.layout import chat_dir_names
from domain.attachment_name import HISTORY_FILE_NAME, ChatAttachmentName
from domain.errors import ChatFileNotFoundError, StorageError
from domain.history import HistoryVersion
from test.disk import staged_files
from test.fakes import FaultyChatStorage
from test.planted import PLANTERS, Planter, plant_directory
from usecase.ports.chat_bytes import ChatStorage, ContentReader
from usecase.ports.staging import StagedContent

pytestmark = pytest.mark.anyio


@dataclass(frozen=True, slots=True)
class StorageUnderTest:
    storage: ChatStorage
    # The directory a sandbox mounts read-write for (workspace_id, chat_id).
    sandbox_dir: Callable[[UUID, UUID], Path]
    # How many staged files wait in the staging area, committed or discarded by nobody yet.
    staged_count: Callable[[], int]


StorageFactory = Callable[[Path], Awaitable[StorageUnderTest]]


async def filesystem_storage(scratch_dir: Path) -> StorageUnderTest:
    root = scratch_dir / "data"
    storage = FilesystemChatStorage(root)
    await storage.prepare()
    return StorageUnderTest(
        storage,
        sandbox_dir=lambda workspace_id, chat_id: root.joinpath(
            *chat_dir_names(workspace_id, chat_id)
        ),
        staged_count=lambda: len(staged_files(root)),
    )


async def healthy_faulty_storage(scratch_dir: Path) -> StorageUnderTest:
    """The use-case tests' fault-injecting wrapper, told of no fault: it must keep every
    promise of what it wraps."""
    wrapped = await filesystem_storage(scratch_dir)
    return replace(wrapped, storage=FaultyChatStorage(wrapped.storage))


STORAGE_FACTORIES = [
    pytest.param(filesystem_storage, id="filesystem"),
    pytest.param(healthy_faulty_storage, id="faulty-but-healthy"),
]

WORKSPACE_ID = UUID("00000000-0000-4000-8000-00000000000a")
CHAT_ID = UUID("00000000-0000-4000-8000-00000000000c")
OTHER_CHAT_ID = UUID("00000000-0000-4000-8000-00000000000d")
NAME = ChatAttachmentName("notes.txt")
MIB = 1024 * 1024
# What the scans below may read of one file: more than any file they plant but one.
SCAN_BOUND = 4096
OUTSIDE_BYTES = b"secret outside the data root"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_of(data: bytes) -> HistoryVersion:
    return HistoryVersion(sha256(data), len(data))


EMPTY_HISTORY = version_of(b"")
# A planted directory under a name cannot be written over without deleting it, which
# nothing may do; every other planted entry is replaced like a missing file.
REPLACEABLE_PLANTERS = [planter for planter in PLANTERS if planter.id != "directory"]


@pytest.fixture(params=STORAGE_FACTORIES)
async def subject(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> StorageUnderTest:
    factory: StorageFactory = request.param
    return await factory(tmp_path)


@pytest.fixture
async def storage(subject: StorageUnderTest) -> ChatStorage:
    """The storage, holding the chat CHAT_ID with its empty history."""
    await subject.storage.ensure_chat(WORKSPACE_ID, CHAT_ID)
    return subject.storage


@pytest.fixture
def sandbox(subject: StorageUnderTest, storage: ChatStorage) -> Path:
    return subject.sandbox_dir(WORKSPACE_ID, CHAT_ID)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file beside the storage that nothing may read or change."""
    path = tmp_path / "outside.txt"
    path.write_bytes(OUTSIDE_BYTES)
    return path


def is_untouched(outside: Path) -> bool:
    return outside.read_bytes() == OUTSIDE_BYTES


def read_inner(planted_directory: Path) -> bytes:
    """What `plant_directory` left inside the directory it planted."""
    return (planted_directory / "inner.txt").read_bytes()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def stage(storage: ChatStorage, data: bytes) -> StagedContent:
    return await storage.stage(chunks_of(data))


async def write(storage: ChatStorage, name: str, data: bytes, chat_id: UUID = CHAT_ID) -> int:
    """Stage `data` and make it the chat's history or its attachment `name`; returns the
    size replaced."""
    staged = await stage(storage, data)
    if name == HISTORY_FILE_NAME:
        return await storage.write_history(WORKSPACE_ID, chat_id, staged)
    items = [(ChatAttachmentName(name), staged)]
    return (await storage.commit_attachments(WORKSPACE_ID, chat_id, items))[0]


async def read_all(reader: ContentReader, start: int, end: int) -> bytes:
    return b"".join([chunk async for chunk in reader.iter_range(start, end)])


async def read_and_close(reader: ContentReader) -> bytes:
    """Everything the reader serves, asked for well past its end: it stops at its size."""
    try:
        return await read_all(reader, 0, reader.size_bytes + MIB)
    finally:
        await reader.aclose()


async def history_bytes(storage: ChatStorage, chat_id: UUID = CHAT_ID) -> bytes:
    version, reader = await storage.open_history(WORKSPACE_ID, chat_id)
    data = await read_and_close(reader)
    assert version == version_of(data)
    return data


async def attachment_bytes(storage: ChatStorage, name: ChatAttachmentName) -> bytes:
    return await read_and_close(await storage.open_attachment(WORKSPACE_ID, CHAT_ID, name))


async def shown(storage: ChatStorage, chat_id: UUID = CHAT_ID) -> dict[str, bytes]:
    """Everything the chat shows through the port: its history and each scanned attachment."""
    found = {HISTORY_FILE_NAME: await history_bytes(storage, chat_id)}
    for scanned in await storage.scan_attachments(WORKSPACE_ID, chat_id, SCAN_BOUND):
        reader = await storage.open_attachment(WORKSPACE_ID, chat_id, scanned.name)
        data = found[scanned.name.value] = await read_and_close(reader)
        assert (scanned.size_bytes, scanned.sha256) == (len(data), sha256(data))
    return found


async def test_ensure_chat_makes_an_empty_history_and_keeps_a_chat_that_exists(
    storage: ChatStorage,
) -> None:
    assert await storage.history_version(WORKSPACE_ID, CHAT_ID) == EMPTY_HISTORY
    assert await shown(storage) == {HISTORY_FILE_NAME: b""}
    await write(storage, HISTORY_FILE_NAME, b"# hello")
    await write(storage, NAME.value, b"notes")

    await storage.ensure_chat(WORKSPACE_ID, CHAT_ID)

    assert await shown(storage) == {HISTORY_FILE_NAME: b"# hello", NAME.value: b"notes"}


async def assert_holds_no_bytes(storage: ChatStorage, chat_id: UUID) -> None:
    assert await storage.history_version(WORKSPACE_ID, chat_id) == EMPTY_HISTORY
    assert await shown(storage, chat_id) == {HISTORY_FILE_NAME: b""}
    with pytest.raises(ChatFileNotFoundError):
        await storage.open_attachment(WORKSPACE_ID, chat_id, NAME)
    assert await storage.delete_attachment(WORKSPACE_ID, chat_id, NAME) == 0


async def test_a_deleted_chat_is_gone_from_every_view_and_purged_without_touching_others(
    storage: ChatStorage, sandbox: Path, outside: Path
) -> None:
    await storage.ensure_chat(WORKSPACE_ID, OTHER_CHAT_ID)
    await write(storage, HISTORY_FILE_NAME, b"# kept", OTHER_CHAT_ID)
    await write(storage, NAME.value, b"kept notes", OTHER_CHAT_ID)
    await write(storage, HISTORY_FILE_NAME, b"# doomed")
    await write(storage, NAME.value, b"doomed notes")
    (sandbox / "link").symlink_to(outside)
    (sandbox / "linked-dir").symlink_to(outside.parent, target_is_directory=True)
    os.mkfifo(sandbox / "fifo")
    plant_directory(sandbox / "nested", outside)

    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)
    await assert_holds_no_bytes(storage, CHAT_ID)
    await storage.purge_chat(CHAT_ID)
    await assert_holds_no_bytes(storage, CHAT_ID)

    assert await shown(storage, OTHER_CHAT_ID) == {
        HISTORY_FILE_NAME: b"# kept",
        NAME.value: b"kept notes",
    }
    assert is_untouched(outside)


async def test_purge_chat_never_raises(storage: ChatStorage) -> None:
    await storage.purge_chat(CHAT_ID)  # never deleted
    await storage.purge_chat(uuid4())  # never created
    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)
    await storage.purge_chat(CHAT_ID)
    await storage.purge_chat(CHAT_ID)  # already purged


async def test_check_writable_passes_on_a_writable_root(subject: StorageUnderTest) -> None:
    await subject.storage.check_writable()


@pytest.mark.parametrize(
    ("parts", "durable"),
    [
        pytest.param((), True, id="empty"),
        pytest.param((b"one chunk",), True, id="one-chunk"),
        pytest.param((b"a" * MIB, b"b" * 700_000, b"tail"), True, id="chunks-past-a-mib"),
        pytest.param((b"not ", b"yet durable"), False, id="not-durable"),
    ],
)
async def test_stage_computes_the_size_and_sha256_of_the_bytes_it_commits(
    storage: ChatStorage, parts: tuple[bytes, ...], durable: bool
) -> None:
    data = b"".join(parts)

    staged = await storage.stage(chunks_of(*parts), durable=durable)
    await storage.commit_attachments(WORKSPACE_ID, CHAT_ID, [(NAME, staged)])

    assert (staged.size_bytes, staged.sha256) == (len(data), sha256(data))
    assert await attachment_bytes(storage, NAME) == data


class ClientWentAwayError(Exception):
    pass


async def chunks_then_failure(*parts: bytes) -> AsyncIterator[bytes]:
    async for part in chunks_of(*parts):
        yield part
    raise ClientWentAwayError


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param((), id="before-any-chunk"),
        pytest.param((b"partial",), id="after-a-chunk"),
        pytest.param((b"x" * 2 * MIB,), id="after-mebibytes"),
    ],
)
async def test_stage_whose_chunks_raise_leaves_nothing_staged_and_propagates(
    subject: StorageUnderTest, storage: ChatStorage, parts: tuple[bytes, ...]
) -> None:
    with pytest.raises(ClientWentAwayError):
        await storage.stage(chunks_then_failure(*parts))

    assert subject.staged_count() == 0
    assert await shown(storage) == {HISTORY_FILE_NAME: b""}


async def test_discard_removes_the_staged_file_and_then_is_a_no_op(
    subject: StorageUnderTest, storage: ChatStorage
) -> None:
    staged = await stage(storage, b"draft")
    assert subject.staged_count() == 1

    await storage.discard(staged)
    await storage.discard(staged)

    assert subject.staged_count() == 0


def append_to(path: Path, data: bytes) -> None:
    with path.open("ab") as appended:
        appended.write(data)


async def append_as_a_sandbox(storage: ChatStorage, sandbox: Path) -> None:
    append_to(sandbox / HISTORY_FILE_NAME, b" and what a sandbox appended")


async def rewrite_through_the_port(storage: ChatStorage, sandbox: Path) -> None:
    await write(storage, HISTORY_FILE_NAME, b"# rewritten")


@pytest.mark.parametrize(
    "size", [pytest.param(100, id="small"), pytest.param(2 * MIB + 100, id="mebibytes")]
)
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(append_as_a_sandbox, id="appended-by-a-sandbox"),
        pytest.param(rewrite_through_the_port, id="rewritten"),
    ],
)
async def test_open_history_reads_exactly_the_version_it_names_whatever_comes_after(
    storage: ChatStorage,
    sandbox: Path,
    size: int,
    change: Callable[[ChatStorage, Path], Awaitable[None]],
) -> None:
    data = os.urandom(size)
    await write(storage, HISTORY_FILE_NAME, data)

    version, reader = await storage.open_history(WORKSPACE_ID, CHAT_ID)
    await change(storage, sandbox)

    assert version == version_of(data)
    assert reader.size_bytes == size
    assert await read_and_close(reader) == data
    assert await storage.history_version(WORKSPACE_ID, CHAT_ID) != version


WRITTEN_NAMES = [
    pytest.param(HISTORY_FILE_NAME, id="history"),
    pytest.param(NAME.value, id="attachment"),
]


def plant_as_a_sandbox(path: Path, plant: Planter, outside: Path) -> None:
    path.unlink(missing_ok=True)
    plant(path, outside)


@pytest.mark.parametrize("name", WRITTEN_NAMES)
async def test_a_write_returns_the_size_of_the_regular_file_it_replaced(
    storage: ChatStorage, name: str
) -> None:
    assert await write(storage, name, b"first") == 0
    assert await write(storage, name, b"second") == len(b"first")
    assert await write(storage, name, b"") == len(b"second")
    assert (await shown(storage))[name] == b""


@pytest.mark.parametrize("plant", PLANTERS)
async def test_a_history_planted_as_anything_but_a_regular_file_reads_as_missing(
    storage: ChatStorage, sandbox: Path, outside: Path, plant: Planter
) -> None:
    plant_as_a_sandbox(sandbox / HISTORY_FILE_NAME, plant, outside)

    assert await storage.history_version(WORKSPACE_ID, CHAT_ID) == EMPTY_HISTORY
    assert await history_bytes(storage) == b""


@pytest.mark.parametrize("plant", REPLACEABLE_PLANTERS)
@pytest.mark.parametrize("name", WRITTEN_NAMES)
async def test_a_write_replaces_what_a_sandbox_planted_and_never_writes_through_it(
    storage: ChatStorage, sandbox: Path, outside: Path, name: str, plant: Planter
) -> None:
    plant_as_a_sandbox(sandbox / name, plant, outside)

    assert await write(storage, name, b"written") == 0

    assert (await shown(storage))[name] == b"written"
    assert is_untouched(outside)


@pytest.mark.parametrize("name", WRITTEN_NAMES)
async def test_a_write_never_removes_a_directory_a_sandbox_planted(
    storage: ChatStorage, sandbox: Path, outside: Path, name: str
) -> None:
    plant_as_a_sandbox(sandbox / name, plant_directory, outside)

    with pytest.raises(StorageError):
        await write(storage, name, b"written")

    assert read_inner(sandbox / name) == b"inner"
