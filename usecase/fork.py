"""Forking a chat: a new chat of the same workspace from any kept revision of its history,
with a copy of its attachments (api.md `POST /v1/chats/{chat_id}/fork`)."""

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from uuid import UUID

from domain.chat import Chat, ForkedFrom
from domain.chat_file import ChatFile
from domain.errors import DomainError, StorageUnavailableError
from domain.history_revision import HistoryRevision, RevisionSource
from domain.revision_log import RevisionLog
from usecase.chat_guard import ChatGuard
from usecase.new_chats import NewChat, NewChats
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock, IdGenerator
from usecase.ports.staging import StagedContent
from usecase.quota import QuotaLedger, quota_exceeded
from usecase.reconcile import ChatFileReconciler
from usecase.revisions import HistoryRevisions, kept_revision, revision_not_found


@dataclass(frozen=True, slots=True)
class _Copied:
    """What a fork brings: the history revision it starts from, its bytes and each
    attachment's, staged."""

    source: HistoryRevision
    history: StagedContent
    files: list[tuple[ChatFile, StagedContent]]

    @property
    def staged(self) -> list[StagedContent]:
        return [self.history, *(staged for _, staged in self.files)]


@dataclass(frozen=True, slots=True)
class ForkChat:
    """A new chat whose history is a kept revision's content (its revision 0 empty, its
    revision 1 of source `fork`) and, with `attachments`, a copy of every attachment that
    has a record, under new ids.

    The quota is checked for the whole copy before any byte is copied. Every byte is
    copied by the kernel into staging while the source's lock is held, so the copy is of
    one state of it; the new chat is then made from the copies as NewChats makes chats
    (reserved, built under its crash mark, its records saved last, in one unit): a fork
    cut short is never a chat, and settling removes what it left."""

    metadata: MetadataStore
    storage: ChatStorage
    ids: IdGenerator
    clock: Clock
    guard: ChatGuard
    ledger: QuotaLedger
    revisions: HistoryRevisions
    reconciler: ChatFileReconciler
    new_chats: NewChats

    async def __call__(
        self, user_id: UUID, chat_id: UUID, revision: int | None, attachments: bool
    ) -> Chat:
        async with self.guard.held(user_id, chat_id) as source:
            await self.guard.settled(source)
            copied = await self._copy(source, revision, attachments)
            if copied is None:  # a sandbox changed an attachment: rescan, then once more
                async with self.guard.marked(source):
                    await self.reconciler.reconcile(source)
                copied = await self._copy(source, revision, attachments)
            if copied is None:
                raise StorageUnavailableError(
                    "an attachment kept changing on disk while the chat was forked; try again"
                )
            try:
                return await self._build(source, copied)
            finally:
                await self._discard(copied.staged)  # a no-op for those committed

    async def _copy(self, source: Chat, revision: int | None, attachments: bool) -> _Copied | None:
        """The revision's and the attachments' bytes staged, or None when an attachment is
        not as recorded. The quota is checked first, for the whole copy."""
        log = await self.revisions.caught_up(source)
        kept = kept_revision(log, source.chat_id, revision)
        records = (
            await self.metadata.files.list_all_by_chat_id(source.chat_id) if attachments else []
        )
        size = kept.size_bytes + sum(record.size_bytes for record in records)
        if await self.ledger.budget(source.workspace_id) < size:
            raise quota_exceeded("the fork")
        history = await self._copy_history(source, log, kept)
        staged: list[tuple[ChatFile, StagedContent]] = []
        try:
            for record in records:
                copy = await self.storage.copy_attachment(
                    source.workspace_id,
                    source.chat_id,
                    record.name,
                    record.size_bytes,
                    record.sha256,
                )
                if copy is None:
                    await self._discard([history, *(item for _, item in staged)])
                    return None
                staged.append((record, copy))
        except BaseException:
            await self._discard([history, *(item for _, item in staged)])
            raise
        return _Copied(kept, history, staged)

    async def _copy_history(
        self, source: Chat, log: RevisionLog, kept: HistoryRevision
    ) -> StagedContent:
        copy = await self.storage.copy_history_revision(
            source.workspace_id,
            source.chat_id,
            kept.run,
            kept.version,
            current=kept.run == log.latest.run,
        )
        if copy is None:  # its kept bytes are gone: settling will forget it
            raise revision_not_found(source.chat_id, kept.revision)
        return copy

    async def _build(self, source: Chat, copied: _Copied) -> Chat:
        now = self.clock.now()
        fork = Chat.made(
            self.ids.new_id(),
            source.workspace_id,
            now,
            source.title,
            source.metadata,
            ForkedFrom(source.chat_id, copied.source.revision),
        )
        files = [
            (
                replace(record, file_id=self.ids.new_id(), chat_id=fork.chat_id, created_at=now),
                staged,
            )
            for record, staged in copied.files
        ]
        await self.new_chats.make(
            [NewChat(fork, RevisionSource.FORK, copied.history, files)], "the fork"
        )
        return fork

    async def _discard(self, staged: Sequence[StagedContent]) -> None:
        for item in staged:
            with suppress(DomainError):
                await self.storage.discard(item)
