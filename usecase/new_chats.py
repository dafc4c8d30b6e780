"""Chats made from bytes already staged, all of them or none: a fork's one chat, an
import's many (api.md `POST /v1/chats/{chat_id}/fork`, `POST /v1/chats/import`)."""

from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.history import HistoryVersion
from domain.history_revision import RevisionSource
from domain.revision_log import RevisionLog
from usecase.chat_guard import ChatGuard
from usecase.crash_safety import Mark
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.metadata import MetadataStore, Repositories
from usecase.ports.staging import StagedContent
from usecase.quota import QuotaLedger


@dataclass(frozen=True, slots=True)
class NewChat:
    """A chat to make: its record; its history, staged, which its revision 1 holds
    (revision 0 is the empty history it starts with) as a change of `source`; and each
    attachment's record (the new chat's ids already) with its bytes, staged."""

    chat: Chat
    source: RevisionSource
    history: StagedContent
    files: Sequence[tuple[ChatFile, StagedContent]]

    @property
    def staged(self) -> list[StagedContent]:
        return [self.history, *(staged for _, staged in self.files)]

    @property
    def size_bytes(self) -> int:
        return self.history.size_bytes + sum(record.size_bytes for record, _ in self.files)


@dataclass(frozen=True, slots=True)
class NewChats:
    """Makes chats from staged bytes, all of them or none.

    Each new chat is locked (nobody knows its id yet, but start-up settling in another
    instance must not take its directory for a deleted chat's) and marked unsettled
    before anything of it exists. The quota is reserved for all of them at once, in one
    atomic step, so that writes racing them pass the quota only as some serial order
    would. Then every chat's directory is built from its staged bytes, and only then are
    the records of all of them saved, in one unit of work: a process that dies before
    that unit commits leaves marks without records, and settling removes every one of
    those chats, its bytes and its reservation (SettleChats). A refusal or failure on the
    way removes what was built and counts nothing. The staged files are consumed by the
    chats they go into; the caller discards any left."""

    metadata: MetadataStore
    storage: ChatStorage
    guard: ChatGuard
    ledger: QuotaLedger
    revisions_kept: int

    async def make(self, chats: Sequence[NewChat], what: str) -> None:
        """Make every chat of `chats` (QuotaExceededError, naming `what`, when they do not
        fit the quota together; nothing is made then)."""
        if not chats:
            return
        workspaces = {new.chat.workspace_id for new in chats}
        if len(workspaces) != 1:
            raise ValueError("chats made together belong to one workspace")
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.guard.creating_in(workspaces.pop()))
            marks = [
                await stack.enter_async_context(self.guard.creating_one(new.chat)) for new in chats
            ]
            # Counted on the first chat's figures until the unit below counts each chat's
            # own: from here, settling that chat removes the reservation with it.
            await self.ledger.reserve(chats[0].chat, sum(new.size_bytes for new in chats), what)
            marks[0].bytes_changed()
            try:
                for new, mark in zip(chats, marks, strict=True):
                    await self._put_in_place(new, mark)
                async with self.metadata.transaction() as records:
                    for new in chats:
                        await self._record(records, new)
            except BaseException:
                for new, mark in zip(chats, marks, strict=True):
                    if mark.kept:  # nothing was built of the others
                        await self._undo(new.chat)
                _caught_up(marks)
                raise
            _caught_up(marks)

    async def _put_in_place(self, new: NewChat, mark: Mark) -> None:
        workspace_id, chat_id = new.chat.workspace_id, new.chat.chat_id
        await self.storage.ensure_chat(workspace_id, chat_id)
        mark.bytes_changed()
        await self.storage.write_history(workspace_id, chat_id, new.history)
        await self.storage.commit_attachments(
            workspace_id, chat_id, [(record.name, staged) for record, staged in new.files]
        )

    async def _record(self, records: Repositories, new: NewChat) -> None:
        chat = new.chat
        history = HistoryVersion(new.history.sha256, new.history.size_bytes)
        log = RevisionLog.created(chat.chat_id, chat.created_at, self.revisions_kept).made(
            new.source, history, chat.created_at, continues=False
        )
        await records.chats.save(chat)
        await records.revisions.add_all(log.kept)
        for record, _ in new.files:
            await records.files.save(record)
        await records.usage.set_chat_bytes(
            chat.workspace_id, chat.chat_id, new.size_bytes, history.size_bytes, 0
        )

    async def _undo(self, chat: Chat) -> None:
        """Remove what was built of a chat whose making failed; what this cannot remove,
        settling does (the mark stays, and the chat has no record)."""
        await self.storage.delete_chat(chat.workspace_id, chat.chat_id)
        await self.metadata.usage.delete_chat(chat.chat_id)
        await self.storage.purge_chat(chat.chat_id)


def _caught_up(marks: Sequence[Mark]) -> None:
    """Every chat's records agree with its bytes (made whole, or removed): the marks go."""
    for mark in marks:
        mark.records_caught_up()
