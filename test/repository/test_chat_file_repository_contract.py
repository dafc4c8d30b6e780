import asyncio
from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile
from domain.paging import PageCursor, PageRequest
from test.repository.records import (
    T0,
    at,
    chat_file,
    many_created_at,
    read_all_pages,
    shuffled,
    stored_chat,
    uid,
)
from usecase.ports.metadata import MetadataStore
from usecase.ports.records import ChatFileRepository

pytestmark = pytest.mark.anyio

RACERS = 30


def position_of(item: ChatFile) -> PageCursor:
    return PageCursor(item.created_at, item.file_id)


def in_list_order(items: list[ChatFile]) -> list[ChatFile]:
    return sorted(items, key=lambda item: (item.created_at, item.file_id))


def numbered_files(chat_id: UUID, count: int) -> list[ChatFile]:
    return [chat_file(chat_id, f"file-{index}.txt", at(index)) for index in range(count)]


async def save_all(files: ChatFileRepository, items: list[ChatFile]) -> None:
    for item in items:
        await files.save(item)


async def test_unknown_file_is_not_found(files: ChatFileRepository) -> None:
    assert await files.get(uuid4()) is None
    assert await files.get_by_chat_id_and_name(uuid4(), ChatAttachmentName("a.txt")) is None


async def test_saved_file_is_found_by_id_and_by_name(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    saved = chat_file(await stored_chat(store), "report.pdf")

    await files.save(saved)

    assert await files.get(saved.file_id) == saved
    assert await files.get_by_chat_id_and_name(saved.chat_id, saved.name) == saved


async def test_name_is_looked_up_only_in_its_own_chat(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    saved = chat_file(await stored_chat(store), "report.pdf")
    other_chat = await stored_chat(store)
    await files.save(saved)

    assert await files.get_by_chat_id_and_name(other_chat, saved.name) is None


async def test_names_differing_only_in_case_are_different_files(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    lower, upper = chat_file(chat_id, "a.txt", at(0)), chat_file(chat_id, "A.txt", at(1))

    await save_all(files, [lower, upper])

    assert await files.list_all_by_chat_id(chat_id) == [lower, upper]


async def test_saving_an_existing_file_id_updates_the_record(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    original = chat_file(await stored_chat(store), "notes.txt", size_bytes=3)
    await files.save(original)
    updated = original.with_content(size_bytes=7, sha256="f" * 64)

    await files.save(updated)

    assert await files.get(original.file_id) == updated
    assert await files.get_by_chat_id_and_name(original.chat_id, original.name) == updated
    assert await files.list_all_by_chat_id(original.chat_id) == [updated]


async def test_same_name_save_replaces_the_older_record(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    older = chat_file(chat_id, "notes.txt", at(0))
    newer = chat_file(chat_id, "notes.txt", at(1))
    await files.save(older)

    await files.save(newer)

    assert await files.get(older.file_id) is None
    assert await files.get(newer.file_id) == newer
    assert await files.get_by_chat_id_and_name(chat_id, newer.name) == newer
    assert await files.list_all_by_chat_id(chat_id) == [newer]
    assert await files.list_by_chat_id(chat_id, PageRequest()) == [newer]


async def test_same_name_in_another_chat_replaces_nothing(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    my_chat, their_chat = await stored_chat(store), await stored_chat(store)
    mine, theirs = chat_file(my_chat, "notes.txt"), chat_file(their_chat, "notes.txt")

    await save_all(files, [mine, theirs])

    assert await files.get(mine.file_id) == mine
    assert await files.get(theirs.file_id) == theirs


async def test_concurrent_saves_under_one_name_keep_exactly_one_record(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    candidates = [chat_file(chat_id, "notes.txt", at(index)) for index in range(RACERS)]

    await asyncio.gather(*(files.save(item) for item in candidates))

    kept = await files.get_by_chat_id_and_name(chat_id, ChatAttachmentName("notes.txt"))
    assert kept in candidates
    assert await files.list_all_by_chat_id(chat_id) == [kept]
    assert await files.list_by_chat_id(chat_id, PageRequest()) == [kept]
    assert [await files.get(item.file_id) for item in candidates].count(None) == RACERS - 1


async def test_renaming_a_file_frees_its_old_name(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    original = chat_file(chat_id, "draft.txt", at(0))
    await files.save(original)
    renamed = replace(original, name=ChatAttachmentName("final.txt"))

    await files.save(renamed)
    newcomer = chat_file(chat_id, "draft.txt", at(1))
    await files.save(newcomer)

    assert await files.get_by_chat_id_and_name(chat_id, renamed.name) == renamed
    assert await files.get_by_chat_id_and_name(chat_id, original.name) == newcomer
    assert await files.list_all_by_chat_id(chat_id) == [renamed, newcomer]


async def test_renaming_onto_a_taken_name_replaces_its_holder(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    moved = chat_file(chat_id, "a.txt", at(0))
    holder = chat_file(chat_id, "b.txt", at(1))
    await save_all(files, [moved, holder])
    renamed = replace(moved, name=holder.name)

    await files.save(renamed)

    assert await files.get(holder.file_id) is None
    assert await files.get_by_chat_id_and_name(chat_id, holder.name) == renamed
    assert await files.get_by_chat_id_and_name(chat_id, moved.name) is None
    assert await files.list_all_by_chat_id(chat_id) == [renamed]


async def test_chat_without_files_lists_nothing(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    empty = await stored_chat(store)
    await files.save(chat_file(await stored_chat(store)))

    assert await files.list_by_chat_id(empty, PageRequest()) == []
    assert await files.list_all_by_chat_id(empty) == []


async def test_files_are_listed_only_in_their_own_chat(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    mine, theirs = await stored_chat(store), await stored_chat(store)
    my_files, their_files = numbered_files(mine, 3), numbered_files(theirs, 3)

    await save_all(files, shuffled(my_files + their_files))

    assert await files.list_by_chat_id(mine, PageRequest()) == my_files
    assert await files.list_all_by_chat_id(mine) == my_files
    assert await files.list_by_chat_id(theirs, PageRequest()) == their_files
    assert await files.list_all_by_chat_id(theirs) == their_files


async def test_files_created_at_the_same_instant_are_listed_by_id(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    items = [chat_file(chat_id, f"{number}.txt", T0, uid(number)) for number in (3, 1, 2)]

    await save_all(files, items)

    expected = [uid(1), uid(2), uid(3)]
    assert [item.file_id for item in await files.list_by_chat_id(chat_id, PageRequest())] == (
        expected
    )
    assert [item.file_id for item in await files.list_all_by_chat_id(chat_id)] == expected


async def test_listing_returns_at_most_limit_files(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    items = numbered_files(chat_id, 5)
    await save_all(files, shuffled(items))

    assert await files.list_by_chat_id(chat_id, PageRequest(limit=2)) == items[:2]


async def test_paging_through_250_files_returns_each_once_in_order(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    items = [
        chat_file(chat_id, f"file-{index}.txt", created_at)
        for index, created_at in enumerate(many_created_at(250))
    ]
    await save_all(files, shuffled(items))

    pages = await read_all_pages(
        lambda page: files.list_by_chat_id(chat_id, page), position_of, limit=100, max_pages=10
    )

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [item for page in pages for item in page] == in_list_order(items)
    assert await files.list_all_by_chat_id(chat_id) == in_list_order(items)


async def test_page_starts_strictly_after_the_cursor(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    items = numbered_files(chat_id, 4)
    await save_all(files, shuffled(items))

    page = PageRequest(after=position_of(items[1]))

    assert await files.list_by_chat_id(chat_id, page) == items[2:]


async def test_cursor_between_two_instants_starts_at_the_next_file(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    items = numbered_files(chat_id, 4)
    await save_all(files, shuffled(items))

    page = PageRequest(after=PageCursor(at(1.5), uuid4()))

    assert await files.list_by_chat_id(chat_id, page) == items[2:]


async def test_cursor_between_two_ids_of_one_instant_starts_at_the_greater_id(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    items = [chat_file(chat_id, f"{number}.txt", T0, uid(number)) for number in (10, 30)]
    later = chat_file(chat_id, "later.txt", at(1))
    await save_all(files, [*items, later])

    page = PageRequest(after=PageCursor(T0, uid(20)))

    assert await files.list_by_chat_id(chat_id, page) == [items[1], later]


async def test_deleted_file_is_gone_and_its_name_is_free(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    kept, deleted = chat_file(chat_id, "kept.txt", at(0)), chat_file(chat_id, "gone.txt", at(1))
    await save_all(files, [kept, deleted])

    await files.delete(deleted.file_id)

    assert await files.get(deleted.file_id) is None
    assert await files.get_by_chat_id_and_name(chat_id, deleted.name) is None
    assert await files.list_all_by_chat_id(chat_id) == [kept]
    assert await files.list_by_chat_id(chat_id, PageRequest()) == [kept]


async def test_deleting_an_unknown_file_changes_nothing(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    saved = chat_file(await stored_chat(store))
    await files.save(saved)

    await files.delete(uuid4())

    assert await files.list_all_by_chat_id(saved.chat_id) == [saved]


async def test_deleting_a_chats_files_leaves_other_chats_alone(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    deleted_chat, kept_chat = await stored_chat(store), await stored_chat(store)
    deleted, kept = numbered_files(deleted_chat, 3), numbered_files(kept_chat, 3)
    await save_all(files, deleted + kept)

    await files.delete_by_chat_id(deleted_chat)

    assert await files.list_all_by_chat_id(deleted_chat) == []
    assert await files.list_by_chat_id(deleted_chat, PageRequest()) == []
    assert [await files.get(item.file_id) for item in deleted] == [None, None, None]
    assert await files.get_by_chat_id_and_name(deleted_chat, deleted[0].name) is None
    assert await files.list_all_by_chat_id(kept_chat) == kept


async def test_names_freed_by_deleting_a_chats_files_can_be_used_again(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    chat_id = await stored_chat(store)
    await files.save(chat_file(chat_id, "notes.txt", at(0)))
    await files.delete_by_chat_id(chat_id)
    again = chat_file(chat_id, "notes.txt", at(1))

    await files.save(again)

    assert await files.list_all_by_chat_id(chat_id) == [again]


async def test_deleting_files_of_a_chat_without_files_changes_nothing(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    saved = chat_file(await stored_chat(store))
    await files.save(saved)
    empty = await stored_chat(store)

    await files.delete_by_chat_id(empty)

    assert await files.list_all_by_chat_id(saved.chat_id) == [saved]


async def test_changing_a_listed_page_does_not_change_the_store(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    saved = chat_file(await stored_chat(store))
    await files.save(saved)

    (await files.list_by_chat_id(saved.chat_id, PageRequest())).clear()
    (await files.list_all_by_chat_id(saved.chat_id)).clear()

    assert await files.list_by_chat_id(saved.chat_id, PageRequest()) == [saved]
    assert await files.list_all_by_chat_id(saved.chat_id) == [saved]
