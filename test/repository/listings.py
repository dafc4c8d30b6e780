"""The two listings a metadata store pages, behind one face, so that a paging rule is tested
once and holds for both: a workspace's chats and a chat's files.

A listing makes records under a parent that is already stored, saves and deletes them, and
pages through a parent's records in list order (creation time, then id). Where its port can also
list a parent's records whole (`list_all_by_chat_id`), `whole` does that.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

import pytest

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.paging import PageCursor, PageRequest
from test.repository.records import (
    T0,
    at,
    chat,
    chat_file,
    read_all_pages,
    save_all,
    stored_chat,
    stored_workspace,
)
from usecase.ports.metadata import MetadataStore

T = TypeVar("T")


@dataclass(frozen=True)
class Listing(Generic[T]):
    stored_parent: Callable[[MetadataStore], Awaitable[UUID]]
    # A record under `parent`, not yet saved: (parent, name, created_at, id or None for a
    # new one). Records that have no name ignore it.
    record: Callable[[UUID, str, datetime, UUID | None], T]
    save: Callable[[MetadataStore, T], Awaitable[None]]
    page: Callable[[MetadataStore, UUID, PageRequest], Awaitable[list[T]]]
    position_of: Callable[[T], PageCursor]
    delete: Callable[[MetadataStore, UUID], Awaitable[None]]
    whole: Callable[[MetadataStore, UUID], Awaitable[list[T]]] | None = None

    def numbered(self, parent: UUID, count: int) -> list[T]:
        """`count` records created a second apart, named file-0.txt, file-1.txt, ..."""
        return [self.record(parent, f"file-{index}.txt", at(index), None) for index in range(count)]

    def one(self, parent: UUID) -> T:
        """A record with the builders' defaults: notes.txt, created at T0."""
        return self.record(parent, "notes.txt", T0, None)

    def in_list_order(self, items: list[T]) -> list[T]:
        return sorted(items, key=self.position_of)

    def ids(self, items: list[T]) -> list[UUID]:
        return [self.position_of(item).item_id for item in items]

    async def save_all(self, store: MetadataStore, items: list[T]) -> None:
        await save_all(lambda item: self.save(store, item), items)

    async def pages(
        self, store: MetadataStore, parent: UUID, limit: int, max_pages: int
    ) -> list[list[T]]:
        """Every page of the parent's records, each following the last one's cursor."""
        return await read_all_pages(
            lambda page: self.page(store, parent, page), self.position_of, limit, max_pages
        )

    async def assert_lists(self, store: MetadataStore, parent: UUID, expected: list[T]) -> None:
        """The parent's first page, and where there is one its whole list, are `expected`."""
        assert await self.page(store, parent, PageRequest()) == expected
        if self.whole is not None:
            assert await self.whole(store, parent) == expected


async def _save_chat(store: MetadataStore, item: Chat) -> None:
    await store.chats.save(item)


async def _save_file(store: MetadataStore, item: ChatFile) -> None:
    await store.files.save(item)


CHATS: Listing[Chat] = Listing(
    stored_parent=stored_workspace,
    record=lambda workspace_id, _name, created_at, chat_id: chat(workspace_id, created_at, chat_id),
    save=_save_chat,
    page=lambda store, workspace_id, page: store.chats.list_by_workspace_id(workspace_id, page),
    position_of=lambda item: PageCursor(item.created_at, item.chat_id),
    delete=lambda store, chat_id: store.chats.delete(chat_id),
)

FILES: Listing[ChatFile] = Listing(
    stored_parent=stored_chat,
    record=chat_file,
    save=_save_file,
    page=lambda store, chat_id, page: store.files.list_by_chat_id(chat_id, page),
    position_of=lambda item: PageCursor(item.created_at, item.file_id),
    delete=lambda store, file_id: store.files.delete(file_id),
    whole=lambda store, chat_id: store.files.list_all_by_chat_id(chat_id),
)

LISTINGS = [pytest.param(CHATS, id="chats"), pytest.param(FILES, id="files")]
