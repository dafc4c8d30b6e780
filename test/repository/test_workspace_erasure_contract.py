"""What erasing a workspace (`DELETE /v1/workspace`, ADR 0024) needs of every repository, on
every metadata store: its chats listed and removed with their file records and revisions,
the sessions of many chats found and removed at once, its usage forgotten, its record
removed; and another workspace's records left exactly as they were. Scrubbing the store
afterwards leaves no byte of the erased records in a SQLite store's files."""

from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from domain.chat import Chat
from domain.history_revision import RevisionSource
from domain.paging import PageRequest
from domain.sandbox_session import SandboxSession
from domain.workspace import Workspace
from repository.sql_store import sqlite_metadata_store
from test.leftovers import files_holding, traces_of
from test.repository.records import T0, at, chat, chat_file, revision, session, workspace
from usecase.erasure import erase_records
from usecase.ports.metadata import MetadataStore
from usecase.ports.usage import WorkspaceBytes

pytestmark = pytest.mark.anyio

QUOTA = 10_000
# More than one statement's worth of ids for the SQL stores (sql_session.IDS_PER_STATEMENT).
MANY_CHATS = 1_234


@dataclass(frozen=True, slots=True)
class Owned:
    """A workspace with two chats, each with a file, a revision, an ended session and usage
    counted; the second chat's session is still active."""

    workspace: Workspace
    chats: list[Chat]
    active: SandboxSession

    @property
    def workspace_id(self) -> UUID:
        return self.workspace.workspace_id


async def owned(store: MetadataStore) -> Owned:
    owner = workspace()
    await store.workspaces.save(owner)
    chats = sorted(
        (chat(owner.workspace_id, at(index)) for index in range(2)), key=lambda c: c.chat_id
    )
    for index, held in enumerate(chats):
        await store.chats.save(held)
        await store.files.save(chat_file(held.chat_id, "notes.txt", size_bytes=10))
        await store.revisions.add(revision(held.chat_id, 0, RevisionSource.CREATE))
        ended = session(held.chat_id, T0, ttl_seconds=5)
        assert await store.sessions.add(ended, T0)
        await store.sessions.save(ended.ended(at(1)))
        await store.usage.set_chat_bytes(owner.workspace_id, held.chat_id, 10 + index, 0, 3)
    active = session(chats[1].chat_id, at(2), ttl_seconds=60)
    assert await store.sessions.add(active, at(2))
    return Owned(owner, chats, active)


async def erase_owned(store: MetadataStore, of: Owned) -> None:
    """Every record of the workspace, removed in one unit as the erasure does."""
    async with store.transaction() as tx:
        chat_ids = await tx.chats.ids_by_workspace_id(of.workspace_id)
        await erase_records(tx, of.workspace_id, chat_ids)


async def records_of(store: MetadataStore, of: Owned) -> tuple[object, ...]:
    """Everything the store answers about the workspace and its chats."""
    per_chat = [
        (
            await store.chats.get(held.chat_id),
            await store.files.list_all_by_chat_id(held.chat_id),
            await store.revisions.list_newest_first(held.chat_id, 10, None),
            await store.sessions.get_active_by_chat_id(held.chat_id, at(3)),
            await store.usage.history_bytes(held.chat_id),
            await store.usage.revision_bytes(held.chat_id),
        )
        for held in of.chats
    ]
    return (
        await store.workspaces.get(of.workspace_id),
        await store.workspaces.get_by_user_id(of.workspace.user_id),
        await store.chats.list_by_workspace_id(of.workspace_id, PageRequest()),
        await store.usage.workspace_bytes(of.workspace_id),
        *per_chat,
    )


async def test_a_workspaces_chat_ids_are_listed_in_id_order(store: MetadataStore) -> None:
    mine, theirs = await owned(store), await owned(store)

    assert await store.chats.ids_by_workspace_id(mine.workspace_id) == [
        held.chat_id for held in mine.chats
    ]
    assert await store.chats.ids_by_workspace_id(theirs.workspace_id) == [
        held.chat_id for held in theirs.chats
    ]
    assert await store.chats.ids_by_workspace_id(uuid4()) == []


async def test_deleting_a_workspaces_chats_removes_their_files_and_revisions_only(
    store: MetadataStore,
) -> None:
    mine, theirs = await owned(store), await owned(store)
    kept = await records_of(store, theirs)

    await store.chats.delete_by_workspace_id(mine.workspace_id)

    assert await store.chats.ids_by_workspace_id(mine.workspace_id) == []
    for held in mine.chats:
        assert await store.chats.get(held.chat_id) is None
        assert await store.files.list_all_by_chat_id(held.chat_id) == []
        assert await store.revisions.latest(held.chat_id) is None
    assert await records_of(store, theirs) == kept


async def test_an_active_session_is_found_among_many_chats(store: MetadataStore) -> None:
    chat_ids = [uuid4() for _ in range(MANY_CHATS)]
    for chat_id in chat_ids[:: MANY_CHATS // 3]:
        ended = session(chat_id, T0)
        assert await store.sessions.add(ended, T0)
        await store.sessions.save(ended.ended(at(1)))
    active = session(chat_ids[-1], at(2))
    assert await store.sessions.add(active, at(2))

    assert await store.sessions.get_active_by_chat_ids(chat_ids, at(3)) == active
    assert await store.sessions.get_active_by_chat_ids(chat_ids[:-1], at(3)) is None
    assert await store.sessions.get_active_by_chat_ids(chat_ids, at(63)) is None  # expired
    assert await store.sessions.get_active_by_chat_ids([], at(3)) is None


async def test_of_several_active_sessions_the_newest_started_is_found(
    store: MetadataStore,
) -> None:
    older, newer = session(uuid4(), at(1)), session(uuid4(), at(2))
    for started in (newer, older):
        assert await store.sessions.add(started, started.started_at)

    assert await store.sessions.get_active_by_chat_ids([older.chat_id, newer.chat_id], at(3)) == (
        newer
    )


async def test_deleting_the_sessions_of_many_chats_leaves_other_chats_sessions(
    store: MetadataStore,
) -> None:
    chat_ids = [uuid4() for _ in range(MANY_CHATS)]
    added = [session(chat_id, T0) for chat_id in (chat_ids[0], chat_ids[-1])]
    other = session(uuid4(), T0)
    for started in (*added, other):
        assert await store.sessions.add(started, T0)

    await store.sessions.delete_by_chat_ids(chat_ids)

    assert [await store.sessions.get(started.session_id) for started in added] == [None, None]
    assert await store.sessions.get(other.session_id) == other
    assert await store.sessions.get_active_by_chat_id(other.chat_id, at(1)) == other


async def test_deleting_a_workspaces_usage_forgets_its_chats_and_sums_only(
    store: MetadataStore,
) -> None:
    mine, theirs = await owned(store), await owned(store)
    kept = await store.usage.workspace_bytes(theirs.workspace_id)

    await store.usage.delete_workspace(mine.workspace_id)

    assert await store.usage.workspace_bytes(mine.workspace_id) == WorkspaceBytes(0, 0)
    for held in mine.chats:
        assert await store.usage.history_bytes(held.chat_id) == 0
        assert await store.usage.revision_bytes(held.chat_id) == 0
    assert await store.usage.workspace_bytes(theirs.workspace_id) == kept == WorkspaceBytes(21, 6)
    # Counting starts again from nothing.
    assert await store.usage.try_add(mine.workspace_id, mine.chats[0].chat_id, 5, QUOTA)
    assert await store.usage.workspace_bytes(mine.workspace_id) == WorkspaceBytes(5, 0)


async def test_a_deleted_workspace_is_gone_by_id_and_by_user(store: MetadataStore) -> None:
    gone, kept = workspace(), workspace()
    for saved in (gone, kept):
        await store.workspaces.save(saved)

    await store.workspaces.delete(gone.workspace_id)
    await store.workspaces.delete(uuid4())  # unknown: a no-op

    assert await store.workspaces.get(gone.workspace_id) is None
    assert await store.workspaces.get_by_user_id(gone.user_id) is None
    assert await store.workspaces.get_by_user_id(kept.user_id) == kept


async def test_after_its_workspace_is_deleted_a_user_gets_a_new_one(
    store: MetadataStore,
) -> None:
    gone = workspace()
    await store.workspaces.save(gone)
    await store.workspaces.delete(gone.workspace_id)
    new = workspace(user_id=gone.user_id)

    assert await store.workspaces.add_if_absent(new) == (new, True)
    assert await store.workspaces.get_by_user_id(gone.user_id) == new


async def test_a_workspace_erased_in_one_unit_leaves_no_record_and_the_other_as_it_was(
    store: MetadataStore,
) -> None:
    mine, theirs = await owned(store), await owned(store)
    kept = await records_of(store, theirs)

    await erase_owned(store, mine)

    nothing: tuple[object, ...] = (None, None, [], WorkspaceBytes(0, 0))
    nothing += ((None, [], [], None, 0, 0),) * len(mine.chats)
    assert await records_of(store, mine) == nothing
    assert await store.sessions.get(mine.active.session_id) is None
    assert await records_of(store, theirs) == kept


async def test_scrubbing_the_store_keeps_every_record_not_deleted(store: MetadataStore) -> None:
    mine, theirs = await owned(store), await owned(store)
    kept = await records_of(store, theirs)
    await erase_owned(store, mine)

    await store.scrub()
    await store.scrub()  # again, with nothing new to scrub

    assert await records_of(store, theirs) == kept


async def test_scrubbed_sqlite_files_hold_no_byte_of_an_erased_workspace(tmp_path: Path) -> None:
    store = sqlite_metadata_store(tmp_path / "metadata.db")
    await store.open()
    try:
        mine, theirs = await owned(store), await owned(store)
        await store.files.save(chat_file(mine.chats[0].chat_id, "zebra-named-secret.txt"))
        await erase_owned(store, mine)

        await store.scrub()

        ids = [mine.workspace_id, mine.workspace.user_id, *(held.chat_id for held in mine.chats)]
        assert files_holding(tmp_path, traces_of(ids, "zebra-named-secret")) == {}
        assert await store.workspaces.get(theirs.workspace_id) == theirs.workspace
    finally:
        await store.close()
