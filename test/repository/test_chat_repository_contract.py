"""The ChatRepository contract beyond paging, which test_paged_listing_contract.py holds."""

from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from domain.chat import Chat, ForkedFrom
from domain.chat_details import ChatMetadata, ChatTitle
from domain.paging import PageCursor, PageRequest, RecencyCursor, RecentPageRequest
from test.repository.records import at, chat, chat_file, save_all, stored_workspace, uid
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


async def test_a_title_and_metadata_round_trip(chats: ChatRepository, workspace_id: UUID) -> None:
    saved = replace(
        chat(workspace_id),
        title=ChatTitle("Voyage à Lyon ✈"),
        metadata=ChatMetadata.of({"model": "m-1", "ключ": "ж" * 512, "empty": ""}),
    )

    await chats.save(saved)
    found = await chats.get(saved.chat_id)

    assert found == saved
    assert found is not None
    assert list(found.metadata) == ["model", "ключ", "empty"]


async def test_saving_a_chat_again_replaces_its_title_and_metadata(
    chats: ChatRepository, workspace_id: UUID
) -> None:
    saved = replace(chat(workspace_id), title=ChatTitle("t"), metadata=ChatMetadata.of({"a": "1"}))
    await chats.save(saved)
    changed = replace(saved, title=None, metadata=ChatMetadata(), updated_at=at(5))

    await chats.save(changed)

    assert await chats.get(saved.chat_id) == changed


async def test_touch_moves_updated_at_forward_only(
    chats: ChatRepository, workspace_id: UUID
) -> None:
    saved = chat(workspace_id, created_at=at(10))
    await chats.save(saved)

    await chats.touch(saved.chat_id, at(5))
    assert await chats.get(saved.chat_id) == saved
    await chats.touch(saved.chat_id, at(20))
    assert await chats.get(saved.chat_id) == replace(saved, updated_at=at(20))
    await chats.touch(uuid4(), at(30))  # an unknown chat: nothing happens


async def test_a_touch_rolled_back_with_its_unit_leaves_the_chat(
    store: MetadataStore, workspace_id: UUID
) -> None:
    saved = chat(workspace_id)
    await store.chats.save(saved)

    async def touch_then_fail() -> None:
        async with store.transaction() as records:
            await records.chats.touch(saved.chat_id, at(60))
            raise RuntimeError("the unit fails")

    with pytest.raises(RuntimeError, match="the unit fails"):
        await touch_then_fail()

    assert await store.chats.get(saved.chat_id) == saved
    assert await store.chats.list_recent_by_workspace_id(workspace_id, RecentPageRequest()) == [
        saved
    ]


async def recent_pages(chats: ChatRepository, workspace_id: UUID, limit: int) -> list[list[Chat]]:
    pages: list[list[Chat]] = []
    after: RecencyCursor | None = None
    while True:
        page = await chats.list_recent_by_workspace_id(
            workspace_id, RecentPageRequest(limit, after)
        )
        if not page:
            return pages
        pages.append(page)
        after = RecencyCursor(page[-1].updated_at, page[-1].chat_id)
        assert len(pages) < 50, "paging does not end"


@pytest.mark.parametrize("limit", [1, 2, 3, 10])
async def test_chats_list_newest_change_first_then_highest_id(
    store: MetadataStore, limit: int
) -> None:
    workspace_id = await stored_workspace(store)
    other = await stored_workspace(store)
    made = [
        replace(
            chat(workspace_id, created_at=at(number), chat_id=uid(number)), updated_at=at(second)
        )
        for number, second in [(1, 50), (2, 10), (3, 50), (4, 30), (5, 0), (6, 30), (7, 70)]
    ]
    await save_all(store.chats.save, made)
    await store.chats.save(chat(other))

    pages = await recent_pages(store.chats, workspace_id, limit)

    listed = [item.chat_id for page in pages for item in page]
    assert listed == [uid(n) for n in (7, 3, 1, 6, 4, 2, 5)]
    assert all(len(page) <= limit for page in pages)


async def test_a_touched_chat_moves_to_the_front_of_the_recent_list(
    store: MetadataStore,
) -> None:
    workspace_id = await stored_workspace(store)
    made = [chat(workspace_id, created_at=at(second)) for second in range(3)]
    await save_all(store.chats.save, made)

    await store.chats.touch(made[0].chat_id, at(10))

    recent = await store.chats.list_recent_by_workspace_id(workspace_id, RecentPageRequest())
    assert [item.chat_id for item in recent] == [made[0].chat_id, made[2].chat_id, made[1].chat_id]
    assert await store.chats.list_by_workspace_id(workspace_id, PageRequest()) == [
        replace(made[0], updated_at=at(10)),
        *made[1:],
    ]
