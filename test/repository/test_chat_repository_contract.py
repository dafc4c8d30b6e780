from uuid import uuid4

import pytest

from domain.chat import Chat
from domain.paging import PageCursor, PageRequest
from test.repository.records import (
    T0,
    at,
    chat,
    chat_file,
    many_created_at,
    read_all_pages,
    shuffled,
    stored_workspace,
    uid,
)
from usecase.ports.metadata import MetadataStore
from usecase.ports.records import ChatRepository

pytestmark = pytest.mark.anyio


def position_of(item: Chat) -> PageCursor:
    return PageCursor(item.created_at, item.chat_id)


def in_list_order(items: list[Chat]) -> list[Chat]:
    return sorted(items, key=lambda item: (item.created_at, item.chat_id))


async def save_all(chats: ChatRepository, items: list[Chat]) -> None:
    for item in items:
        await chats.save(item)


async def test_unknown_chat_is_not_found(chats: ChatRepository) -> None:
    assert await chats.get(uuid4()) is None


async def test_saved_chat_is_found_by_id(store: MetadataStore, chats: ChatRepository) -> None:
    saved = chat(await stored_workspace(store))

    await chats.save(saved)

    assert await chats.get(saved.chat_id) == saved


async def test_saving_a_chat_again_keeps_one_record(
    store: MetadataStore, chats: ChatRepository
) -> None:
    saved = chat(await stored_workspace(store))

    await chats.save(saved)
    await chats.save(saved)

    assert await chats.list_by_workspace_id(saved.workspace_id, PageRequest()) == [saved]


async def test_workspace_without_chats_lists_nothing(
    store: MetadataStore, chats: ChatRepository
) -> None:
    empty = await stored_workspace(store)
    await chats.save(chat(await stored_workspace(store)))

    assert await chats.list_by_workspace_id(empty, PageRequest()) == []


async def test_chats_are_listed_only_in_their_own_workspace(
    store: MetadataStore, chats: ChatRepository
) -> None:
    mine, theirs = await stored_workspace(store), await stored_workspace(store)
    my_chats = [chat(mine, at(second)) for second in range(3)]
    their_chats = [chat(theirs, at(second)) for second in range(3)]

    await save_all(chats, shuffled(my_chats + their_chats))

    assert await chats.list_by_workspace_id(mine, PageRequest()) == my_chats
    assert await chats.list_by_workspace_id(theirs, PageRequest()) == their_chats


async def test_chats_are_listed_oldest_first(store: MetadataStore, chats: ChatRepository) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, at(second)) for second in (30, 10, 20)]

    await save_all(chats, items)

    assert await chats.list_by_workspace_id(workspace_id, PageRequest()) == in_list_order(items)


async def test_chats_created_at_the_same_instant_are_listed_by_id(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, T0, uid(number)) for number in (3, 1, 2)]

    await save_all(chats, items)

    listed = await chats.list_by_workspace_id(workspace_id, PageRequest())
    assert [item.chat_id for item in listed] == [uid(1), uid(2), uid(3)]


async def test_listing_returns_at_most_limit_chats(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, at(second)) for second in range(5)]
    await save_all(chats, shuffled(items))

    assert await chats.list_by_workspace_id(workspace_id, PageRequest(limit=2)) == items[:2]


async def test_paging_through_250_chats_returns_each_once_in_order(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, created_at) for created_at in many_created_at(250)]
    await save_all(chats, shuffled(items))

    pages = await read_all_pages(
        lambda page: chats.list_by_workspace_id(workspace_id, page),
        position_of,
        limit=100,
        max_pages=10,
    )

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [item for page in pages for item in page] == in_list_order(items)


async def test_page_starts_strictly_after_the_cursor(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, at(second)) for second in range(4)]
    await save_all(chats, shuffled(items))

    page = PageRequest(after=position_of(items[1]))

    assert await chats.list_by_workspace_id(workspace_id, page) == items[2:]


async def test_cursor_between_two_instants_starts_at_the_next_chat(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, at(second)) for second in range(4)]
    await save_all(chats, shuffled(items))

    page = PageRequest(after=PageCursor(at(1.5), uuid4()))

    assert await chats.list_by_workspace_id(workspace_id, page) == items[2:]


async def test_cursor_between_two_ids_of_one_instant_starts_at_the_greater_id(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, T0, uid(number)) for number in (10, 30)]
    later = chat(workspace_id, at(1))
    await save_all(chats, [*items, later])

    page = PageRequest(after=PageCursor(T0, uid(20)))

    assert await chats.list_by_workspace_id(workspace_id, page) == [items[1], later]


async def test_cursor_past_the_last_chat_gives_an_empty_page(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, at(second)) for second in range(3)]
    await save_all(chats, items)

    page = PageRequest(after=position_of(items[-1]))

    assert await chats.list_by_workspace_id(workspace_id, page) == []


async def test_cursor_of_a_deleted_chat_still_marks_its_position(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    items = [chat(workspace_id, at(second)) for second in range(3)]
    await save_all(chats, items)
    await chats.delete(items[1].chat_id)

    page = PageRequest(after=position_of(items[1]))

    assert await chats.list_by_workspace_id(workspace_id, page) == [items[2]]


async def test_deleted_chat_is_gone_by_id_and_from_its_list(
    store: MetadataStore, chats: ChatRepository
) -> None:
    workspace_id = await stored_workspace(store)
    kept, deleted = chat(workspace_id, at(0)), chat(workspace_id, at(1))
    await save_all(chats, [kept, deleted])

    await chats.delete(deleted.chat_id)

    assert await chats.get(deleted.chat_id) is None
    assert await chats.list_by_workspace_id(workspace_id, PageRequest()) == [kept]


async def test_deleting_a_chat_deletes_its_file_records_only(store: MetadataStore) -> None:
    workspace_id = await stored_workspace(store)
    deleted, kept = chat(workspace_id), chat(workspace_id)
    await save_all(store.chats, [deleted, kept])
    gone, other = chat_file(deleted.chat_id, "a.txt"), chat_file(kept.chat_id, "a.txt")
    await store.files.save(gone)
    await store.files.save(other)

    await store.chats.delete(deleted.chat_id)

    assert await store.files.get(gone.file_id) is None
    assert await store.files.list_all_by_chat_id(deleted.chat_id) == []
    assert await store.files.get(other.file_id) == other


async def test_deleting_an_unknown_chat_changes_nothing(
    store: MetadataStore, chats: ChatRepository
) -> None:
    saved = chat(await stored_workspace(store))
    await chats.save(saved)

    await chats.delete(uuid4())

    assert await chats.list_by_workspace_id(saved.workspace_id, PageRequest()) == [saved]


async def test_changing_a_listed_page_does_not_change_the_store(
    store: MetadataStore, chats: ChatRepository
) -> None:
    saved = chat(await stored_workspace(store))
    await chats.save(saved)

    listed = await chats.list_by_workspace_id(saved.workspace_id, PageRequest())
    listed.clear()

    assert await chats.list_by_workspace_id(saved.workspace_id, PageRequest()) == [saved]


async def test_instants_keep_their_microseconds(store: MetadataStore) -> None:
    saved = chat(await stored_workspace(store), at(0.000001))
    later = chat(saved.workspace_id, at(0.000002))
    await save_all(store.chats, [later, saved])

    assert await store.chats.get(saved.chat_id) == saved
    assert await store.chats.list_by_workspace_id(saved.workspace_id, PageRequest()) == [
        saved,
        later,
    ]
