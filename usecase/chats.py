from uuid import UUID

from domain.chat import Chat
from domain.errors import ChatHasActiveSandboxError
from domain.paging import Page, PageCursor, PageRequest, page_of
from usecase.access import ChatAccess
from usecase.interface import (
    ChatStorage,
    Clock,
    IdGenerator,
    KeyedLock,
    MetadataStore,
)


class CreateChat:
    """Bytes first, then the record: the directory and its empty history exist before the
    chat can be seen."""

    def __init__(
        self,
        access: ChatAccess,
        metadata: MetadataStore,
        storage: ChatStorage,
        ids: IdGenerator,
        clock: Clock,
    ) -> None:
        self._access = access
        self._metadata = metadata
        self._storage = storage
        self._ids = ids
        self._clock = clock

    async def __call__(self, user_id: UUID) -> Chat:
        workspace = await self._access.workspace(user_id)
        chat = Chat(self._ids.new_id(), workspace.workspace_id, self._clock.now())
        await self._storage.ensure_chat(chat.workspace_id, chat.chat_id)
        await self._metadata.chats.save(chat)
        await self._metadata.usage.set_chat_bytes(chat.workspace_id, chat.chat_id, 0)
        return chat


class ListChats:
    def __init__(self, access: ChatAccess, metadata: MetadataStore) -> None:
        self._access = access
        self._metadata = metadata

    async def __call__(self, user_id: UUID, page: PageRequest) -> Page[Chat]:
        workspace = await self._access.workspace(user_id)
        chats = await self._metadata.chats.list_by_workspace_id(
            workspace.workspace_id, page.probe()
        )
        return page_of(chats, page.limit, lambda chat: PageCursor(chat.created_at, chat.chat_id))


class GetChat:
    def __init__(self, access: ChatAccess) -> None:
        self._access = access

    async def __call__(self, user_id: UUID, chat_id: UUID) -> Chat:
        return await self._access.chat(user_id, chat_id)


class DeleteChat:
    """Records first, then bytes, so a crash never leaves a visible chat half-deleted.
    Refused while a sandbox session is active on the chat."""

    def __init__(
        self,
        access: ChatAccess,
        metadata: MetadataStore,
        storage: ChatStorage,
        clock: Clock,
        locks: KeyedLock,
    ) -> None:
        self._access = access
        self._metadata = metadata
        self._storage = storage
        self._clock = clock
        self._locks = locks

    async def __call__(self, user_id: UUID, chat_id: UUID) -> None:
        async with self._locks.hold(chat_id):
            chat = await self._access.chat(user_id, chat_id)
            active = await self._metadata.sessions.get_active_by_chat_id(chat_id, self._clock.now())
            if active is not None:
                raise ChatHasActiveSandboxError(
                    f"chat {chat_id} has an active sandbox session {active.session_id}"
                )
            await self._metadata.files.delete_by_chat_id(chat_id)
            await self._metadata.sessions.delete_by_chat_id(chat_id)
            await self._metadata.chats.delete(chat_id)
            await self._metadata.usage.delete_chat(chat_id)
            await self._storage.delete_chat(chat.workspace_id, chat_id)
