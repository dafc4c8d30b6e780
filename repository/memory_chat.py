from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.chat import Chat
from domain.paging import PageCursor, PageRequest, RecencyCursor, RecentPageRequest
from repository.memory_file import InMemoryChatFileRepository
from repository.memory_index import OrderedGroups
from repository.memory_revision import InMemoryHistoryRevisionRepository
from usecase.ports.records import ChatRepository


def _workspace_of(chat: Chat) -> UUID:
    return chat.workspace_id


def _position_of(chat: Chat) -> PageCursor:
    return PageCursor(chat.created_at, chat.chat_id)


def _recency_of(chat: Chat) -> RecencyCursor:
    return RecencyCursor(chat.updated_at, chat.chat_id)


class InMemoryChatRepository(ChatRepository):
    """Chats by id, and each workspace's chats in both list orders: an index per order,
    as the SQL stores have."""

    def __init__(
        self,
        files: InMemoryChatFileRepository | None = None,
        revisions: InMemoryHistoryRevisionRepository | None = None,
    ) -> None:
        self._chats = OrderedGroups(_workspace_of, _position_of)
        self._recent = OrderedGroups(_workspace_of, _recency_of)
        self._files = files or InMemoryChatFileRepository()
        self._revisions = revisions or InMemoryHistoryRevisionRepository()

    async def get(self, chat_id: UUID) -> Chat | None:
        return self._chats.get(chat_id)

    async def list_by_workspace_id(self, workspace_id: UUID, page: PageRequest) -> list[Chat]:
        return self._chats.page(workspace_id, page.after, page.limit)

    async def list_recent_by_workspace_id(
        self, workspace_id: UUID, page: RecentPageRequest
    ) -> list[Chat]:
        return self._recent.page_newest_first(workspace_id, page.after, page.limit)

    def ids_in(self, workspace_id: UUID) -> list[UUID]:
        """The ids of the workspace's chats (for the census)."""
        return [chat.chat_id for chat in self._chats.all_in(workspace_id)]

    async def save(self, chat: Chat) -> None:
        self._chats.put(chat)
        self._recent.put(chat)

    async def touch(self, chat_id: UUID, at: datetime) -> None:
        chat = self._chats.get(chat_id)
        if chat is not None and chat.updated_at < at:
            await self.save(replace(chat, updated_at=at))

    async def delete(self, chat_id: UUID) -> None:
        self._chats.pop(chat_id)
        self._recent.pop(chat_id)
        await self._files.delete_by_chat_id(chat_id)
        await self._revisions.delete_by_chat_id(chat_id)

    async def ids_by_workspace_id(self, workspace_id: UUID) -> list[UUID]:
        return sorted(self.ids_in(workspace_id))

    async def delete_by_workspace_id(self, workspace_id: UUID) -> None:
        for chat_id in await self.ids_by_workspace_id(workspace_id):
            await self.delete(chat_id)
