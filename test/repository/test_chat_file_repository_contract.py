"""The ChatFileRepository contract beyond paging, which test_paged_listing_contract.py holds."""

import asyncio
from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile
from domain.paging import PageRequest
from test.repository.records import at, chat_file, save_all, stored_chat
from usecase.ports.metadata import MetadataStore
from usecase.ports.records import ChatFileRepository

pytestmark = pytest.mark.anyio


@pytest.fixture
def files(store: MetadataStore) -> ChatFileRepository:
    return store.files


RACERS = 30


def numbered_files(chat_id: UUID, count: int) -> list[ChatFile]:
    return [chat_file(chat_id, f"file-{index}.txt", at(index)) for index in range(count)]


async def assert_chat_lists(
    files: ChatFileRepository, chat_id: UUID, expected: list[ChatFile]
) -> None:
    """The chat's files, listed whole and as a first page, are `expected`."""
    assert await files.list_all_by_chat_id(chat_id) == expected
    assert await files.list_by_chat_id(chat_id, PageRequest()) == expected


async def test_unknown_file_is_not_found(files: ChatFileRepository) -> None:
    assert await files.get(uuid4()) is None
    assert await files.get_by_chat_id_and_name(uuid4(), ChatAttachmentName("a.txt")) is None


async def test_saved_file_is_found_by_id_and_by_name(
    files: ChatFileRepository, chat_id: UUID
) -> None:
    saved = chat_file(chat_id, "report.pdf")

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
    files: ChatFileRepository, chat_id: UUID
) -> None:
    lower, upper = chat_file(chat_id, "a.txt", at(0)), chat_file(chat_id, "A.txt", at(1))

    await save_all(files.save, [lower, upper])

    assert await files.list_all_by_chat_id(chat_id) == [lower, upper]


async def test_saving_an_existing_file_id_updates_the_record(
    files: ChatFileRepository, chat_id: UUID
) -> None:
    original = chat_file(chat_id, "notes.txt", size_bytes=3)
    await files.save(original)
    updated = original.with_content(size_bytes=7, sha256="f" * 64)

    await files.save(updated)

    assert await files.get(original.file_id) == updated
    assert await files.get_by_chat_id_and_name(original.chat_id, original.name) == updated
    assert await files.list_all_by_chat_id(original.chat_id) == [updated]


async def test_same_name_save_replaces_the_older_record(
    files: ChatFileRepository, chat_id: UUID
) -> None:
    older = chat_file(chat_id, "notes.txt", at(0))
    newer = chat_file(chat_id, "notes.txt", at(1))
    await files.save(older)

    await files.save(newer)

    assert await files.get(older.file_id) is None
    assert await files.get(newer.file_id) == newer
    assert await files.get_by_chat_id_and_name(chat_id, newer.name) == newer
    await assert_chat_lists(files, chat_id, [newer])


async def test_same_name_in_another_chat_replaces_nothing(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    my_chat, their_chat = await stored_chat(store), await stored_chat(store)
    mine, theirs = chat_file(my_chat, "notes.txt"), chat_file(their_chat, "notes.txt")

    await save_all(files.save, [mine, theirs])

    assert await files.get(mine.file_id) == mine
    assert await files.get(theirs.file_id) == theirs


async def test_concurrent_saves_under_one_name_keep_exactly_one_record(
    files: ChatFileRepository, chat_id: UUID
) -> None:
    candidates = [chat_file(chat_id, "notes.txt", at(index)) for index in range(RACERS)]

    await asyncio.gather(*(files.save(item) for item in candidates))

    kept = await files.get_by_chat_id_and_name(chat_id, ChatAttachmentName("notes.txt"))
    assert kept in candidates
    await assert_chat_lists(files, chat_id, [kept])
    assert [await files.get(item.file_id) for item in candidates].count(None) == RACERS - 1


async def test_renaming_a_file_frees_its_old_name(files: ChatFileRepository, chat_id: UUID) -> None:
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
    files: ChatFileRepository, chat_id: UUID
) -> None:
    moved = chat_file(chat_id, "a.txt", at(0))
    holder = chat_file(chat_id, "b.txt", at(1))
    await save_all(files.save, [moved, holder])
    renamed = replace(moved, name=holder.name)

    await files.save(renamed)

    assert await files.get(holder.file_id) is None
    assert await files.get_by_chat_id_and_name(chat_id, holder.name) == renamed
    assert await files.get_by_chat_id_and_name(chat_id, moved.name) is None
    assert await files.list_all_by_chat_id(chat_id) == [renamed]


async def test_deleted_file_is_gone_and_its_name_is_free(
    files: ChatFileRepository, chat_id: UUID
) -> None:
    kept, deleted = chat_file(chat_id, "kept.txt", at(0)), chat_file(chat_id, "gone.txt", at(1))
    await save_all(files.save, [kept, deleted])

    await files.delete(deleted.file_id)

    assert await files.get(deleted.file_id) is None
    assert await files.get_by_chat_id_and_name(chat_id, deleted.name) is None
    await assert_chat_lists(files, chat_id, [kept])


async def test_deleting_a_chats_files_leaves_other_chats_alone(
    store: MetadataStore, files: ChatFileRepository
) -> None:
    deleted_chat, kept_chat = await stored_chat(store), await stored_chat(store)
    deleted, kept = numbered_files(deleted_chat, 3), numbered_files(kept_chat, 3)
    await save_all(files.save, deleted + kept)

    await files.delete_by_chat_id(deleted_chat)

    await assert_chat_lists(files, deleted_chat, [])
    assert [await files.get(item.file_id) for item in deleted] == [None, None, None]
    assert await files.get_by_chat_id_and_name(deleted_chat, deleted[0].name) is None
    assert await files.list_all_by_chat_id(kept_chat) == kept


async def test_names_freed_by_deleting_a_chats_files_can_be_used_again(
    files: ChatFileRepository, chat_id: UUID
) -> None:
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
