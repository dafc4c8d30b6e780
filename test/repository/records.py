"""Builders of domain records and a pager shared by the contract suites.

SQL stores enforce foreign keys: a chat's workspace is stored before the chat, a file's chat
before the file. `stored_workspace` and `stored_chat` arrange those parents.
"""

import random
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID, uuid4

from domain.attachment_name import ChatAttachmentName
from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.history_revision import HistoryRevision, RevisionSource
from domain.paging import PageCursor, PageRequest
from domain.sandbox_session import SandboxSession
from domain.workspace import Workspace
from usecase.ports.metadata import MetadataStore

T = TypeVar("T")

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def uid(number: int) -> UUID:
    """A UUID whose order among others is that of `number`, for tie-break tests."""
    return UUID(int=number)


def workspace(user_id: UUID | None = None, workspace_id: UUID | None = None) -> Workspace:
    return Workspace(workspace_id or uuid4(), user_id or uuid4(), T0)


def chat(workspace_id: UUID, created_at: datetime = T0, chat_id: UUID | None = None) -> Chat:
    return Chat(chat_id or uuid4(), workspace_id, created_at, created_at)


def chat_file(
    chat_id: UUID,
    name: str = "notes.txt",
    created_at: datetime = T0,
    file_id: UUID | None = None,
    size_bytes: int = 0,
) -> ChatFile:
    return ChatFile(
        file_id=file_id or uuid4(),
        chat_id=chat_id,
        name=ChatAttachmentName(name),
        content_type="text/plain",
        size_bytes=size_bytes,
        sha256=EMPTY_SHA256,
        created_at=created_at,
    )


def revision(
    chat_id: UUID,
    number: int,
    source: RevisionSource = RevisionSource.PUT,
    run: int | None = None,
    size_bytes: int = 0,
    created_at: datetime | None = None,
) -> HistoryRevision:
    """Revision `number` of the chat, made at `at(number)` unless given; a run of its own
    unless given."""
    return HistoryRevision(
        chat_id=chat_id,
        revision=number,
        sha256=EMPTY_SHA256 if size_bytes == 0 else f"{number:064x}",
        size_bytes=size_bytes,
        source=source,
        created_at=at(number) if created_at is None else created_at,
        run=number if run is None else run,
    )


def session(chat_id: UUID, started_at: datetime = T0, ttl_seconds: int = 60) -> SandboxSession:
    return SandboxSession.start(uuid4(), chat_id, started_at, ttl_seconds)


async def stored_workspace(store: MetadataStore) -> UUID:
    """The id of a new workspace saved in `store`, for records that must belong to one."""
    saved = workspace()
    await store.workspaces.save(saved)
    return saved.workspace_id


async def stored_chat(store: MetadataStore, workspace_id: UUID | None = None) -> UUID:
    """The id of a new chat saved in `store` (in a new stored workspace unless given), for
    records that must belong to one."""
    saved = chat(workspace_id or await stored_workspace(store))
    await store.chats.save(saved)
    return saved.chat_id


async def save_all(save: Callable[[T], Awaitable[object]], items: Iterable[T]) -> None:
    """Save the items one after the other, in the order given."""
    for item in items:
        await save(item)


def shuffled(items: list[T]) -> list[T]:
    """The items in a fixed scrambled order, so storage order never matches list order."""
    scrambled = list(items)
    random.Random(20240501).shuffle(scrambled)
    return scrambled


def many_created_at(count: int) -> list[datetime]:
    """`count` timestamps where each instant is shared by three items, to exercise ties."""
    return [at(index // 3) for index in range(count)]


async def read_all_pages(
    fetch: Callable[[PageRequest], Awaitable[list[T]]],
    position_of: Callable[[T], PageCursor],
    limit: int,
    max_pages: int,
) -> list[list[T]]:
    """Every page, following each one's last item as the next cursor, until an empty page."""
    pages: list[list[T]] = []
    after: PageCursor | None = None
    for _ in range(max_pages):
        page = await fetch(PageRequest(limit, after))
        if not page:
            return pages
        pages.append(page)
        after = position_of(page[-1])
    raise AssertionError(f"paging did not end within {max_pages} pages")
