import logging
from dataclasses import dataclass, replace
from uuid import UUID

from domain.chat import Chat
from domain.chat_details import ChatMetadata, ChatPatch, ChatTitle
from domain.errors import ChatHasActiveSandboxError, DomainError, WorkspaceNotFoundError
from domain.paging import (
    Page,
    PageCursor,
    PageRequest,
    RecencyCursor,
    RecentPageRequest,
    page_of,
)
from domain.revision_log import first_revision
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.crash_safety import Mark
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock, IdGenerator

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CreateChat:
    """Bytes first, then the record: the directory and its empty history exist before the
    chat can be seen."""

    access: ChatAccess
    metadata: MetadataStore
    storage: ChatStorage
    ids: IdGenerator
    clock: Clock
    guard: ChatGuard

    async def __call__(
        self,
        user_id: UUID,
        title: ChatTitle | None = None,
        metadata: ChatMetadata | None = None,
    ) -> Chat:
        workspace = await self.access.workspace(user_id)
        chat = Chat.made(
            self.ids.new_id(), workspace.workspace_id, self.clock.now(), title, metadata
        )
        async with self.guard.creating(chat) as mark:
            await self.storage.ensure_chat(chat.workspace_id, chat.chat_id)
            mark.bytes_changed()
            async with self.metadata.transaction() as records:
                # The workspace's lock keeps its erasure out; checked again in the unit that
                # decides (a SQL store's foreign key is the last line).
                if await records.workspaces.get(chat.workspace_id) is None:
                    raise WorkspaceNotFoundError(f"workspace {chat.workspace_id} was erased")
                await records.chats.save(chat)
                await records.revisions.add(first_revision(chat.chat_id, chat.created_at))
                await records.usage.set_chat_bytes(chat.workspace_id, chat.chat_id, 0, 0, 0)
        return chat


@dataclass(frozen=True, slots=True)
class ListChats:
    access: ChatAccess
    metadata: MetadataStore

    async def __call__(self, user_id: UUID, page: PageRequest | RecentPageRequest) -> Page[Chat]:
        """The chats in creation order, oldest first, for a PageRequest; by their last
        change, newest first, for a RecentPageRequest."""
        workspace = await self.access.workspace(user_id)
        chats = self.metadata.chats
        if isinstance(page, RecentPageRequest):
            recent = await chats.list_recent_by_workspace_id(workspace.workspace_id, page.probe())
            return page_of(
                recent, page.limit, lambda chat: RecencyCursor(chat.updated_at, chat.chat_id)
            )
        found = await chats.list_by_workspace_id(workspace.workspace_id, page.probe())
        return page_of(found, page.limit, lambda chat: PageCursor(chat.created_at, chat.chat_id))


@dataclass(frozen=True, slots=True)
class GetChat:
    access: ChatAccess

    async def __call__(self, user_id: UUID, chat_id: UUID) -> Chat:
        return await self.access.chat(user_id, chat_id)


@dataclass(frozen=True, slots=True)
class UpdateChat:
    """A merge patch of the chat's title and metadata, under its lock. A patch that
    changes nothing leaves the chat, `updated_at` included, as it was."""

    metadata: MetadataStore
    clock: Clock
    guard: ChatGuard

    async def __call__(self, user_id: UUID, chat_id: UUID, patch: ChatPatch) -> Chat:
        async with self.guard.held(user_id, chat_id) as chat:
            title, metadata = patch.applied(chat.title, chat.metadata)
            if (title, metadata) == (chat.title, chat.metadata):
                return chat
            updated_at = max(chat.updated_at, self.clock.now())
            patched = replace(chat, title=title, metadata=metadata, updated_at=updated_at)
            await self.metadata.chats.save(patched)
            return patched


@dataclass(frozen=True, slots=True)
class DeleteChat:
    """Records first, then bytes, so a crash never leaves a visible chat half-deleted.
    Refused while a sandbox session is active on the chat. The records, sessions and usage
    go in one unit of work, under the chat's mark; only once it is committed does the
    directory move out of sight, and then its bytes are removed. A crash before the commit
    leaves the chat whole; after it, the mark makes start-up finish the deletion
    (`finish_deleting`). The bytes never go first: a commit that never happened would
    leave a chat that is listed but whose history and files are gone. A disk that will
    not move the directory after the commit leaves it for settling, as a crash would: the
    chat is deleted as far as any client can see, and the answer says so."""

    metadata: MetadataStore
    storage: ChatStorage
    clock: Clock
    guard: ChatGuard

    async def __call__(self, user_id: UUID, chat_id: UUID) -> None:
        async with self.guard.held(user_id, chat_id) as chat:
            active = await self.metadata.sessions.get_active_by_chat_id(chat_id, self.clock.now())
            if active is not None:
                raise ChatHasActiveSandboxError(
                    f"chat {chat_id} has an active sandbox session {active.session_id}"
                )
            async with self.guard.marked(chat) as mark:
                await self._delete(chat, mark)

    async def _delete(self, chat: Chat, mark: Mark) -> None:
        chat_id = chat.chat_id
        mark.records_going_first()
        async with self.metadata.transaction() as records:
            await records.chats.delete(chat_id)
            await records.files.delete_by_chat_id(chat_id)
            await records.revisions.delete_by_chat_id(chat_id)
            await records.sessions.delete_by_chat_id(chat_id)
            await records.usage.delete_chat(chat_id)
        try:
            await self.storage.delete_chat(chat.workspace_id, chat_id)
        except DomainError:
            _log.warning("chat %s is deleted; its bytes are left for settling", chat_id)
            mark.left_for_settling()
            return
        await self.storage.purge_chat(chat_id)
