"""FilesystemCensus: what the data directory holds, read without making or changing a
thing in it, and leftovers cleared as start-up clears them."""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from adapter.fs.census import FilesystemCensus
from adapter.fs.chat_storage import FilesystemChatStorage
from adapter.fs.staging_area import StagingArea
from test.disk import staged_files
from usecase.ports.census import ChatOnDisk, Leftover, WorkspaceOnDisk

pytestmark = pytest.mark.anyio


def tree(root: Path) -> list[tuple[str, int]]:
    """Every path under `root` with its mtime: what a read-only call must leave as it was."""
    found = []
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(directory) / name
            found.append((str(path.relative_to(root)), path.lstat().st_mtime_ns))
    return sorted(found)


@pytest.fixture
def bare_data_dir(data_dir: Path) -> Path:
    """A data directory no service has prepared: none of its own directories in it."""
    data_dir.mkdir()
    return data_dir


def names_in(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


@pytest.fixture
async def storage(data_dir: Path) -> FilesystemChatStorage:
    prepared = FilesystemChatStorage(data_dir)
    await prepared.prepare()
    return prepared


async def test_chats_are_listed_by_directory_and_by_kept_revisions(
    data_dir: Path, storage: FilesystemChatStorage
) -> None:
    workspace_id, with_dir, with_both, kept_only = uuid4(), uuid4(), uuid4(), uuid4()
    for chat_id in (with_dir, with_both):
        await storage.ensure_chat(workspace_id, chat_id)
    for chat_id in (with_both, kept_only):
        (data_dir / "revisions" / str(workspace_id) / str(chat_id)).mkdir(parents=True)
    census = FilesystemCensus(data_dir)

    assert await census.workspace_ids() == [workspace_id]
    assert await census.workspace(workspace_id) == WorkspaceOnDisk(
        frozenset({with_dir, with_both}), frozenset({with_both, kept_only})
    )
    assert await census.chat(workspace_id, with_both) == ChatOnDisk(directory=True, revisions=True)
    assert await census.chat(workspace_id, kept_only) == ChatOnDisk(directory=False, revisions=True)
    assert await census.chat(uuid4(), uuid4()) == ChatOnDisk(directory=False, revisions=False)


async def test_links_files_and_names_that_are_no_id_are_not_chats(
    data_dir: Path, storage: FilesystemChatStorage, outside_dir: Path
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await storage.ensure_chat(workspace_id, chat_id)
    chats = data_dir / "workspaces" / str(workspace_id) / "chats"
    (chats / str(uuid4())).symlink_to(outside_dir)
    (chats / str(uuid4())).write_bytes(b"a file")
    (chats / "not-an-id").mkdir()
    (chats / str(uuid4()).upper()).mkdir()  # an id, but not as the service spells it
    (data_dir / "workspaces" / str(uuid4())).symlink_to(outside_dir)
    census = FilesystemCensus(data_dir)

    assert await census.workspace_ids() == [workspace_id]
    assert (await census.workspace(workspace_id)).directories == {chat_id}


async def test_marks_are_listed_without_making_their_directory(bare_data_dir: Path) -> None:
    data_dir = bare_data_dir
    census = FilesystemCensus(data_dir)

    assert await census.marked_chats() == []
    assert not (data_dir / "unsettled").exists()

    workspace_id, chat_id = uuid4(), uuid4()
    (data_dir / "unsettled").mkdir()
    (data_dir / "unsettled" / f"{workspace_id}_{chat_id}").touch()
    assert await census.marked_chats() == [(workspace_id, chat_id)]


async def test_reads_change_nothing_on_disk(data_dir: Path, storage: FilesystemChatStorage) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await storage.ensure_chat(workspace_id, chat_id)
    dead = StagingArea(data_dir)
    dead.claim()
    dead.release()
    (data_dir / "trash" / "gone").mkdir()
    before = tree(data_dir)
    census = FilesystemCensus(data_dir)

    await census.workspace_ids()
    await census.workspace(workspace_id)
    await census.chat(workspace_id, chat_id)
    await census.marked_chats()
    await census.leftovers()

    assert tree(data_dir) == before


async def test_leftovers_are_dead_staging_areas_and_trash_entries(
    data_dir: Path, storage: FilesystemChatStorage
) -> None:
    dead = StagingArea(data_dir)
    dead.claim()
    dead.release()  # what the kernel does when the process dies
    (data_dir / "staging" / "loose.tmp").write_bytes(b"x")
    (data_dir / "trash" / "chat.1234").mkdir()
    census = FilesystemCensus(data_dir)

    assert await census.leftovers() == [
        Leftover("staging", dead.name),
        Leftover("staging", "loose.tmp"),
        Leftover("trash", "chat.1234"),
    ]


async def test_a_live_processs_staging_area_is_no_leftover(
    data_dir: Path, storage: FilesystemChatStorage
) -> None:
    # `storage` claimed an area for this process, and holds it.
    staged = await storage.stage(_chunks(b"in flight"))
    census = FilesystemCensus(data_dir)

    assert await census.leftovers() == []

    [area] = [name for name in names_in(data_dir / "staging") if not name.endswith(".owner")]
    await census.clear_leftovers([Leftover("staging", area)])  # named, but alive
    assert len(staged_files(data_dir)) == 1
    await storage.discard(staged)


async def test_clearing_leftovers_removes_those_named_and_nothing_behind_a_link(
    data_dir: Path, storage: FilesystemChatStorage, outside_dir: Path
) -> None:
    dead = StagingArea(data_dir)
    dead.claim()
    dead.release()
    (outside_dir / "kept").write_bytes(b"kept")
    (data_dir / "trash" / "link").symlink_to(outside_dir)
    (data_dir / "trash" / "chat.1234").mkdir()
    (data_dir / "trash" / "chat.1234" / "history.md").write_bytes(b"# gone")
    census = FilesystemCensus(data_dir)
    found = await census.leftovers()
    (data_dir / "trash" / "since").mkdir()  # a deletion that began after the listing

    await census.clear_leftovers(found)

    assert await census.leftovers() == [Leftover("trash", "since")]
    assert (outside_dir / "kept").read_bytes() == b"kept"


async def test_a_data_directory_without_service_directories_has_nothing(
    bare_data_dir: Path,
) -> None:
    census = FilesystemCensus(bare_data_dir)

    assert await census.workspace_ids() == []
    assert await census.workspace(UUID(int=1)) == WorkspaceOnDisk(frozenset(), frozenset())
    assert await census.leftovers() == []
    await census.clear_leftovers([Leftover("trash", "gone"), Leftover("staging", "gone")])
    assert names_in(bare_data_dir) == []


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
