"""Property: whatever the creation times (ties included), the ids and the page size, paging
through chats and through a chat's files returns every item exactly once, in list order
(creation time, then id), on the in-memory store and on SQLite.

Hypothesis drives a plain test and each example opens a fresh store in its own event loop;
PostgreSQL is left to the fixed-size paging contracts, where a database per example would
cost seconds."""

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.paging import PageCursor, PageRequest
from repository.memory import InMemoryMetadataStore
from repository.sql_store import sqlite_metadata_store
from test.repository.listings import LISTINGS, Listing
from test.repository.records import at, read_all_pages, save_all, shuffled, uid
from usecase.ports.metadata import MetadataStore

# (second, id number) per item: few seconds and few ids, so ties in time are common and
# the id decides. Unique ids; a list of up to 40 items.
ITEMS = st.lists(
    st.tuples(st.integers(0, 5), st.integers(1, 10_000)),
    max_size=40,
    unique_by=lambda item: item[1],
)
LIMITS = st.integers(1, 12)
T = TypeVar("T")


async def open_memory(scratch: Path) -> MetadataStore:
    return InMemoryMetadataStore()


async def open_sqlite(scratch: Path) -> MetadataStore:
    opened = sqlite_metadata_store(scratch / "metadata.db")
    await opened.open()
    return opened


Opener = Callable[[Path], Awaitable[MetadataStore]]
OPENERS = [pytest.param(open_memory, id="memory"), pytest.param(open_sqlite, id="sqlite")]


def max_pages(count: int, limit: int) -> int:
    return count // limit + 2


@asynccontextmanager
async def fresh_store(opener: Opener) -> AsyncIterator[MetadataStore]:
    with tempfile.TemporaryDirectory() as scratch:
        store = await opener(Path(scratch))
        try:
            yield store
        finally:
            await store.close()


async def assert_paged_in_order(
    saved: list[T],
    save: Callable[[T], Awaitable[None]],
    fetch: Callable[[PageRequest], Awaitable[list[T]]],
    position: Callable[[T], PageCursor],
    limit: int,
) -> None:
    """Save `saved` in random order, page through them, and find each once, in order."""
    await save_all(save, shuffled(saved))

    pages = await read_all_pages(fetch, position, limit, max_pages(len(saved), limit))

    assert all(0 < len(page) <= limit for page in pages)
    listed = [item for page in pages for item in page]
    assert listed == sorted(
        saved, key=lambda item: (position(item).created_at, position(item).item_id)
    )


async def paged(
    listing: Listing[object], opener: Opener, items: list[tuple[int, int]], limit: int
) -> None:
    async with fresh_store(opener) as store:
        parent = await listing.stored_parent(store)
        await assert_paged_in_order(
            [
                listing.record(parent, f"file-{number}.txt", at(second), uid(number))
                for second, number in items
            ],
            lambda item: listing.save(store, item),
            lambda page: listing.page(store, parent, page),
            listing.position_of,
            limit,
        )


@pytest.mark.parametrize("listing", LISTINGS)
@pytest.mark.parametrize("opener", OPENERS)
@settings(derandomize=True, max_examples=40, deadline=None)
@given(items=ITEMS, limit=LIMITS)
def test_paging_returns_every_record_once_in_order(
    opener: Opener, listing: Listing[object], items: list[tuple[int, int]], limit: int
) -> None:
    anyio.run(paged, listing, opener, items, limit)
