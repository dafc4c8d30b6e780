"""The one opening of every change to a chat: its lock, its ownership checked again under
the lock, and (for a change that spans bytes and records) its unsettled mark."""

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.chat_file import ChatFile
from usecase.access import ChatAccess
from usecase.crash_safety import ChatSettler, Mark, settle_if_marked, unsettled
from usecase.ports.crash_journal import HistoryAppend
from usecase.ports.runtime import KeyedLock


@dataclass(frozen=True, slots=True)
class ChatGuard:
    access: ChatAccess
    locks: KeyedLock
    settler: ChatSettler

    @asynccontextmanager
    async def held(self, user_id: UUID, chat_id: UUID) -> AsyncIterator[Chat]:
        """Hold the chat's lock for the block and yield the chat, found under it: a request
        that waited for the lock may find the chat deleted meanwhile (404), and every change
        of the chat's bytes or records made under the lock is seen whole."""
        async with self.locks.hold(chat_id):
            yield await self.access.chat(user_id, chat_id)

    @asynccontextmanager
    async def changing(self, user_id: UUID, chat_id: UUID) -> AsyncIterator[Chat]:
        """As `held`, with the chat marked unsettled while the block changes its bytes and
        records together (see `unsettled` for what a crash inside it leaves)."""
        async with self.held(user_id, chat_id) as chat, self.marked(chat):
            yield chat

    def marked(
        self,
        chat: Chat,
        pending: Sequence[ChatFile] = (),
        appending: HistoryAppend | None = None,
    ) -> AbstractAsyncContextManager[Mark]:
        """The chat's unsettled mark for the block, for a change that first checks what it
        changes under `held`, with the records it will save once their bytes are in place
        or the append it makes (see `unsettled` for what a crash inside it leaves)."""
        return unsettled(self.settler, chat, pending, appending)

    async def settled(self, chat: Chat) -> None:
        """Under `held`: settle what a crash left on the chat before reading what a change
        will change, for a change that takes its mark only once it knows what to note."""
        await settle_if_marked(self.settler, chat)

    async def resettled(self, chat: Chat, mark: Mark) -> None:
        """Inside `marked`, once a change's records went ahead of its bytes and the byte
        step then failed part of the way: the records follow what the disk holds now (the
        change whole, or none of it), so the refusal leaves nothing counted or recorded."""
        await self.settler.settle(chat)
        mark.records_caught_up()

    @asynccontextmanager
    async def creating(self, chat: Chat) -> AsyncIterator[Mark]:
        """The locks and the mark of a chat being created, once its workspace is checked
        still there. The workspace's lock first, held to the end: an erasure of the
        workspace takes it after its chats' and holds it until the workspace's bytes are
        gone, so a chat is never made in a workspace being erased (ADR 0024). Then the
        chat's, although nobody knows the id yet: start-up settling in another instance
        must not take the directory for a deleted chat's before the record exists."""
        async with self.creating_in(chat.workspace_id), self.creating_one(chat) as mark:
            yield mark

    @asynccontextmanager
    async def creating_in(self, workspace_id: UUID) -> AsyncIterator[None]:
        """The workspace's part of `creating`, taken once for chats made together (its lock
        is not reentrant): the lock, held to the end, and the workspace checked still
        there under it."""
        async with self.locks.hold(workspace_id):
            await self.access.check_workspace(workspace_id)
            yield

    @asynccontextmanager
    async def creating_one(self, chat: Chat) -> AsyncIterator[Mark]:
        """The chat's part of `creating`, inside `creating_in` of its workspace."""
        async with self.locks.hold(chat.chat_id), self.marked(chat) as mark:
            yield mark
