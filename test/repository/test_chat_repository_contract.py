"""The ChatRepository contract beyond paging, which test_paged_listing_contract.py holds."""

from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from domain.chat import Chat, ForkedFrom
from domain.paging import PageCursor, PageRequest
from test.repository.records import at, chat, chat_file, save_all, stored_workspace
from usecase.ports.metadata import MetadataStore
from usecase.ports.records import ChatRepository

pytestmark = pytest.mark.anyio


@pytest.fixture
def chats(store: MetadataStore) -> ChatRepository:
    return store.chats


def position_of(item: Chat) -> PageCursor:
    return PageCursor(item.created_at, item.chat_id)


async def test_unknown_chat_is_not_found(chats: ChatRepository) -> None:
    assert await chats.get(uuid4()) is None


async def test_saved_chat_is_found_by_id(chats: ChatRepository, workspace_id: UUID) -> None:
    saved = chat(workspace_id)

    await chats.save(saved)

    assert await chats.get(saved.chat_id) == saved


async def test_a_fork_keeps_the_chat_and_revision_it_came_from(
    chats: ChatRepository, workspace_id: UUID
) -> None:
    source = chat(workspace_id)
    fork = replace(chat(workspace_id), forked_from=ForkedFrom(source.chat_id, 2**40))

    await chats.save(fork)

    assert await chats.get(fork.chat_id) == fork
    assert (await chats.get(fork.chat_id)).forked_from == ForkedFrom(source.chat_id, 2**40)  # type: ignore[union-attr]


async def test_saving_a_chat_again_keeps_one_record(
    chats: ChatRepository, workspace_id: UUID
) -> None:
    saved = chat(workspace_id)

    await chats.save(saved)
    await chats.save(saved)

    assert await chats.list_by_workspace_id(saved.workspace_id, PageRequest()) == [saved]


async def test_deleted_chat_is_gone_by_id_and_from_its_list(
    chats: ChatRepository, workspace_id: UUID
) -> None:
    kept, deleted = chat(workspace_id, at(0)), chat(workspace_id, at(1))
    await save_all(chats.save, [kept, deleted])

    await chats.delete(deleted.chat_id)

    assert await chats.get(deleted.chat_id) is None
    assert await chats.list_by_workspace_id(workspace_id, PageRequest()) == [kept]


async def test_deleting_a_chat_deletes_its_file_records_only(store: MetadataStore) -> None:
    workspace_id = await stored_workspace(store)
    deleted, kept = chat(workspace_id), chat(workspace_id)
    await save_all(store.chats.save, [deleted, kept])
    gone, other = chat_file(deleted.chat_id, "a.txt"), chat_file(kept.chat_id, "a.txt")
    await store.files.save(gone)
    await store.files.save(other)

    await store.chats.delete(deleted.chat_id)

    assert await store.files.get(gone.file_id) is None
    assert await store.files.list_all_by_chat_id(deleted.chat_id) == []
    assert await store.files.get(other.file_id) == other


async def test_instants_keep_their_microseconds(store: MetadataStore) -> None:
    saved = chat(await stored_workspace(store), at(0.000001))
    later = chat(saved.workspace_id, at(0.000002))
    await save_all(store.chats.save, [later, saved])

    assert await store.chats.get(saved.chat_id) == saved
    assert await store.chats.list_by_workspace_id(saved.workspace_id, PageRequest()) == [
        saved,
        later,
    ]
