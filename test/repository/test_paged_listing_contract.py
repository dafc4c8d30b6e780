"""The paging contract of both listings a store pages (listings.py), on every store: a
workspace's chats and a chat's files come in list order, from strictly after the cursor (even
a deleted record's), at most `limit` at a time, and only the parent's own."""

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from domain.paging import PageCursor, PageRequest
from test.repository.listings import LISTINGS, Listing
from test.repository.records import T0, at, many_created_at, shuffled, uid
from usecase.ports.metadata import MetadataStore

pytestmark = pytest.mark.anyio

AnyListing = Listing[object]


@pytest.fixture(params=LISTINGS)
def listing(request: pytest.FixtureRequest) -> AnyListing:
    chosen: AnyListing = request.param
    return chosen


@pytest.fixture
async def parent(store: MetadataStore, listing: AnyListing) -> UUID:
    """A stored parent (a workspace, a chat) for the listing's records."""
    return await listing.stored_parent(store)


async def test_parent_without_records_lists_nothing(
    store: MetadataStore, listing: AnyListing
) -> None:
    empty = await listing.stored_parent(store)
    await listing.save(store, listing.one(await listing.stored_parent(store)))

    await listing.assert_lists(store, empty, [])


async def test_records_are_listed_only_under_their_own_parent(
    store: MetadataStore, listing: AnyListing
) -> None:
    mine, theirs = await listing.stored_parent(store), await listing.stored_parent(store)
    my_records, their_records = listing.numbered(mine, 3), listing.numbered(theirs, 3)

    await listing.save_all(store, shuffled(my_records + their_records))

    await listing.assert_lists(store, mine, my_records)
    await listing.assert_lists(store, theirs, their_records)


async def test_records_are_listed_oldest_first(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    items = [listing.record(parent, f"{second}.txt", at(second), None) for second in (30, 10, 20)]

    await listing.save_all(store, items)

    assert await listing.page(store, parent, PageRequest()) == listing.in_list_order(items)


async def test_records_created_at_the_same_instant_are_listed_by_id(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    items = [listing.record(parent, f"{number}.txt", T0, uid(number)) for number in (3, 1, 2)]

    await listing.save_all(store, items)

    expected = [uid(1), uid(2), uid(3)]
    assert listing.ids(await listing.page(store, parent, PageRequest())) == expected
    if listing.whole is not None:
        assert listing.ids(await listing.whole(store, parent)) == expected


async def test_listing_returns_at_most_limit_records(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    items = listing.numbered(parent, 5)
    await listing.save_all(store, shuffled(items))

    assert await listing.page(store, parent, PageRequest(limit=2)) == items[:2]


async def test_paging_through_250_records_returns_each_once_in_order(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    items = [
        listing.record(parent, f"file-{index}.txt", created_at, None)
        for index, created_at in enumerate(many_created_at(250))
    ]
    await listing.save_all(store, shuffled(items))

    pages = await listing.pages(store, parent, limit=100, max_pages=10)

    assert [len(page) for page in pages] == [100, 100, 50]
    assert [item for page in pages for item in page] == listing.in_list_order(items)
    if listing.whole is not None:
        assert await listing.whole(store, parent) == listing.in_list_order(items)


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(lambda second: second, id="at-the-second-record"),
        pytest.param(lambda second: PageCursor(at(1.5), uuid4()), id="between-two-instants"),
    ],
)
async def test_page_starts_strictly_after_the_cursor(
    store: MetadataStore,
    listing: AnyListing,
    parent: UUID,
    cursor: Callable[[PageCursor], PageCursor],
) -> None:
    """Of four records created a second apart, the page after the second record's position,
    or after any position before the third record's, starts at the third."""
    items = listing.numbered(parent, 4)
    await listing.save_all(store, shuffled(items))

    page = PageRequest(after=cursor(listing.position_of(items[1])))

    assert await listing.page(store, parent, page) == items[2:]


async def test_cursor_between_two_ids_of_one_instant_starts_at_the_greater_id(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    items = [listing.record(parent, f"{number}.txt", T0, uid(number)) for number in (10, 30)]
    later = listing.record(parent, "later.txt", at(1), None)
    await listing.save_all(store, [*items, later])

    page = PageRequest(after=PageCursor(T0, uid(20)))

    assert await listing.page(store, parent, page) == [items[1], later]


async def test_cursor_past_the_last_record_gives_an_empty_page(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    items = listing.numbered(parent, 3)
    await listing.save_all(store, items)

    page = PageRequest(after=listing.position_of(items[-1]))

    assert await listing.page(store, parent, page) == []


async def test_cursor_of_a_deleted_record_still_marks_its_position(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    items = listing.numbered(parent, 3)
    await listing.save_all(store, items)
    await listing.delete(store, listing.position_of(items[1]).item_id)

    page = PageRequest(after=listing.position_of(items[1]))

    assert await listing.page(store, parent, page) == [items[2]]


async def test_deleting_an_unknown_record_changes_nothing(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    saved = listing.one(parent)
    await listing.save(store, saved)

    await listing.delete(store, uuid4())

    await listing.assert_lists(store, parent, [saved])


async def test_changing_a_listed_page_does_not_change_the_store(
    store: MetadataStore, listing: AnyListing, parent: UUID
) -> None:
    saved = listing.one(parent)
    await listing.save(store, saved)

    (await listing.page(store, parent, PageRequest())).clear()
    if listing.whole is not None:
        (await listing.whole(store, parent)).clear()

    await listing.assert_lists(store, parent, [saved])
