"""MetadataStore.transaction: the writes of one unit of work are kept together or not at
all, on every store. Each change below makes two or more writes; raised between them, the
error leaves neither, and the store answers exactly as before the unit began."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import pytest

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.history_revision import RevisionSource
from domain.paging import PageRequest
from test.repository.records import T0, at, chat, chat_file, revision, session, workspace
from usecase.erasure import erase_records
from usecase.ports.metadata import MetadataStore, Repositories

pytestmark = pytest.mark.anyio

QUOTA = 1_000


@dataclass(frozen=True, slots=True)
class Scene:
    """A workspace holding one chat with one file, its first history revision, an active
    session and usage counted, revision bytes among it."""

    workspace_id: UUID
    chat: Chat
    kept: ChatFile


async def scene(store: MetadataStore) -> Scene:
    owner = workspace()
    await store.workspaces.save(owner)
    held = chat(owner.workspace_id)
    await store.chats.save(held)
    kept = chat_file(held.chat_id, "kept.txt", size_bytes=10)
    await store.files.save(kept)
    await store.revisions.add(revision(held.chat_id, 0, RevisionSource.CREATE))
    assert await store.sessions.add(session(held.chat_id), T0)
    await store.usage.set_chat_bytes(owner.workspace_id, held.chat_id, 10, 0, 4)
    return Scene(owner.workspace_id, held, kept)


async def seen(store: MetadataStore, at_scene: Scene) -> tuple[object, ...]:
    """Everything a reader can ask the store about the scene's workspace and chat."""
    chat_id = at_scene.chat.chat_id
    return (
        await store.workspaces.get(at_scene.workspace_id),
        await store.chats.get(chat_id),
        await store.chats.list_by_workspace_id(at_scene.workspace_id, PageRequest()),
        await store.files.list_all_by_chat_id(chat_id),
        await store.files.get(at_scene.kept.file_id),
        await store.sessions.get_active_by_chat_id(chat_id, at(1)),
        (await store.usage.workspace_bytes(at_scene.workspace_id)).used_bytes,
        (await store.usage.workspace_bytes(at_scene.workspace_id)).revision_bytes,
        await store.usage.history_bytes(chat_id),
        await store.usage.revision_bytes(chat_id),
        await store.revisions.list_newest_first(chat_id, 100, None),
        await store.revisions.latest(chat_id),
        await store.revisions.runs_in_use(chat_id),
    )


Change = Callable[[Repositories, Scene], Awaitable[None]]


async def create_a_chat(tx: Repositories, at_scene: Scene) -> None:
    created = chat(at_scene.workspace_id, at(5))
    await tx.chats.save(created)
    await tx.usage.set_chat_bytes(at_scene.workspace_id, created.chat_id, 0, 0)


async def delete_the_chat(tx: Repositories, at_scene: Scene) -> None:
    chat_id = at_scene.chat.chat_id
    await tx.chats.delete(chat_id)
    await tx.files.delete_by_chat_id(chat_id)
    await tx.sessions.delete_by_chat_id(chat_id)
    await tx.revisions.delete_by_chat_id(chat_id)
    await tx.usage.delete_chat(chat_id)


async def delete_the_file(tx: Repositories, at_scene: Scene) -> None:
    await tx.files.delete(at_scene.kept.file_id)
    assert await tx.usage.try_add(
        at_scene.workspace_id, at_scene.chat.chat_id, -at_scene.kept.size_bytes, QUOTA
    )


async def replace_the_file(tx: Repositories, at_scene: Scene) -> None:
    assert await tx.usage.try_add(at_scene.workspace_id, at_scene.chat.chat_id, 90, QUOTA)
    await tx.files.save(chat_file(at_scene.chat.chat_id, "kept.txt", at(3), size_bytes=100))
    await tx.files.save(chat_file(at_scene.chat.chat_id, "new.txt", at(4), size_bytes=0))


async def rescan_the_chat(tx: Repositories, at_scene: Scene) -> None:
    await tx.files.save(at_scene.kept.with_content(20, "0" * 64))
    await tx.usage.set_chat_bytes(at_scene.workspace_id, at_scene.chat.chat_id, 35, 15)


async def count_a_history(tx: Repositories, at_scene: Scene) -> None:
    chat_id = at_scene.chat.chat_id
    # A PUT keeps the history it replaces as a revision.
    assert await tx.usage.try_set_history(at_scene.workspace_id, chat_id, 50, QUOTA, 20)
    assert await tx.usage.try_add(at_scene.workspace_id, chat_id, 5, QUOTA)


async def append_to_the_history(tx: Repositories, at_scene: Scene) -> None:
    chat_id = at_scene.chat.chat_id
    assert await tx.usage.try_set_history(at_scene.workspace_id, chat_id, 8, QUOTA)
    await tx.revisions.add(revision(chat_id, 1, RevisionSource.APPEND, run=0, size_bytes=8))


async def restore_and_prune_the_history(tx: Repositories, at_scene: Scene) -> None:
    chat_id = at_scene.chat.chat_id
    await tx.revisions.add(revision(chat_id, 1, RevisionSource.RESTORE, size_bytes=3))
    assert len(await tx.revisions.delete_older_than(chat_id, 1)) == 1
    assert await tx.usage.try_set_history(at_scene.workspace_id, chat_id, 3, QUOTA, 0)


async def end_the_session(tx: Repositories, at_scene: Scene) -> None:
    chat_id = at_scene.chat.chat_id
    active = await tx.sessions.get_active_by_chat_id(chat_id, at(1))
    assert active is not None
    await tx.sessions.save(active.ended(at(1)))
    assert await tx.sessions.add(session(chat_id, at(1)), at(1))


async def move_the_workspace_to_a_new_user(tx: Repositories, at_scene: Scene) -> None:
    moved = await tx.workspaces.get(at_scene.workspace_id)
    assert moved is not None
    await tx.workspaces.save(workspace(workspace_id=moved.workspace_id))
    await tx.chats.save(chat(at_scene.workspace_id, at(6)))


async def erase_the_workspace(tx: Repositories, at_scene: Scene) -> None:
    chat_ids = await tx.chats.ids_by_workspace_id(at_scene.workspace_id)
    assert chat_ids == [at_scene.chat.chat_id]
    await erase_records(tx, at_scene.workspace_id, chat_ids)


CHANGES = [
    pytest.param(create_a_chat, id="create-a-chat"),
    pytest.param(delete_the_chat, id="delete-the-chat"),
    pytest.param(delete_the_file, id="delete-the-file"),
    pytest.param(replace_the_file, id="replace-the-file"),
    pytest.param(rescan_the_chat, id="rescan-the-chat"),
    pytest.param(count_a_history, id="count-a-history"),
    pytest.param(append_to_the_history, id="append-to-the-history"),
    pytest.param(restore_and_prune_the_history, id="restore-and-prune-the-history"),
    pytest.param(end_the_session, id="end-the-session"),
    pytest.param(move_the_workspace_to_a_new_user, id="move-the-workspace"),
    pytest.param(erase_the_workspace, id="erase-the-workspace"),
]


class UnitInterruptedError(Exception):
    """Raised inside a unit of work after its writes."""


Work = Callable[[Repositories], Awaitable[None]]


async def unit(store: MetadataStore, work: Work) -> None:
    """Run `work` in a unit of work."""
    async with store.transaction() as tx:
        await work(tx)


async def failing_unit(store: MetadataStore, work: Work) -> None:
    """Run `work` in a unit of work that raises after it."""
    async with store.transaction() as tx:
        await work(tx)
        raise UnitInterruptedError


@pytest.mark.parametrize("change", CHANGES)
async def test_an_error_after_the_writes_of_a_unit_leaves_none_of_them(
    store: MetadataStore, change: Change
) -> None:
    at_scene = await scene(store)
    before = await seen(store, at_scene)

    with pytest.raises(UnitInterruptedError):
        await failing_unit(store, lambda tx: change(tx, at_scene))

    assert await seen(store, at_scene) == before


@pytest.mark.parametrize("change", CHANGES)
async def test_a_unit_that_ends_keeps_all_its_writes(store: MetadataStore, change: Change) -> None:
    at_scene = await scene(store)
    before = await seen(store, at_scene)
    done_alone = await scene(store)  # the same change made without a unit, to compare
    await change(store, done_alone)

    async with store.transaction() as tx:
        await change(tx, at_scene)

    after = await seen(store, at_scene)
    assert after != before
    assert _shape(after) == _shape(await seen(store, done_alone))


def _shape(state: tuple[object, ...]) -> tuple[object, ...]:
    """What a change did, regardless of the ids and times of the records it made: how many
    records each list holds, whether each record exists, and every byte count."""
    return tuple(_shape_of(item) for item in state)


def _shape_of(item: object) -> object:
    if isinstance(item, list | set):
        return len(item)
    if isinstance(item, int):
        return item
    return item is None


async def test_a_unit_reads_its_own_writes(store: MetadataStore) -> None:
    at_scene = await scene(store)
    async with store.transaction() as tx:
        await delete_the_chat(tx, at_scene)
        assert await tx.chats.get(at_scene.chat.chat_id) is None
        assert await tx.files.list_all_by_chat_id(at_scene.chat.chat_id) == []
        assert await tx.revisions.latest(at_scene.chat.chat_id) is None
        assert await tx.usage.charged_bytes(at_scene.workspace_id) == 0


async def test_a_revision_number_taken_twice_undoes_the_unit_it_was_added_in(
    store: MetadataStore,
) -> None:
    at_scene = await scene(store)
    chat_id = at_scene.chat.chat_id
    before = await seen(store, at_scene)

    async def put_twice(tx: Repositories) -> None:
        assert await tx.usage.try_set_history(at_scene.workspace_id, chat_id, 8, QUOTA)
        await tx.revisions.add(revision(chat_id, 1, RevisionSource.PUT, size_bytes=8))
        await tx.revisions.add(revision(chat_id, 0, RevisionSource.PUT, size_bytes=8))

    with pytest.raises(ValueError, match="already has revision 0"):
        await unit(store, put_twice)

    assert await seen(store, at_scene) == before


async def test_undoing_a_unit_keeps_what_another_chat_counted_meanwhile(
    store: MetadataStore,
) -> None:
    at_scene = await scene(store)
    other = chat(at_scene.workspace_id, at(2))
    await store.chats.save(other)
    started = asyncio.Event()

    async def count_the_other_chat() -> None:
        await started.wait()
        assert await store.usage.try_add(at_scene.workspace_id, other.chat_id, 7, QUOTA)

    async def count_this_chat(tx: Repositories) -> None:
        assert await tx.usage.try_add(at_scene.workspace_id, at_scene.chat.chat_id, 30, QUOTA)
        started.set()
        for _ in range(10):
            await asyncio.sleep(0)  # the other write runs now, or waits for the unit

    counting = asyncio.ensure_future(count_the_other_chat())
    with pytest.raises(UnitInterruptedError):
        await failing_unit(store, count_this_chat)
    await counting

    assert await store.usage.charged_bytes(at_scene.workspace_id) == 10 + 4 + 7
