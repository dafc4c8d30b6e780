"""The ChatStorage contract (usecase/ports/chat_bytes.py, staging.py, crash_journal.py), run
on every implementation in chat_storages.py, which says how another one joins.

The tests reach the storage through its port methods only, and through the two views a
factory adds: a chat's directory, where they act as a sandbox would, and the count of staged
files. What only a crash can show (a commit cut short and rolled back by `pending_files`,
`prepare` clearing a dead run's staging and trash) needs the layout on disk, so it is tested
in test/adapter/fs/.
"""

import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from uuid import UUID, uuid4

import anyio
import pytest

from domain.attachment_name import HISTORY_FILE_NAME, ChatAttachmentName
from domain.chat_file import ChatFile
from domain.errors import ChatFileNotFoundError, StorageError
from domain.history import HistoryVersion
from test.adapter.chat_storages import STORAGE_FACTORIES, StorageFactory, StorageUnderTest
from test.planted import PLANTERS, Planter, plant_directory
from usecase.ports.chat_bytes import ChatStorage, ContentReader, ScannedFile
from usecase.ports.crash_journal import HistoryAppend
from usecase.ports.staging import StagedContent

pytestmark = pytest.mark.anyio

WORKSPACE_ID = UUID("00000000-0000-4000-8000-00000000000a")
CHAT_ID = UUID("00000000-0000-4000-8000-00000000000c")
OTHER_CHAT_ID = UUID("00000000-0000-4000-8000-00000000000d")
NAME = ChatAttachmentName("notes.txt")
MIB = 1024 * 1024
# What the scans below may read of one file: more than any file they plant but one.
SCAN_BOUND = 4096
OUTSIDE_BYTES = b"secret outside the data root"
NOON = datetime(2026, 4, 1, 12, tzinfo=UTC)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_of(data: bytes) -> HistoryVersion:
    return HistoryVersion(sha256(data), len(data))


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
    """A file beside the storage that nothing may read or change, for `PLANTERS`."""
    (tmp_path / "outside.txt").write_bytes(OUTSIDE_BYTES)
    return tmp_path / "outside.txt"


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
    assert await storage.history_version(WORKSPACE_ID, chat_id) == version
    return data


async def shown(storage: ChatStorage, chat_id: UUID = CHAT_ID) -> dict[str, bytes]:
    """Everything the chat shows through the port: its history and each scanned attachment."""
    found = {HISTORY_FILE_NAME: await history_bytes(storage, chat_id)}
    for scanned in await storage.scan_attachments(WORKSPACE_ID, chat_id, SCAN_BOUND):
        reader = await storage.open_attachment(WORKSPACE_ID, chat_id, scanned.name)
        data = found[scanned.name.value] = await read_and_close(reader)
        assert (scanned.size_bytes, scanned.sha256) == (len(data), sha256(data))
    return found


async def reads_as_missing(storage: ChatStorage, name: str) -> bool:
    """Whether the history reads as empty, or no attachment `name` can be opened."""
    if name == HISTORY_FILE_NAME:
        return await history_bytes(storage) == b""
    try:
        reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, ChatAttachmentName(name))
    except ChatFileNotFoundError:
        return True
    await reader.aclose()
    return False


async def assert_holds_no_bytes(storage: ChatStorage, chat_id: UUID) -> None:
    assert await shown(storage, chat_id) == {HISTORY_FILE_NAME: b""}
    with pytest.raises(ChatFileNotFoundError):
        await storage.open_attachment(WORKSPACE_ID, chat_id, NAME)
    assert await storage.delete_attachment(WORKSPACE_ID, chat_id, NAME) == 0


def is_untouched(outside: Path) -> bool:
    return outside.read_bytes() == OUTSIDE_BYTES


def names_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def append_to(path: Path, data: bytes) -> None:
    with path.open("ab") as appended:
        appended.write(data)


def plant_as_a_sandbox(path: Path, plant: Planter, outside: Path) -> None:
    path.unlink(missing_ok=True)
    plant(path, outside)


def plant_nothing(path: Path, outside: Path) -> None:
    pass


def plant_everything_a_sandbox_might(sandbox: Path, outside: Path) -> None:
    """Regular files under valid names and under names no attachment may have, beside every
    kind of entry that is not a regular file."""
    for name, data in [
        ("a.txt", b""),
        ("b.txt", b"bee"),
        (HISTORY_FILE_NAME, b"not an attachment"),
        ("a\x01b", b"control character"),
        (os.fsdecode(b"\xff.txt"), b"not UTF-8"),
    ]:
        (sandbox / name).write_bytes(data)
    for planter in PLANTERS:
        cast(Planter, planter.values[0])(sandbox / f"planted-{planter.id}", outside)


def plant_sparse(path: Path, size_bytes: int) -> None:
    with path.open("wb") as sparse:
        sparse.truncate(size_bytes)


# Chat directories: ensure_chat, delete_chat, purge_chat, check_writable.


async def test_ensure_chat_makes_an_empty_history_and_keeps_a_chat_that_exists(
    storage: ChatStorage,
) -> None:
    assert await shown(storage) == {HISTORY_FILE_NAME: b""}
    await write(storage, HISTORY_FILE_NAME, b"# hello")
    await write(storage, NAME.value, b"notes")

    await storage.ensure_chat(WORKSPACE_ID, CHAT_ID)

    assert await shown(storage) == {HISTORY_FILE_NAME: b"# hello", NAME.value: b"notes"}


async def test_a_deleted_chat_is_gone_from_every_view_and_purged_without_touching_others(
    storage: ChatStorage, sandbox: Path, outside: Path
) -> None:
    await storage.ensure_chat(WORKSPACE_ID, OTHER_CHAT_ID)
    await write(storage, HISTORY_FILE_NAME, b"# kept", OTHER_CHAT_ID)
    await write(storage, NAME.value, b"kept notes", OTHER_CHAT_ID)
    await write(storage, HISTORY_FILE_NAME, b"# doomed")
    await write(storage, NAME.value, b"doomed notes")
    plant_everything_a_sandbox_might(sandbox, outside)

    await storage.purge_chat(OTHER_CHAT_ID)  # never deleted: nothing to purge

    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)
    await assert_holds_no_bytes(storage, CHAT_ID)
    await storage.purge_chat(CHAT_ID)
    await storage.purge_chat(CHAT_ID)
    await assert_holds_no_bytes(storage, CHAT_ID)

    assert await shown(storage, OTHER_CHAT_ID) == {
        HISTORY_FILE_NAME: b"# kept",
        NAME.value: b"kept notes",
    }
    assert is_untouched(outside)


async def test_a_chat_never_made_holds_no_bytes(subject: StorageUnderTest) -> None:
    await assert_holds_no_bytes(subject.storage, OTHER_CHAT_ID)


async def test_check_writable_passes_on_a_writable_root(subject: StorageUnderTest) -> None:
    await subject.storage.check_writable()


# Staging: stage, discard.


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
    assert await read_and_close(await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)) == data


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


# The history, and what a write of it or of an attachment does to what stands under its name.


async def append_as_a_sandbox(storage: ChatStorage, sandbox: Path) -> None:
    append_to(sandbox / HISTORY_FILE_NAME, b" and what a sandbox appended")


async def rewrite_through_the_port(storage: ChatStorage, sandbox: Path) -> None:
    await write(storage, HISTORY_FILE_NAME, b"# rewritten")


HISTORY_CHANGES = [
    pytest.param(append_as_a_sandbox, id="appended-by-a-sandbox"),
    pytest.param(rewrite_through_the_port, id="rewritten"),
]


# What history revisions keep: the runs a PUT replaced, and prefixes of the current one.


async def kept_bytes(storage: ChatStorage) -> int:
    return sum((await storage.history_run_sizes(WORKSPACE_ID, CHAT_ID)).values())


async def revision_bytes(
    storage: ChatStorage, run: int, size: int, *, current: bool = False
) -> bytes | None:
    reader = await storage.open_history_revision(WORKSPACE_ID, CHAT_ID, run, size, current=current)
    return None if reader is None else await read_and_close(reader)


async def rewrite_keeping(storage: ChatStorage, data: bytes, run: int) -> None:
    staged = await stage(storage, data)
    await storage.write_history(WORKSPACE_ID, CHAT_ID, staged, keep_run=run)


async def test_a_write_keeping_a_run_keeps_what_it_replaced_outside_the_chat(
    storage: ChatStorage, sandbox: Path
) -> None:
    await write(storage, HISTORY_FILE_NAME, b"# run one\nmore\n")

    await rewrite_keeping(storage, b"# run two\n", run=1)

    assert await history_bytes(storage) == b"# run two\n"
    assert await revision_bytes(storage, 1, len(b"# run one\n")) == b"# run one\n"
    assert await revision_bytes(storage, 1, 15) == b"# run one\nmore\n"
    assert await kept_bytes(storage) == 15
    assert names_in(sandbox) == [HISTORY_FILE_NAME]


async def test_the_history_kept_as_a_run_stays_when_the_history_changes(
    storage: ChatStorage, sandbox: Path
) -> None:
    await write(storage, HISTORY_FILE_NAME, b"# kept\n")

    assert await storage.keep_history_run(WORKSPACE_ID, CHAT_ID, 4) == len(b"# kept\n")
    base = await storage.history_version(WORKSPACE_ID, CHAT_ID, settled=True)
    more = await stage(storage, b"more\n")
    grown = await storage.extend_history_version(WORKSPACE_ID, CHAT_ID, base, more)
    await storage.append_history(WORKSPACE_ID, CHAT_ID, base, [more], grown)

    assert await history_bytes(storage) == b"# kept\nmore\n"
    assert await revision_bytes(storage, 4, len(b"# kept\n")) == b"# kept\n"
    assert await storage.history_run_sizes(WORKSPACE_ID, CHAT_ID) == {4: len(b"# kept\n")}
    assert names_in(sandbox) == [HISTORY_FILE_NAME]


async def test_the_current_run_is_read_as_a_prefix_of_the_history(storage: ChatStorage) -> None:
    await write(storage, HISTORY_FILE_NAME, b"# one\n# two\n")

    assert await revision_bytes(storage, 0, 6, current=True) == b"# one\n"
    assert await revision_bytes(storage, 0, 12, current=True) == b"# one\n# two\n"
    assert await revision_bytes(storage, 0, 13, current=True) is None


async def test_a_kept_run_is_out_of_a_sandboxs_reach(storage: ChatStorage, sandbox: Path) -> None:
    """Written in place after the write, by the history's name or by a second name the
    sandbox had made to it, the kept bytes stay as they were."""
    await write(storage, HISTORY_FILE_NAME, b"# kept\n")
    os.link(sandbox / HISTORY_FILE_NAME, sandbox / "second-name.md")

    await rewrite_keeping(storage, b"# new\n", run=1)
    append_to(sandbox / "second-name.md", b"written through the second name\n")
    append_to(sandbox / HISTORY_FILE_NAME, b"written in place\n")

    assert await revision_bytes(storage, 1, len(b"# kept\n")) == b"# kept\n"
    assert await kept_bytes(storage) == len(b"# kept\n")


async def test_dropping_runs_frees_their_bytes_and_keeps_the_others(
    storage: ChatStorage,
) -> None:
    await write(storage, HISTORY_FILE_NAME, b"# one\n")
    await rewrite_keeping(storage, b"# two!\n", run=1)
    await rewrite_keeping(storage, b"# three\n", run=2)

    assert await storage.drop_history_runs(WORKSPACE_ID, CHAT_ID, {2}) == len(b"# one\n")

    assert await revision_bytes(storage, 1, 6) is None
    assert await revision_bytes(storage, 2, 7) == b"# two!\n"
    assert await kept_bytes(storage) == 7
    assert await storage.drop_history_runs(WORKSPACE_ID, CHAT_ID, set()) == 7
    assert await kept_bytes(storage) == 0


async def test_a_deleted_chat_takes_its_kept_runs_with_it(storage: ChatStorage) -> None:
    await write(storage, HISTORY_FILE_NAME, b"# one\n")
    await rewrite_keeping(storage, b"# two\n", run=1)

    await storage.delete_chat(WORKSPACE_ID, CHAT_ID)
    await storage.purge_chat(CHAT_ID)

    assert await kept_bytes(storage) == 0
    assert await revision_bytes(storage, 1, 6) is None


async def appended(storage: ChatStorage, *parts: bytes) -> HistoryVersion:
    """Append `parts` in one batch, as the append use case does; returns the version made."""
    base = version = await storage.history_version(WORKSPACE_ID, CHAT_ID)
    staged = [await stage(storage, part) for part in parts]
    for item in staged:
        version = await storage.extend_history_version(WORKSPACE_ID, CHAT_ID, version, item)
    await storage.append_history(WORKSPACE_ID, CHAT_ID, base, staged, version)
    return version


@pytest.mark.parametrize(
    "size", [pytest.param(100, id="small"), pytest.param(2 * MIB + 100, id="mebibytes")]
)
async def test_appends_extend_the_history_in_place_and_name_it(
    subject: StorageUnderTest, storage: ChatStorage, sandbox: Path, size: int
) -> None:
    base = os.urandom(size)
    await write(storage, HISTORY_FILE_NAME, base)
    inode = (sandbox / HISTORY_FILE_NAME).stat().st_ino

    version = await appended(storage, b"one ", b"two ", b"three")

    assert version == version_of(base + b"one two three")
    assert await history_bytes(storage) == base + b"one two three"
    assert (sandbox / HISTORY_FILE_NAME).stat().st_ino == inode
    assert subject.staged_count() == 0
    known = await storage.open_known_history(WORKSPACE_ID, CHAT_ID)
    assert known is not None
    assert known[0] == version
    await known[1].aclose()


async def test_a_history_the_storage_wrote_is_known_at_once(storage: ChatStorage) -> None:
    """Its next read neither hashes it nor waits for the chat's lock (ADR 0020, 0021)."""
    await write(storage, HISTORY_FILE_NAME, b"# written")

    known = await storage.open_known_history(WORKSPACE_ID, CHAT_ID)

    assert known is not None
    assert known[0] == version_of(b"# written")
    assert await read_and_close(known[1]) == b"# written"


async def test_a_history_changed_behind_the_storage_is_not_known_until_read(
    storage: ChatStorage, sandbox: Path
) -> None:
    await appended(storage, b"# one\n")
    append_to(sandbox / HISTORY_FILE_NAME, b"# sandbox\n")

    assert await storage.open_known_history(WORKSPACE_ID, CHAT_ID) is None
    assert await history_bytes(storage) == b"# one\n# sandbox\n"


async def test_an_append_onto_a_planted_link_replaces_the_link(
    storage: ChatStorage, sandbox: Path, outside: Path
) -> None:
    await appended(storage, b"# one\n")
    history = sandbox / HISTORY_FILE_NAME
    history.unlink()
    history.symlink_to(outside)

    version = await appended(storage, b"# two\n")

    assert version == version_of(b"# two\n")
    assert not history.is_symlink()
    assert history.read_bytes() == b"# two\n"
    assert is_untouched(outside)


@pytest.mark.parametrize("whole", [pytest.param(True, id="whole"), pytest.param(False, id="cut")])
async def test_settling_an_append_keeps_it_whole_or_cuts_it_back(
    storage: ChatStorage, sandbox: Path, whole: bool
) -> None:
    await appended(storage, b"# before\n")
    to = version_of(b"# before\n# after\n")
    await storage.mark_unsettled(
        WORKSPACE_ID, CHAT_ID, appending=HistoryAppend(len(b"# before\n"), to)
    )
    append_to(sandbox / HISTORY_FILE_NAME, b"# after\n" if whole else b"# aft")

    await storage.settle_append(WORKSPACE_ID, CHAT_ID)

    expected = b"# before\n# after\n" if whole else b"# before\n"
    assert await history_bytes(storage) == expected


@pytest.mark.parametrize(
    "size", [pytest.param(100, id="small"), pytest.param(2 * MIB + 100, id="mebibytes")]
)
async def test_a_sandbox_rewriting_the_history_in_place_is_noticed_whatever_it_keeps(
    storage: ChatStorage, sandbox: Path, size: int
) -> None:
    """Same size, same inode, its modification time put back: read before and after, the
    history still names the new content (ADR 0020: the change time moves)."""
    before, after = b"a" * size, b"b" * size
    await write(storage, HISTORY_FILE_NAME, before)
    assert await history_bytes(storage) == before
    history = sandbox / HISTORY_FILE_NAME
    status = history.stat()

    with history.open("r+b") as rewritten:
        rewritten.write(after)
    os.utime(history, ns=(status.st_atime_ns, status.st_mtime_ns))

    assert history.stat().st_ino == status.st_ino
    assert await storage.history_version(WORKSPACE_ID, CHAT_ID) == version_of(after)
    assert await history_bytes(storage) == after


@pytest.mark.parametrize(
    "size", [pytest.param(100, id="small"), pytest.param(2 * MIB + 100, id="mebibytes")]
)
@pytest.mark.parametrize("change", HISTORY_CHANGES)
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
    assert await history_bytes(storage) != data


WRITTEN_NAMES = [
    pytest.param(HISTORY_FILE_NAME, id="history"),
    pytest.param(NAME.value, id="attachment"),
]


@pytest.mark.parametrize("name", WRITTEN_NAMES)
async def test_a_write_returns_the_size_of_the_regular_file_it_replaced(
    storage: ChatStorage, name: str
) -> None:
    assert await write(storage, name, b"first") == 0
    assert await write(storage, name, b"second") == len(b"first")
    assert await write(storage, name, b"") == len(b"second")
    assert (await shown(storage))[name] == b""


# What a write replaces as it would a missing file: nothing, or what a sandbox planted but a
# directory, which cannot be written over without deleting it, and nothing may delete it.
REPLACED_LIKE_NOTHING = [
    pytest.param(plant_nothing, id="nothing"),
    *(planter for planter in PLANTERS if planter.id != "directory"),
]


@pytest.mark.parametrize("plant", REPLACED_LIKE_NOTHING)
@pytest.mark.parametrize("name", WRITTEN_NAMES)
async def test_a_name_holding_no_regular_file_reads_as_missing_and_a_write_replaces_it(
    storage: ChatStorage, sandbox: Path, outside: Path, name: str, plant: Planter
) -> None:
    plant_as_a_sandbox(sandbox / name, plant, outside)
    assert await reads_as_missing(storage, name)

    assert await write(storage, name, b"written") == 0

    assert (await shown(storage))[name] == b"written"
    assert is_untouched(outside)


async def write_history(storage: ChatStorage) -> None:
    await write(storage, HISTORY_FILE_NAME, b"written")


async def write_attachment(storage: ChatStorage) -> None:
    await write(storage, NAME.value, b"written")


async def delete_attachment(storage: ChatStorage) -> None:
    await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME)


@pytest.mark.parametrize(
    ("name", "change"),
    [
        pytest.param(HISTORY_FILE_NAME, write_history, id="history-written"),
        pytest.param(NAME.value, write_attachment, id="attachment-written"),
        pytest.param(NAME.value, delete_attachment, id="attachment-deleted"),
    ],
)
async def test_a_planted_directory_reads_as_missing_and_no_change_removes_it(
    storage: ChatStorage,
    sandbox: Path,
    outside: Path,
    name: str,
    change: Callable[[ChatStorage], Awaitable[None]],
) -> None:
    plant_as_a_sandbox(sandbox / name, plant_directory, outside)
    assert await reads_as_missing(storage, name)

    with suppress(StorageError):  # a write has nowhere to go: it fails, and may say so
        await change(storage)

    assert (sandbox / name / "inner.txt").read_bytes() == b"inner"  # as plant_directory left it


# Attachments: committed, opened and read, deleted, scanned.


async def test_commit_makes_each_staged_file_its_attachment_and_returns_what_each_replaced(
    subject: StorageUnderTest, storage: ChatStorage
) -> None:
    await write(storage, NAME.value, b"12345")
    fresh = ChatAttachmentName("fresh.txt")
    items = [(fresh, await stage(storage, b"fresh")), (NAME, await stage(storage, b"new"))]

    assert await storage.commit_attachments(WORKSPACE_ID, CHAT_ID, items) == [0, len(b"12345")]

    assert await shown(storage) == {
        HISTORY_FILE_NAME: b"",
        "fresh.txt": b"fresh",
        "notes.txt": b"new",
    }
    assert subject.staged_count() == 0


BLOCKED = ChatAttachmentName("blocked.txt")


async def discard_it(storage: ChatStorage, sandbox: Path, staged: StagedContent) -> None:
    await storage.discard(staged)


async def plant_a_directory_under_its_name(
    storage: ChatStorage, sandbox: Path, staged: StagedContent
) -> None:
    plant_directory(sandbox / BLOCKED.value, sandbox)


# What makes the last file of a commit fail, once the others could have landed.
LAST_FILE_SPOILERS = [
    pytest.param(discard_it, id="staged-file-discarded"),
    pytest.param(plant_a_directory_under_its_name, id="directory-under-its-name"),
]


@pytest.mark.parametrize("spoil_the_last", LAST_FILE_SPOILERS)
async def test_a_commit_that_fails_on_its_last_file_changes_nothing_and_consumes_every_file(
    subject: StorageUnderTest,
    storage: ChatStorage,
    sandbox: Path,
    spoil_the_last: Callable[[ChatStorage, Path, StagedContent], Awaitable[None]],
) -> None:
    await write(storage, NAME.value, b"old notes")
    before = await shown(storage)
    items = [
        (NAME, await stage(storage, b"new notes")),
        (ChatAttachmentName("fresh.txt"), await stage(storage, b"fresh")),
        (BLOCKED, await stage(storage, b"never lands")),
    ]
    await spoil_the_last(storage, sandbox, items[-1][1])

    with pytest.raises(StorageError):
        await storage.commit_attachments(WORKSPACE_ID, CHAT_ID, items)

    assert await shown(storage) == before
    assert subject.staged_count() == 0


# (start, end): the first byte, across a mebibyte, the tail and past it, all past the end, none
RANGES = [(0, 0), (MIB - 3, MIB + 3), (2 * MIB - 9, 3 * MIB), (3 * MIB, 4 * MIB), (7, 6)]


async def test_an_attachment_reader_serves_inclusive_ranges_up_to_its_size_at_open(
    storage: ChatStorage, sandbox: Path
) -> None:
    data = os.urandom(2 * MIB)
    await write(storage, NAME.value, data)

    reader = await storage.open_attachment(WORKSPACE_ID, CHAT_ID, NAME)
    append_to(sandbox / NAME.value, b"appended by a sandbox")

    assert reader.size_bytes == len(data)
    for start, end in RANGES:
        assert await read_all(reader, start, end) == data[start : end + 1]
    await reader.aclose()


@pytest.mark.parametrize("plant", PLANTERS)
async def test_open_attachments_opens_each_name_in_order_and_none_for_what_is_not_a_file(
    storage: ChatStorage, sandbox: Path, outside: Path, plant: Planter
) -> None:
    await write(storage, "a.txt", b"first")
    await write(storage, "b.txt", b"second")
    plant_as_a_sandbox(sandbox / "planted", plant, outside)
    names = ["b.txt", "missing.txt", "planted", "a.txt"]

    readers = await storage.open_attachments(
        WORKSPACE_ID, CHAT_ID, [ChatAttachmentName(name) for name in names]
    )
    (sandbox / "a.txt").unlink()  # the reader keeps what it opened

    assert [None if reader is None else await read_and_close(reader) for reader in readers] == [
        b"second",
        None,
        None,
        b"first",
    ]
    assert is_untouched(outside)


async def test_open_attachments_of_a_chat_never_made_opens_nothing(storage: ChatStorage) -> None:
    assert await storage.open_attachments(WORKSPACE_ID, OTHER_CHAT_ID, [NAME]) == [None]


async def test_delete_attachment_frees_the_bytes_of_the_regular_file_once(
    storage: ChatStorage,
) -> None:
    await write(storage, NAME.value, b"12345")

    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == len(b"12345")
    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == 0

    assert await shown(storage) == {HISTORY_FILE_NAME: b""}


@pytest.mark.parametrize("plant", PLANTERS)
async def test_delete_attachment_frees_nothing_and_never_reaches_behind_a_planted_entry(
    storage: ChatStorage, sandbox: Path, outside: Path, plant: Planter
) -> None:
    plant_as_a_sandbox(sandbox / NAME.value, plant, outside)

    assert await storage.delete_attachment(WORKSPACE_ID, CHAT_ID, NAME) == 0

    assert is_untouched(outside)


async def test_scan_lists_each_regular_file_under_a_valid_name_and_nothing_else(
    storage: ChatStorage, sandbox: Path, outside: Path
) -> None:
    await write(storage, NAME.value, b"uploaded")
    plant_everything_a_sandbox_might(sandbox, outside)

    scanned = await storage.scan_attachments(WORKSPACE_ID, CHAT_ID, SCAN_BOUND)

    assert sorted(scanned, key=lambda found: found.name.value) == [
        ScannedFile(ChatAttachmentName(name), len(data), sha256(data))
        for name, data in [("a.txt", b""), ("b.txt", b"bee"), (NAME.value, b"uploaded")]
    ]


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(SCAN_BOUND + 1, id="just-over"),
        # Sparse, so planted at once; hashing it would take many minutes.
        pytest.param(1024 * 1024 * MIB, id="tebibyte"),
    ],
)
async def test_scan_leaves_out_a_file_over_the_bound_without_reading_it(
    storage: ChatStorage, sandbox: Path, size: int
) -> None:
    await write(storage, NAME.value, b"f" * SCAN_BOUND)
    plant_sparse(sandbox / "huge.bin", size)

    with anyio.fail_after(10):
        scanned = await storage.scan_attachments(WORKSPACE_ID, CHAT_ID, SCAN_BOUND)

    assert [(found.name, found.size_bytes) for found in scanned] == [(NAME, SCAN_BOUND)]


# The crash journal: marks and the records noted with them.


async def test_a_mark_says_it_was_there_and_is_listed_until_settled(
    subject: StorageUnderTest,
) -> None:
    storage = subject.storage
    kept, settled = (uuid4(), uuid4()), (uuid4(), uuid4())
    assert await storage.mark_unsettled(*kept) is False
    assert await storage.mark_unsettled(*settled) is False
    assert await storage.mark_unsettled(*kept) is True

    await storage.mark_settled(*settled)
    await storage.mark_settled(*settled)

    assert await storage.unsettled_chats() == [kept]
    assert await storage.mark_unsettled(*settled) is False


async def test_pending_files_are_the_noted_records_until_the_chat_is_settled(
    storage: ChatStorage,
) -> None:
    noted = [
        ChatFile(uuid4(), CHAT_ID, ChatAttachmentName(name), None, 5, sha256(b"bytes"), NOON)
        for name in ("notes.txt", "fresh.txt")
    ]
    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == []
    await storage.mark_unsettled(WORKSPACE_ID, CHAT_ID)

    await storage.note_pending_files(WORKSPACE_ID, CHAT_ID, noted)

    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == noted
    await storage.mark_settled(WORKSPACE_ID, CHAT_ID)
    await storage.mark_unsettled(WORKSPACE_ID, CHAT_ID)
    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == []


async def test_a_new_mark_keeps_the_records_it_is_made_with_and_a_mark_found_its_own(
    storage: ChatStorage,
) -> None:
    first, second = (
        [ChatFile(uuid4(), CHAT_ID, ChatAttachmentName(name), None, 5, sha256(b"bytes"), NOON)]
        for name in ("first.txt", "second.txt")
    )
    assert await storage.mark_unsettled(WORKSPACE_ID, CHAT_ID, first) is False
    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == first

    assert await storage.mark_unsettled(WORKSPACE_ID, CHAT_ID, second) is True

    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == first
    await storage.note_pending_files(WORKSPACE_ID, CHAT_ID, second)
    assert await storage.pending_files(WORKSPACE_ID, CHAT_ID) == second
