"""FilesystemWorkspaceErasure on a real data directory: the note an erasure keeps while it is
under way, and a workspace's bytes moved out of sight in one rename each and then removed,
links never followed, another workspace's bytes and marks left as they were."""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from adapter.fs.chat_storage import FilesystemChatStorage
from adapter.fs.erasure import FilesystemWorkspaceErasure
from adapter.fs.layout import ERASURES, TRASH
from adapter.fs.unsettled import UNSETTLED, journal_name, mark, note
from domain.attachment_name import ChatAttachmentName
from domain.errors import StorageUnavailableError
from test.leftovers import paths_naming, tree

pytestmark = pytest.mark.anyio


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.fixture
async def storage(data_dir: Path) -> FilesystemChatStorage:
    prepared = FilesystemChatStorage(data_dir)
    await prepared.prepare()
    return prepared


@pytest.fixture
def erasure(data_dir: Path) -> FilesystemWorkspaceErasure:
    return FilesystemWorkspaceErasure(data_dir)


async def filled_workspace(
    storage: FilesystemChatStorage, data_dir: Path, outside: Path
) -> tuple[UUID, list[UUID]]:
    """A workspace of two chats, each with a history replaced once (so a run is kept under
    `revisions/`), an attachment, what a sandbox wrote (a nested directory, a link out of
    the data directory, a FIFO), and a crash mark with its note and a commit journal."""
    workspace_id, chat_ids = uuid4(), [uuid4(), uuid4()]
    for chat_id in chat_ids:
        await storage.ensure_chat(workspace_id, chat_id)
        for content in (b"# first\n", b"# second\n"):
            staged = await storage.stage(chunks_of(content))
            await storage.write_history(workspace_id, chat_id, staged, keep_run=1)
        staged = await storage.stage(chunks_of(b"attached"))
        await storage.commit_attachments(
            workspace_id, chat_id, [(ChatAttachmentName("notes.txt"), staged)]
        )
        directory = data_dir / "workspaces" / str(workspace_id) / "chats" / str(chat_id)
        (directory / "build" / "logs").mkdir(parents=True)
        (directory / "build" / "logs" / "run.log").write_bytes(b"sandbox output")
        (directory / "escape").symlink_to(outside)
        (directory / "escape-dir").symlink_to(outside.parent, target_is_directory=True)
        os.mkfifo(directory / "pipe")
        mark(data_dir, workspace_id, chat_id, b"")
        note(data_dir, workspace_id, chat_id, [])
        (data_dir / UNSETTLED / journal_name(workspace_id, chat_id)).mkdir()
        (data_dir / UNSETTLED / journal_name(workspace_id, chat_id) / "kept").write_bytes(b"k")
    assert (data_dir / "revisions" / str(workspace_id) / str(chat_ids[0]) / "1.md").exists()
    return workspace_id, chat_ids


async def test_a_noted_erasure_is_listed_until_its_note_is_dropped(
    storage: FilesystemChatStorage, erasure: FilesystemWorkspaceErasure, data_dir: Path
) -> None:
    first, second = sorted([uuid4(), uuid4()])
    assert await erasure.noted_erasures() == []

    for workspace_id in (second, first, second):  # noting again changes nothing
        await erasure.note_erasure(workspace_id)

    assert await erasure.noted_erasures() == [first, second]
    await erasure.drop_erasure_note(second)
    await erasure.drop_erasure_note(second)  # a no-op once gone
    assert await erasure.noted_erasures() == [first]
    assert sorted(path.name for path in (data_dir / ERASURES).iterdir()) == [str(first)]


async def test_a_name_in_the_notes_directory_that_is_no_workspace_id_is_ignored(
    storage: FilesystemChatStorage, erasure: FilesystemWorkspaceErasure, data_dir: Path
) -> None:
    await erasure.note_erasure(workspace_id := uuid4())
    (data_dir / ERASURES / "stray.tmp").write_bytes(b"")

    assert await erasure.noted_erasures() == [workspace_id]


async def test_hiding_then_purging_a_workspace_removes_every_byte_of_it_and_nothing_else(
    storage: FilesystemChatStorage,
    erasure: FilesystemWorkspaceErasure,
    data_dir: Path,
    outside_file: Path,
) -> None:
    erased, erased_chats = await filled_workspace(storage, data_dir, outside_file)
    kept, kept_chats = await filled_workspace(storage, data_dir, outside_file)

    def untouched() -> dict[str, object]:
        """The other workspace's entries, and what the links point at."""
        kept_entries = {path: entry for path, entry in tree(data_dir).items() if str(kept) in path}
        return {**kept_entries, "outside": tree(outside_file.parent)}

    before = untouched()

    await erasure.hide_workspace(erased)

    in_sight = paths_naming(data_dir, [erased, *erased_chats])
    assert in_sight
    assert [path for path in in_sight if not path.startswith(f"{TRASH}/")] == []
    assert untouched() == before

    await erasure.purge_workspace(erased)

    assert paths_naming(data_dir, [erased, *erased_chats]) == []
    assert list((data_dir / TRASH).iterdir()) == []
    assert untouched() == before
    # Each kept chat's mark, its note, its journal and what that kept aside.
    assert len(paths_naming(data_dir / UNSETTLED, kept_chats)) == 4 * len(kept_chats)


async def test_hiding_and_purging_a_workspace_with_no_bytes_is_a_no_op(
    storage: FilesystemChatStorage, erasure: FilesystemWorkspaceErasure, data_dir: Path
) -> None:
    before = tree(data_dir)

    await erasure.hide_workspace(uuid4())
    await erasure.purge_workspace(uuid4())

    assert tree(data_dir) == before


async def test_hiding_again_after_a_crash_between_its_steps_finishes_the_job(
    storage: FilesystemChatStorage,
    erasure: FilesystemWorkspaceErasure,
    data_dir: Path,
    outside_file: Path,
) -> None:
    erased, erased_chats = await filled_workspace(storage, data_dir, outside_file)
    await erasure.hide_workspace(erased)
    # As if the revisions had not been moved yet when the process died.
    [revisions] = [path for path in (data_dir / TRASH).iterdir() if path.name.endswith("sions")]
    revisions.rename(data_dir / "revisions" / str(erased))

    await erasure.hide_workspace(erased)
    await erasure.purge_workspace(erased)

    assert paths_naming(data_dir, [erased, *erased_chats]) == []


async def test_hiding_fails_as_unavailable_storage_when_the_trash_is_gone(
    storage: FilesystemChatStorage,
    erasure: FilesystemWorkspaceErasure,
    data_dir: Path,
    outside_file: Path,
) -> None:
    erased, _ = await filled_workspace(storage, data_dir, outside_file)
    (data_dir / TRASH).rmdir()
    before = tree(data_dir)

    with pytest.raises(StorageUnavailableError):
        await erasure.hide_workspace(erased)

    assert tree(data_dir) == before
    await erasure.purge_workspace(erased)  # never raises
