"""The operators' check: each way the records, the usage ledger and the disk can come to
disagree is planted by hand, reported in one line, left as it was by the check, and
settled by the repair (ADR 0026)."""

import hashlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import pytest

from domain.chat import Chat
from domain.consistency import Difference, DifferenceKind
from domain.errors import WorkspaceNotFoundError
from domain.paging import PageRequest
from test.usecase.service import OTHER_USER, USER, Part, Service, chunks_of, parts
from usecase.consistency import ConsistencyReport
from usecase.ports.progress import Progress

pytestmark = pytest.mark.anyio

ORPHAN = UUID("00000000-0000-4000-8000-00000000beef")


@dataclass(slots=True)
class RecordingProgress(Progress):
    stages: list[tuple[str, int]] = field(default_factory=list)
    steps: int = 0
    ended: int = 0

    def begin(self, description: str, total: int) -> None:
        self.stages.append((description, total))

    def advance(self, steps: int = 1) -> None:
        self.steps += steps

    def end(self) -> None:
        self.ended += 1


async def written_chat(service: Service, user_id: UUID = USER) -> Chat:
    """A chat every kind of change has been through: appends, a PUT that keeps a run
    apart, attachments added, replaced and deleted."""
    chat = await service.new_chat(user_id)
    run = service.run
    await run.put_history(user_id, chat.chat_id, chunks_of(b"# one\n"), None)
    await run.append_history(user_id, chat.chat_id, chunks_of(b"more\n"), None)
    await run.put_history(user_id, chat.chat_id, chunks_of(b"# two\n"), None)
    await run.upload_files(
        user_id, chat.chat_id, parts(Part("a.txt", b"aaaa"), Part("b.bin", b"b" * 300))
    )
    [replaced] = await run.upload_files(user_id, chat.chat_id, parts(Part("a.txt", b"AAAAAA")))
    await run.upload_files(user_id, chat.chat_id, parts(Part("c.txt", b"c")))
    [doomed] = [
        file
        for file in await service.metadata.files.list_all_by_chat_id(chat.chat_id)
        if file.name.value == "c.txt"
    ]
    await run.delete_file(user_id, chat.chat_id, doomed.file_id)
    assert replaced.name.value == "a.txt"
    return chat


async def state(service: Service) -> tuple[object, ...]:
    """Everything a read-only check must leave as it was: every path under the data
    directory with its size and mtime, and every record and usage figure."""
    paths = []
    for directory, dirs, files in os.walk(service.root):
        for name in [*dirs, *files]:
            status = (Path(directory) / name).lstat()
            paths.append((directory, name, status.st_size, status.st_mtime_ns))
    census = service.metadata.census
    records: list[object] = []
    for workspace_id in await census.workspace_ids():
        records.append(await census.ledger(workspace_id))
        for chat_id in await census.chat_ids(workspace_id):
            records.append(await service.metadata.files.list_all_by_chat_id(chat_id))
            records.append(await service.metadata.revisions.list_newest_first(chat_id, 1000, None))
    return tuple(sorted(paths)), tuple(map(repr, records))


def kinds(report: ConsistencyReport) -> list[DifferenceKind]:
    return sorted({difference.kind for difference in report.differences})


def chat_dir(service: Service, chat: Chat) -> Path:
    return service.chat_dir(chat)


def kept_dir(service: Service, chat: Chat) -> Path:
    return service.root / "revisions" / str(chat.workspace_id) / str(chat.chat_id)


async def test_a_chat_the_service_wrote_is_consistent(service: Service) -> None:
    chat = await written_chat(service)
    await service.run.fork_chat(USER, chat.chat_id, 2, True)
    await service.run.restore_history_revision(USER, chat.chat_id, 1, None)
    other = await written_chat(service, OTHER_USER)
    await service.run.prune_history_revisions(OTHER_USER, other.chat_id)
    await service.run.delete_chat(USER, (await service.new_chat()).chat_id)

    report = await service.run.check_consistency()

    assert report.differences == ()
    assert (report.workspaces, report.chats) == (2, 3)
    assert report.consistent


# Each plant does by hand what a sandbox, an operator or a crash can leave, and names the
# kinds of difference the check must report for it.

Plant = Callable[[Service, Chat], Awaitable[None]]


async def file_written_behind_the_back(service: Service, chat: Chat) -> None:
    (chat_dir(service, chat) / "x.bin").write_bytes(b"0123456789")


async def file_deleted_behind_the_back(service: Service, chat: Chat) -> None:
    (chat_dir(service, chat) / "b.bin").unlink()


async def file_truncated(service: Service, chat: Chat) -> None:
    os.truncate(chat_dir(service, chat) / "b.bin", 10)


async def file_rewritten_in_place(service: Service, chat: Chat) -> None:
    (chat_dir(service, chat) / "a.txt").write_bytes(b"BBBBBB")


async def history_changed_by_a_sandbox(service: Service, chat: Chat) -> None:
    with (chat_dir(service, chat) / "history.md").open("ab") as history:
        history.write(b"a sandbox wrote this\n")


async def used_bytes_edited(service: Service, chat: Chat) -> None:
    history = await service.metadata.usage.history_bytes(chat.chat_id)
    await service.metadata.usage.set_chat_bytes(chat.workspace_id, chat.chat_id, 1, history)


async def revision_bytes_edited(service: Service, chat: Chat) -> None:
    history = await service.metadata.usage.history_bytes(chat.chat_id)
    await service.metadata.usage.try_set_history(
        chat.workspace_id, chat.chat_id, history, None, revision_bytes=40
    )


async def kept_bytes_lost(service: Service, chat: Chat) -> None:
    for kept in kept_dir(service, chat).iterdir():
        kept.unlink()


async def kept_bytes_nobody_needs(service: Service, chat: Chat) -> None:
    (kept_dir(service, chat) / "77.md").write_bytes(b"stale")


async def chat_directory_removed(service: Service, chat: Chat) -> None:
    for entry in chat_dir(service, chat).iterdir():
        entry.unlink()
    chat_dir(service, chat).rmdir()


async def orphan_directory(service: Service, chat: Chat) -> None:
    orphan = chat_dir(service, chat).parent / str(ORPHAN)
    orphan.mkdir()
    (orphan / "history.md").write_bytes(b"# nobody's\n")


async def orphan_kept_bytes(service: Service, chat: Chat) -> None:
    orphan = kept_dir(service, chat).parent / str(ORPHAN)
    orphan.mkdir()
    (orphan / "3.md").write_bytes(b"# nobody's\n")


async def orphan_usage_row(service: Service, chat: Chat) -> None:
    await service.metadata.usage.set_chat_bytes(chat.workspace_id, ORPHAN, 500, 0, 7)


async def crash_mark_left(service: Service, chat: Chat) -> None:
    (service.root / "unsettled" / f"{chat.workspace_id}_{chat.chat_id}").touch()


async def deletion_cut_short(service: Service, chat: Chat) -> None:
    (service.root / "trash" / f"{ORPHAN}.0123456789abcdef").mkdir()


K = DifferenceKind
PLANTS = [
    pytest.param(file_written_behind_the_back, [K.FILE_UNRECORDED, K.USED_BYTES], id="new-file"),
    pytest.param(file_deleted_behind_the_back, [K.FILE_MISSING, K.USED_BYTES], id="file-gone"),
    pytest.param(file_truncated, [K.FILE_SIZE, K.USED_BYTES], id="file-truncated"),
    pytest.param(file_rewritten_in_place, [K.FILE_CONTENT], id="file-rewritten"),
    pytest.param(
        history_changed_by_a_sandbox,
        [K.HISTORY_UNRECORDED, K.USED_BYTES, K.HISTORY_BYTES],
        id="history-changed",
    ),
    pytest.param(used_bytes_edited, [K.USED_BYTES], id="used-bytes-edited"),
    pytest.param(revision_bytes_edited, [K.REVISION_BYTES], id="revision-bytes-edited"),
    pytest.param(kept_bytes_lost, [K.KEPT_BYTES_MISSING], id="kept-bytes-lost"),
    pytest.param(kept_bytes_nobody_needs, [K.KEPT_BYTES_UNNEEDED], id="kept-bytes-unneeded"),
    pytest.param(chat_directory_removed, [K.CHAT_DIRECTORY_MISSING], id="directory-gone"),
    pytest.param(orphan_directory, [K.CHAT_RECORD_MISSING], id="orphan-directory"),
    pytest.param(orphan_kept_bytes, [K.CHAT_RECORD_MISSING], id="orphan-kept-bytes"),
    pytest.param(orphan_usage_row, [K.CHAT_RECORD_MISSING], id="orphan-usage-row"),
    pytest.param(crash_mark_left, [K.CRASH_MARK], id="crash-mark"),
    pytest.param(deletion_cut_short, [K.LEFTOVER], id="trash-leftover"),
]


@pytest.mark.parametrize(("plant", "expected"), PLANTS)
async def test_a_planted_difference_is_reported_and_the_check_changes_nothing(
    service: Service, plant: Plant, expected: list[DifferenceKind]
) -> None:
    chat = await written_chat(service)
    await written_chat(service, OTHER_USER)
    await plant(service, chat)
    before = await state(service)

    report = await service.run.check_consistency()

    assert kinds(report) == sorted(expected), [str(each) for each in report.differences]
    assert await state(service) == before
    assert await service.run.check_consistency() == report


@pytest.mark.parametrize(("plant", "expected"), PLANTS)
async def test_repair_settles_a_planted_difference(
    service: Service, plant: Plant, expected: list[DifferenceKind]
) -> None:
    chat = await written_chat(service)
    await plant(service, chat)
    found = await service.run.check_consistency()
    assert kinds(found) == sorted(expected)

    remaining = await service.run.repair_consistency(found)

    assert remaining.differences == ()
    assert (await service.run.check_consistency()).consistent


async def test_lines_say_what_differs(service: Service) -> None:
    chat = await written_chat(service)
    [b_bin] = [
        file
        for file in await service.metadata.files.list_all_by_chat_id(chat.chat_id)
        if file.name.value == "b.bin"
    ]
    await file_truncated(service, chat)
    await file_written_behind_the_back(service, chat)
    await revision_bytes_edited(service, chat)
    await orphan_directory(service, chat)

    lines = {str(each) for each in (await service.run.check_consistency()).differences}

    prefix = f"chat {chat.chat_id}: "
    # history.md "# two\n" (6), a.txt (6), b.bin (300, now 10), x.bin (10); "# one\nmore\n"
    # (11) is the run kept apart.
    assert lines == {
        f"{prefix}file record {b_bin.file_id} 'b.bin' says 300 bytes, disk has 10",
        f"{prefix}file 'x.bin' on disk has no record (10 bytes)",
        f"{prefix}used_bytes recorded 312, disk 32",
        f"{prefix}revision_bytes recorded 40, revisions give 11",
        f"chat {ORPHAN}: directory on disk has no chat record",
    }


async def test_the_check_records_no_revision_for_a_history_a_sandbox_changed(
    service: Service,
) -> None:
    chat = await written_chat(service)
    await history_changed_by_a_sandbox(service, chat)
    kept = await service.metadata.revisions.list_newest_first(chat.chat_id, 1000, None)

    await service.run.check_consistency()

    assert await service.metadata.revisions.list_newest_first(chat.chat_id, 1000, None) == kept


async def test_repair_keeps_what_a_sandbox_wrote_as_the_service_would(service: Service) -> None:
    chat = await written_chat(service)
    await history_changed_by_a_sandbox(service, chat)
    await file_written_behind_the_back(service, chat)

    await service.run.repair_consistency(await service.run.check_consistency())

    files = await service.run.list_files(USER, chat.chat_id, PageRequest())
    assert sorted(file.name.value for file in files.items) == ["a.txt", "b.bin", "x.bin"]
    [latest] = await service.metadata.revisions.list_newest_first(chat.chat_id, 1, None)
    assert latest.source == "sandbox"
    assert latest.size_bytes == len(b"# two\na sandbox wrote this\n")
    assert await service.used_bytes() == service.disk_bytes(chat.workspace_id)


async def test_repair_gives_a_chat_its_directory_back_empty(service: Service) -> None:
    chat = await written_chat(service)
    await chat_directory_removed(service, chat)

    await service.run.repair_consistency(await service.run.check_consistency())

    assert sorted(entry.name for entry in chat_dir(service, chat).iterdir()) == ["history.md"]
    assert await service.metadata.files.list_all_by_chat_id(chat.chat_id) == []
    assert await service.used_bytes() == 0


async def test_repair_removes_every_trace_of_a_chat_with_no_record(service: Service) -> None:
    chat = await written_chat(service)
    await orphan_directory(service, chat)
    await orphan_kept_bytes(service, chat)
    await orphan_usage_row(service, chat)
    used = await service.used_bytes()

    await service.run.repair_consistency(await service.run.check_consistency())

    assert not (chat_dir(service, chat).parent / str(ORPHAN)).exists()
    assert not (kept_dir(service, chat).parent / str(ORPHAN)).exists()
    assert await service.metadata.census.chat_usage(ORPHAN) is None
    assert await service.used_bytes() == used - 500
    assert list((service.root / "trash").iterdir()) == []


async def test_a_crash_mark_is_settled_as_after_a_crash(service: Service) -> None:
    chat = await written_chat(service)
    await file_written_behind_the_back(service, chat)
    await crash_mark_left(service, chat)

    await service.run.repair_consistency(await service.run.check_consistency())

    assert list((service.root / "unsettled").iterdir()) == []
    names = [
        file.name.value for file in await service.metadata.files.list_all_by_chat_id(chat.chat_id)
    ]
    assert "x.bin" in names


async def test_one_workspace_is_checked_alone(service: Service) -> None:
    mine = await written_chat(service)
    theirs = await written_chat(service, OTHER_USER)
    await file_written_behind_the_back(service, mine)
    await file_written_behind_the_back(service, theirs)
    await deletion_cut_short(service, mine)

    report = await service.run.check_consistency(theirs.workspace_id)

    assert {each.chat_id for each in report.differences} == {theirs.chat_id}
    assert (report.workspaces, report.chats) == (1, 1)
    await service.run.repair_consistency(report, theirs.workspace_id)
    assert (await service.run.check_consistency(theirs.workspace_id)).consistent
    assert {each.chat_id for each in (await service.run.check_consistency()).differences} == {
        mine.chat_id,
        None,  # the leftover in trash/
    }


async def test_a_workspace_nothing_knows_of_is_an_error(service: Service) -> None:
    await written_chat(service)

    with pytest.raises(WorkspaceNotFoundError):
        await service.run.check_consistency(ORPHAN)


async def test_progress_counts_every_chat_checked_and_repaired(service: Service) -> None:
    chat = await written_chat(service)
    await written_chat(service, OTHER_USER)
    await file_written_behind_the_back(service, chat)
    progress = RecordingProgress()

    found = await service.run.check_consistency(progress=progress)
    await service.run.repair_consistency(found, progress=progress)

    assert progress.stages == [
        ("checking chats", 2),
        ("repairing chats", 1),
        ("checking chats", 2),
    ]
    assert progress.steps == 5
    assert progress.ended == 3


def test_a_difference_reads_as_its_subject_and_detail() -> None:
    assert str(Difference(K.USED_BYTES, "used_bytes recorded 1, disk 2", ORPHAN, ORPHAN)) == (
        f"chat {ORPHAN}: used_bytes recorded 1, disk 2"
    )
    assert str(Difference(K.WORKSPACE_SUMS, "x", workspace_id=ORPHAN)) == f"workspace {ORPHAN}: x"
    assert str(Difference(K.LEFTOVER, "left", path="trash/a")) == "trash/a: left"


async def test_kept_bytes_of_a_workspace_with_no_chat_directory_left_are_removed(
    service: Service,
) -> None:
    await written_chat(service)
    stray = service.root / "revisions" / str(ORPHAN) / str(ORPHAN)
    stray.mkdir(parents=True)
    (stray / "1.md").write_bytes(b"# kept for nobody\n")

    found = await service.run.check_consistency()
    remaining = await service.run.repair_consistency(found)

    assert [each.kind for each in found.differences] == [K.CHAT_RECORD_MISSING]
    assert remaining.differences == ()
    assert not stray.exists()


async def test_a_chat_from_before_revisions_gets_no_revision_from_the_check(
    service: Service,
) -> None:
    chat = await service.new_chat()
    await service.metadata.revisions.delete_by_chat_id(chat.chat_id)  # as before revisions

    assert (await service.run.check_consistency()).consistent
    assert await service.metadata.revisions.list_newest_first(chat.chat_id, 10, None) == []

    await history_changed_by_a_sandbox(service, chat)
    found = await service.run.check_consistency()

    written = hashlib.sha256(b"a sandbox wrote this\n").hexdigest()[:12]
    assert [str(each) for each in found.differences if each.kind is K.HISTORY_UNRECORDED] == [
        f"chat {chat.chat_id}: history revisions disagree with history.md: no revision is"
        f" recorded, history.md is 21 bytes (sha256 {written}...)"
    ]
    assert await service.metadata.revisions.list_newest_first(chat.chat_id, 10, None) == []
    assert (await service.run.repair_consistency(found)).consistent
