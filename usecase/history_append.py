"""Appending to a chat's history: how a chat grows turn by turn (ADR 0021)."""

from collections.abc import AsyncIterable
from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import DomainError, HistoryTooLargeError
from domain.history import HistoryVersion
from domain.history_revision import HistoryRevision, RevisionSource
from domain.limits import StorageLimits
from domain.revision_log import RevisionLog, version_of
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.group_commit import GroupCommit
from usecase.history import stage_history_body
from usecase.history_plan import precondition
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.crash_journal import HistoryAppend
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock
from usecase.ports.staging import StagedContent
from usecase.quota import QuotaLedger, fits_beside, quota_exceeded
from usecase.revisions import HistoryRevisions


@dataclass(frozen=True, slots=True)
class Appended:
    """One append's body, staged and checked, waiting to be added to the history."""

    staged: StagedContent
    if_match: str | None


AppendCommits = GroupCommit[Appended, HistoryRevision]

# How many times a batch is planned again when another chat's growth made its count fail
# the quota at the store; then the batch is refused as over the quota (as PUT's, ADR 0012).
_PLAN_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class AppendHistory:
    """Add the body to the end of the history, optionally only if it is still `if_match`.

    The body is streamed to staging (UTF-8, size and quota checked as it arrives). Then the
    appends to one chat that queued up meanwhile are committed together under the chat's
    lock, one fsync for the batch, as PUTs are (ADR 0012): each is checked in arrival order
    against the version the ones before it made (its `If-Match`, the history's size limit,
    the quota), and its version is that history's, hashed from the bytes it adds only.
    The accepted ones are copied onto the end of `history.md` in place, with the chat
    marked and the append noted, so that a crash leaves the history before or after it."""

    access: ChatAccess
    metadata: MetadataStore
    storage: ChatStorage
    guard: ChatGuard
    ledger: QuotaLedger
    limits: StorageLimits
    commits: AppendCommits
    revisions: HistoryRevisions
    clock: Clock

    async def __call__(
        self, user_id: UUID, chat_id: UUID, body: AsyncIterable[bytes], if_match: str | None
    ) -> HistoryRevision:
        chat = await self.access.chat(user_id, chat_id)
        workspace_id = chat.workspace_id
        if if_match is not None:  # refused before its body is read (usecase/history_plan.py)
            refused = precondition(
                await self.storage.history_version(workspace_id, chat_id), if_match
            )
            if refused is not None:
                raise refused.error()
        staged = await self._stage(workspace_id, body)
        if staged.size_bytes == 0:  # changes nothing: the current revision, checked again
            await self.storage.discard(staged)
            async with self.guard.held(user_id, chat_id) as held:
                await self.guard.settled(held)
                current = (await self.revisions.caught_up(held)).latest
            refused = precondition(version_of(current), if_match)
            if refused is not None:
                raise refused.error()
            return current

        async def commit(writes: list[Appended]) -> list[HistoryRevision | BaseException]:
            return await self._commit(user_id, chat, writes)

        async def abandon(write: Appended) -> None:
            await self.storage.discard(write.staged)

        return await self.commits.submit(chat_id, Appended(staged, if_match), commit, abandon)

    async def _stage(self, workspace_id: UUID, body: AsyncIterable[bytes]) -> StagedContent:
        # Not fsynced here: append_history makes what it appends durable, once per batch.
        budget = await self.ledger.budget(workspace_id)
        return await stage_history_body(self.storage, body, self.limits, budget)

    async def _commit(
        self, user_id: UUID, chat: Chat, writes: list[Appended]
    ) -> list[HistoryRevision | BaseException]:
        """The outcome of each append, in order; every staged file is consumed."""
        try:
            async with self.guard.held(user_id, chat.chat_id) as held:
                return await self._apply(held, writes)
        except DomainError as error:
            return [error] * len(writes)
        finally:
            for write in writes:  # those appended are gone already: a no-op for them
                with suppress(DomainError):
                    await self.storage.discard(write.staged)

    async def _apply(
        self, chat: Chat, writes: list[Appended]
    ) -> list[HistoryRevision | BaseException]:
        workspace_id, chat_id = chat.workspace_id, chat.chat_id
        usage = self.metadata.usage
        await self.guard.settled(chat)  # an append a crash cut short is cut back first
        before = await self.revisions.caught_up(chat)
        for _ in range(_PLAN_ATTEMPTS):
            others = (await usage.chat_standing(workspace_id, chat_id)).others_bytes
            outcomes, accepted, after = await self._plan(chat, before, writes, others)
            if not accepted:
                return outcomes
            appending = HistoryAppend(before.latest.size_bytes, after.version)
            async with self.guard.marked(chat, appending=appending) as mark:
                if not await self.revisions.record(chat, before, after):
                    continue  # another chat of the workspace grew: plan again with its figure
                # The records are ahead of the bytes until the append is in place. The
                # bytes may also change for good even if the append then fails (a rebuilt
                # history renamed in before an fsync error): settling keeps the append
                # whole or cuts it back by its note, and the records follow.
                mark.bytes_changed()
                try:
                    await self.storage.append_history(
                        workspace_id, chat_id, before.version, accepted, after.version
                    )
                except DomainError:
                    await self.guard.resettled(chat, mark)
                    raise
                await self.revisions.tidy(chat, before, after)
                mark.records_caught_up()
            return outcomes
        return [quota_exceeded("the append")] * len(writes)

    async def _plan(
        self, chat: Chat, before: RevisionLog, writes: list[Appended], others_bytes: int
    ) -> tuple[list[HistoryRevision | BaseException], list[StagedContent], RevisionLog]:
        """Each append's outcome in arrival order, those accepted, and the chat's revisions
        once they are made."""
        outcomes: list[HistoryRevision | BaseException] = []
        accepted: list[StagedContent] = []
        log = before
        at = self.clock.now()
        for write in writes:
            refusal = self._refusal(log, write, others_bytes)
            if refusal is not None:
                outcomes.append(refusal)
                continue
            version = await self.storage.extend_history_version(
                chat.workspace_id, chat.chat_id, log.version, write.staged
            )
            log = log.made(RevisionSource.APPEND, version, at, continues=True)
            outcomes.append(log.latest)
            accepted.append(write.staged)
        return outcomes, accepted, log

    def _refusal(self, log: RevisionLog, write: Appended, others_bytes: int) -> DomainError | None:
        """Why `write` cannot go onto the history `log` ends with, or None."""
        refused = precondition(log.version, write.if_match)
        if refused is not None:
            return refused.error()
        size = log.latest.size_bytes + write.staged.size_bytes
        if size > self.limits.max_history_bytes:
            return HistoryTooLargeError(
                f"the history would be larger than {self.limits.max_history_bytes} bytes"
            )
        # What it charges does not hang on its content: a placeholder version tells it.
        made = log.made(
            RevisionSource.APPEND, HistoryVersion("", size), log.latest.created_at, continues=True
        )
        if not fits_beside(others_bytes, made.charged_bytes, self.ledger.quota_bytes):
            return quota_exceeded("the append")
        return None
