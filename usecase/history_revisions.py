"""The history revisions of a chat, as a client sees them: listed, read, restored and
pruned (api.md "History revisions"; ADR 0022). Each holds the chat's lock, with what a
crash left settled and a change made on disk recorded first, so it sees the revisions
and the history as one state."""

from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import DomainError
from domain.history_revision import HistoryRevision, RevisionSource
from domain.paging import Page, RevisionCursor
from domain.revision_log import RevisionLog, version_of
from usecase.chat_guard import ChatGuard
from usecase.history import HistoryRead
from usecase.history_plan import precondition
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock
from usecase.ports.staging import StagedContent
from usecase.quota import quota_exceeded
from usecase.revisions import (
    HistoryRevisions,
    kept_revision,
    revision_not_found,
    write_changes,
)


@dataclass(frozen=True, slots=True)
class ListHistoryRevisions:
    guard: ChatGuard
    revisions: HistoryRevisions

    async def __call__(
        self, user_id: UUID, chat_id: UUID, limit: int, after: RevisionCursor | None
    ) -> Page[HistoryRevision]:
        async with self.guard.held(user_id, chat_id) as chat:
            await self.guard.settled(chat)
            log = await self.revisions.caught_up(chat)
        newest_first = [
            kept for kept in reversed(log.kept) if after is None or kept.revision < after.revision
        ]
        if len(newest_first) > limit:
            page = newest_first[:limit]
            return Page(page, RevisionCursor(page[-1].revision).encode())
        return Page(newest_first, None)


@dataclass(frozen=True, slots=True)
class GetHistoryRevision:
    """One revision's content, as the history GET answers it."""

    guard: ChatGuard
    revisions: HistoryRevisions
    storage: ChatStorage

    async def __call__(
        self, user_id: UUID, chat_id: UUID, revision: int, if_none_match: str | None
    ) -> HistoryRead:
        async with self.guard.held(user_id, chat_id) as chat:
            await self.guard.settled(chat)
            log = await self.revisions.caught_up(chat)
            kept = kept_revision(log, chat_id, revision)
            version = version_of(kept)
            if if_none_match is not None and version.matches(if_none_match, weak=True):
                return HistoryRead(version, None)
            reader = await self.storage.open_history_revision(
                chat.workspace_id,
                chat_id,
                kept.run,
                kept.size_bytes,
                current=kept.run == log.latest.run,
            )
        if reader is None:  # its kept bytes are gone: settling will forget it
            raise revision_not_found(chat_id, revision)
        return HistoryRead(version, reader)


@dataclass(frozen=True, slots=True)
class RestoreHistoryRevision:
    """Make a kept revision's content the history again, as a new revision (`restore`).

    Its bytes are copied by the kernel into staging, then the new revision is recorded with
    the quota, then the copy replaces the history as a PUT does, the history it replaces
    kept as its run's content if a kept revision still needs it."""

    guard: ChatGuard
    revisions: HistoryRevisions
    storage: ChatStorage
    clock: Clock

    async def __call__(
        self, user_id: UUID, chat_id: UUID, revision: int, if_match: str | None
    ) -> HistoryRevision:
        async with self.guard.held(user_id, chat_id) as chat:
            await self.guard.settled(chat)
            before = await self.revisions.caught_up(chat)
            kept = kept_revision(before, chat_id, revision)
            refused = precondition(before.version, if_match)
            if refused is not None:
                raise refused.error()
            staged = await self.storage.copy_history_revision(
                chat.workspace_id,
                chat_id,
                kept.run,
                version_of(kept),
                current=kept.run == before.latest.run,
            )
            if staged is None:
                raise revision_not_found(chat_id, revision)
            after = before.made(
                RevisionSource.RESTORE, version_of(kept), self.clock.now(), continues=False
            )
            try:
                await self._write(chat, before, after, staged)
            finally:
                await self.storage.discard(staged)  # a no-op once written
        return after.latest

    async def _write(
        self, chat: Chat, before: RevisionLog, after: RevisionLog, staged: StagedContent
    ) -> None:
        async with self.guard.marked(chat) as mark:
            if not await self.revisions.record(chat, before, after):
                raise quota_exceeded("the restore")
            mark.bytes_changed()  # the records are ahead of the bytes until they are in place
            try:
                await self.revisions.replace_history(chat, before, after, staged)
            except DomainError:
                await self.guard.resettled(chat, mark)
                raise
            mark.records_caught_up()


@dataclass(frozen=True, slots=True)
class PruneHistoryRevisions:
    """Forget every revision but the current one, and free what they kept."""

    guard: ChatGuard
    revisions: HistoryRevisions
    metadata: MetadataStore

    async def __call__(self, user_id: UUID, chat_id: UUID) -> None:
        async with self.guard.held(user_id, chat_id) as chat:
            await self.guard.settled(chat)
            before = await self.revisions.caught_up(chat)
            after = before.pruned()
            async with self.guard.marked(chat) as mark:
                async with self.metadata.transaction() as records:
                    await write_changes(records, before, after)
                    await records.usage.try_set_history(
                        chat.workspace_id,
                        chat_id,
                        after.latest.size_bytes,
                        None,
                        revision_bytes=after.revision_bytes,
                    )
                mark.bytes_changed()  # the records are ahead of the bytes until they go
                await self.revisions.tidy(chat, before, after)
                mark.records_caught_up()
