"""The HistoryRevisionRepository contract, on every metadata store."""

from uuid import UUID, uuid4

import pytest

from domain.history_revision import HistoryRevision, RevisionSource
from test.repository.records import T0, chat, revision, save_all, stored_chat
from usecase.ports.metadata import MetadataStore
from usecase.ports.revisions import HistoryRevisionRepository

pytestmark = pytest.mark.anyio


@pytest.fixture
def revisions(store: MetadataStore) -> HistoryRevisionRepository:
    return store.revisions


def numbered(chat_id: UUID, count: int) -> list[HistoryRevision]:
    """Revisions 0 to count - 1 of the chat, each starting a run of its own."""
    return [revision(chat_id, number, size_bytes=number) for number in range(count)]


def appended(chat_id: UUID, first: int, count: int) -> list[HistoryRevision]:
    """`count` appends from revision `first`, each continuing the run that began at `first`."""
    return [
        revision(chat_id, number, RevisionSource.APPEND, run=first, size_bytes=number)
        for number in range(first, first + count)
    ]


async def test_a_chat_without_revisions_has_none(revisions: HistoryRevisionRepository) -> None:
    unknown = uuid4()

    assert await revisions.latest(unknown) is None
    assert await revisions.get(unknown, 0) is None
    assert await revisions.list_newest_first(unknown, 10, None) == []
    assert await revisions.runs_in_use(unknown) == set()
    assert await revisions.delete_older_than(unknown, 10) == []


async def test_an_added_revision_is_found_and_is_the_latest(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    first = revision(chat_id, 0, RevisionSource.CREATE)

    await revisions.add(first)

    assert await revisions.get(chat_id, 0) == first
    assert await revisions.latest(chat_id) == first
    assert await revisions.get(chat_id, 1) is None


@pytest.mark.parametrize("source", [pytest.param(item, id=item.value) for item in RevisionSource])
async def test_every_source_is_stored_as_it_was_given(
    revisions: HistoryRevisionRepository, chat_id: UUID, source: RevisionSource
) -> None:
    saved = revision(chat_id, 3, source, run=1, size_bytes=42)

    await revisions.add(saved)

    assert await revisions.get(chat_id, 3) == saved


async def test_numbers_and_sizes_beyond_32_bits_are_kept(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    big = revision(chat_id, 2**40, run=2**40 - 1, size_bytes=2**40, created_at=T0)

    await revisions.add(big)

    assert await revisions.latest(chat_id) == big


async def test_the_latest_is_the_highest_number_whatever_the_order_of_adding(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 5)

    await save_all(revisions.add, [made[2], made[4], made[0], made[3], made[1]])

    assert await revisions.latest(chat_id) == made[4]


async def test_adding_a_number_the_chat_has_raises_and_keeps_the_first(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    first = revision(chat_id, 1, RevisionSource.PUT, size_bytes=5)
    await revisions.add(first)

    with pytest.raises(ValueError, match="already has revision 1"):
        await revisions.add(revision(chat_id, 1, RevisionSource.APPEND, run=0, size_bytes=9))

    assert await revisions.get(chat_id, 1) == first
    assert await revisions.list_newest_first(chat_id, 10, None) == [first]
    assert await revisions.runs_in_use(chat_id) == {1}


async def test_the_same_number_in_another_chat_is_another_revision(
    store: MetadataStore, revisions: HistoryRevisionRepository
) -> None:
    mine, theirs = revision(await stored_chat(store), 0), revision(await stored_chat(store), 0)

    await save_all(revisions.add, [mine, theirs])

    assert await revisions.get(mine.chat_id, 0) == mine
    assert await revisions.get(theirs.chat_id, 0) == theirs


async def test_revisions_are_listed_newest_first(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 5)
    await save_all(revisions.add, [made[3], made[0], made[4], made[1], made[2]])

    assert await revisions.list_newest_first(chat_id, 10, None) == made[::-1]


async def test_a_listing_stops_at_its_limit_from_the_newest(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 5)
    await save_all(revisions.add, made)

    assert await revisions.list_newest_first(chat_id, 2, None) == [made[4], made[3]]
    assert await revisions.list_newest_first(chat_id, 1, None) == [made[4]]


async def test_a_listing_before_a_number_holds_only_lower_numbers(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 5)
    await save_all(revisions.add, made)

    assert await revisions.list_newest_first(chat_id, 10, 3) == [made[2], made[1], made[0]]
    assert await revisions.list_newest_first(chat_id, 2, 3) == [made[2], made[1]]
    assert await revisions.list_newest_first(chat_id, 10, 0) == []
    assert await revisions.list_newest_first(chat_id, 10, 99) == made[::-1]


async def test_paging_before_the_last_number_seen_lists_each_revision_once(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 11)
    await save_all(revisions.add, made)
    seen: list[HistoryRevision] = []
    before: int | None = None

    for _ in range(10):
        page = await revisions.list_newest_first(chat_id, 3, before)
        if not page:
            break
        seen.extend(page)
        before = page[-1].revision

    assert seen == made[::-1]


async def test_a_listing_skips_the_gap_pruning_left(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 6)
    await save_all(revisions.add, made)
    await revisions.delete_older_than(chat_id, 4)

    assert await revisions.list_newest_first(chat_id, 10, None) == [made[5], made[4]]
    assert await revisions.list_newest_first(chat_id, 10, 4) == []


async def test_a_listing_holds_only_its_own_chats_revisions(
    store: MetadataStore, revisions: HistoryRevisionRepository
) -> None:
    mine, theirs = await stored_chat(store), await stored_chat(store)
    my_revisions, their_revisions = numbered(mine, 3), numbered(theirs, 4)
    await save_all(revisions.add, their_revisions + my_revisions)

    assert await revisions.list_newest_first(mine, 10, None) == my_revisions[::-1]
    assert await revisions.latest(mine) == my_revisions[-1]


async def test_deleting_older_revisions_returns_them_oldest_first_and_keeps_the_rest(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 6)
    await save_all(revisions.add, made[::-1])

    deleted = await revisions.delete_older_than(chat_id, 4)

    assert deleted == made[:4]
    assert [await revisions.get(chat_id, number) for number in range(4)] == [None] * 4
    assert await revisions.list_newest_first(chat_id, 10, None) == [made[5], made[4]]
    assert await revisions.latest(chat_id) == made[5]


async def test_deleting_older_revisions_twice_deletes_nothing_the_second_time(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 3)
    await save_all(revisions.add, made)
    await revisions.delete_older_than(chat_id, 2)

    assert await revisions.delete_older_than(chat_id, 2) == []
    assert await revisions.delete_older_than(chat_id, 0) == []
    assert await revisions.list_newest_first(chat_id, 10, None) == [made[2]]


async def test_deleting_older_than_a_number_past_the_latest_deletes_them_all(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    made = numbered(chat_id, 3)
    await save_all(revisions.add, made)

    assert await revisions.delete_older_than(chat_id, 10) == made

    assert await revisions.latest(chat_id) is None
    assert await revisions.runs_in_use(chat_id) == set()


async def test_deleting_older_revisions_leaves_other_chats_alone(
    store: MetadataStore, revisions: HistoryRevisionRepository
) -> None:
    pruned, kept = await stored_chat(store), await stored_chat(store)
    kept_revisions = numbered(kept, 4)
    await save_all(revisions.add, numbered(pruned, 4) + kept_revisions)

    await revisions.delete_older_than(pruned, 3)

    assert await revisions.list_newest_first(kept, 10, None) == kept_revisions[::-1]
    assert await revisions.runs_in_use(kept) == {0, 1, 2, 3}


async def test_revisions_added_together_are_all_stored(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    together = numbered(chat_id, 4)

    await revisions.add_all(together)

    assert await revisions.list_newest_first(chat_id, 10, None) == together[::-1]


@pytest.mark.parametrize("taken", [0, 2], ids=["first", "last"])
async def test_revisions_added_together_with_a_taken_number_store_none(
    revisions: HistoryRevisionRepository, chat_id: UUID, taken: int
) -> None:
    first = revision(chat_id, taken, RevisionSource.CREATE)
    await revisions.add(first)

    with pytest.raises(ValueError, match="taken"):
        await revisions.add_all(numbered(chat_id, 3))

    assert await revisions.list_newest_first(chat_id, 10, None) == [first]


async def test_deleting_chosen_revisions_keeps_the_others_and_skips_unknown_numbers(
    store: MetadataStore, revisions: HistoryRevisionRepository
) -> None:
    chosen, other = await stored_chat(store), await stored_chat(store)
    await save_all(revisions.add, numbered(chosen, 5) + numbered(other, 5))

    await revisions.delete(chosen, [1, 3, 7])

    listed = await revisions.list_newest_first(chosen, 10, None)
    assert [kept.revision for kept in listed] == [4, 2, 0]
    assert len(await revisions.list_newest_first(other, 10, None)) == 5
    assert await revisions.runs_in_use(chosen) == {0, 2, 4}


async def test_deleting_a_chats_revisions_leaves_other_chats_alone(
    store: MetadataStore, revisions: HistoryRevisionRepository
) -> None:
    deleted, kept = await stored_chat(store), await stored_chat(store)
    kept_revisions = numbered(kept, 3)
    await save_all(revisions.add, numbered(deleted, 3) + kept_revisions)

    await revisions.delete_by_chat_id(deleted)

    assert await revisions.latest(deleted) is None
    assert await revisions.list_newest_first(deleted, 10, None) == []
    assert await revisions.runs_in_use(deleted) == set()
    assert await revisions.list_newest_first(kept, 10, None) == kept_revisions[::-1]


async def test_numbers_freed_by_deleting_a_chats_revisions_can_be_added_again(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    await revisions.add(revision(chat_id, 0, RevisionSource.CREATE))
    await revisions.delete_by_chat_id(chat_id)
    again = revision(chat_id, 0, RevisionSource.IMPORT)

    await revisions.add(again)

    assert await revisions.latest(chat_id) == again


async def test_deleting_revisions_of_a_chat_without_any_changes_nothing(
    store: MetadataStore, revisions: HistoryRevisionRepository
) -> None:
    saved = revision(await stored_chat(store), 0)
    await revisions.add(saved)

    await revisions.delete_by_chat_id(await stored_chat(store))

    assert await revisions.latest(saved.chat_id) == saved


async def test_deleting_a_chat_deletes_its_revisions_only(store: MetadataStore) -> None:
    deleted = await stored_chat(store)
    kept = numbered(await stored_chat(store), 2)
    await save_all(store.revisions.add, numbered(deleted, 2) + kept)

    await store.chats.delete(deleted)

    assert await store.revisions.latest(deleted) is None
    assert await store.revisions.list_newest_first(kept[0].chat_id, 10, None) == kept[::-1]


async def test_runs_in_use_are_the_distinct_runs_of_the_kept_revisions(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    # 0 created; 1 put, 2-3 appended to it; 4 put, 5 appended to it; 6 restored.
    made = [
        revision(chat_id, 0, RevisionSource.CREATE),
        *appended(chat_id, 1, 3),
        *appended(chat_id, 4, 2),
        revision(chat_id, 6, RevisionSource.RESTORE, size_bytes=6),
    ]
    await save_all(revisions.add, made)

    assert await revisions.runs_in_use(chat_id) == {0, 1, 4, 6}


async def test_pruning_frees_a_run_only_when_none_of_its_revisions_is_kept(
    revisions: HistoryRevisionRepository, chat_id: UUID
) -> None:
    await save_all(revisions.add, [*appended(chat_id, 0, 3), *appended(chat_id, 3, 2)])

    await revisions.delete_older_than(chat_id, 2)
    assert await revisions.runs_in_use(chat_id) == {0, 3}

    await revisions.delete_older_than(chat_id, 3)
    assert await revisions.runs_in_use(chat_id) == {3}


async def test_runs_in_use_are_counted_per_chat(
    store: MetadataStore, revisions: HistoryRevisionRepository
) -> None:
    mine, theirs = await stored_chat(store), await stored_chat(store)
    await save_all(revisions.add, [*appended(mine, 0, 2), *numbered(theirs, 3)])

    assert await revisions.runs_in_use(mine) == {0}
    assert await revisions.runs_in_use(theirs) == {0, 1, 2}


async def test_a_chat_stored_again_keeps_its_revisions(
    store: MetadataStore, revisions: HistoryRevisionRepository, workspace_id: UUID
) -> None:
    saved_chat = chat(workspace_id)
    await store.chats.save(saved_chat)
    made = numbered(saved_chat.chat_id, 2)
    await save_all(revisions.add, made)

    await store.chats.save(saved_chat)

    assert await revisions.list_newest_first(saved_chat.chat_id, 10, None) == made[::-1]
