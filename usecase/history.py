from collections.abc import AsyncIterable
from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import DomainError, HistoryTooLargeError
from domain.history import HistoryVersion, Utf8Validator
from domain.history_revision import HistoryRevision
from domain.limits import StorageLimits
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.crash_safety import Mark
from usecase.group_commit import GroupCommit
from usecase.history_plan import Accepted, Outcome, plan_batch, precondition
from usecase.ports.chat_bytes import ChatStorage, ContentReader, HistoryFiles
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock
from usecase.ports.staging import StagedContent, Staging
from usecase.quota import QuotaLedger, quota_exceeded
from usecase.revisions import HistoryRevisions
from usecase.streams import limited


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """The current version; `content` is None when the caller already holds it."""

    version: HistoryVersion
    content: ContentReader | None


@dataclass(frozen=True, slots=True)
class GetHistory:
    """The current history, as one version. A history whose version the storage knows is
    opened without the chat's lock and without hashing (ADR 0020); any other one (changed
    by a sandbox, in the middle of an append, or left cut short by a crash) is opened under
    the lock, which an append holds to its end, once what a crash left is settled, so no
    reader sees part of an append (ADR 0021)."""

    access: ChatAccess
    storage: HistoryFiles
    guard: ChatGuard
    revisions: HistoryRevisions

    async def __call__(
        self, user_id: UUID, chat_id: UUID, if_none_match: str | None
    ) -> HistoryRead:
        chat = await self.access.chat(user_id, chat_id)
        opened = await self.storage.open_known_history(chat.workspace_id, chat_id)
        if opened is None:
            async with self.guard.held(user_id, chat_id) as held:
                # An append a crash cut short, in this instance or another, is cut back
                # before the history is read.
                await self.guard.settled(held)
                # A history a sandbox changed is recorded as a revision as it is read.
                await self.revisions.caught_up(held)
                opened = await self.storage.open_history(chat.workspace_id, chat_id)
        version, reader = opened
        if if_none_match is not None and version.matches(if_none_match, weak=True):
            await reader.aclose()
            return HistoryRead(version, None)
        return HistoryRead(version, reader)


@dataclass(frozen=True, slots=True)
class HistoryWrite:
    """One PUT's body, staged and checked, waiting to replace the history."""

    staged: StagedContent
    if_match: str | None

    @property
    def version(self) -> HistoryVersion:
        return HistoryVersion(self.staged.sha256, self.staged.size_bytes)


HistoryCommits = GroupCommit[HistoryWrite, HistoryRevision]


@dataclass(frozen=True, slots=True)
class PutHistory:
    """Replace the whole history atomically, optionally only if it is still `if_match`.

    The body is streamed to staging (size, UTF-8 and quota checked as it arrives). Then the
    writes to one chat that queued up meanwhile are committed together, under the chat's
    lock (ADR 0012): each is checked (precondition, quota) in arrival order against the
    version the ones before it left, and only the last accepted one is written, since the
    serial order of the batch would replace all the others with it at once."""

    access: ChatAccess
    metadata: MetadataStore
    storage: ChatStorage
    guard: ChatGuard
    ledger: QuotaLedger
    limits: StorageLimits
    commits: HistoryCommits
    revisions: HistoryRevisions
    clock: Clock

    async def __call__(
        self,
        user_id: UUID,
        chat_id: UUID,
        body: AsyncIterable[bytes],
        if_match: str | None,
    ) -> HistoryRevision:
        chat = await self.access.chat(user_id, chat_id)
        workspace_id = chat.workspace_id
        await self._check_precondition(workspace_id, chat_id, if_match)
        budget = await self.ledger.history_budget(workspace_id, chat_id)
        # Not fsynced here: most writes of a busy chat are superseded in their batch, and
        # write_history makes the one that is committed durable (ADR 0012).
        staged = await stage_history_body(self.storage, body, self.limits, budget)

        async def commit(writes: list[HistoryWrite]) -> list[HistoryRevision | BaseException]:
            return await self._commit(user_id, chat, writes)

        async def abandon(write: HistoryWrite) -> None:
            await self.storage.discard(write.staged)

        return await self.commits.submit(chat_id, HistoryWrite(staged, if_match), commit, abandon)

    async def _commit(
        self, user_id: UUID, chat: Chat, writes: list[HistoryWrite]
    ) -> list[HistoryRevision | BaseException]:
        """The outcome of each write, in order; every staged file is consumed."""
        written: list[HistoryWrite] = []
        try:
            async with (
                self.guard.held(user_id, chat.chat_id) as held,
                self.guard.marked(held) as mark,
            ):
                outcomes, written = await self._apply(held, writes, mark)
        except DomainError as error:
            outcomes = [error] * len(writes)
        finally:
            for write in writes:
                if write not in written:
                    with suppress(DomainError):
                        await self.storage.discard(write.staged)
        return outcomes

    async def _apply(
        self, chat: Chat, writes: list[HistoryWrite], mark: Mark
    ) -> tuple[list[HistoryRevision | BaseException], list[HistoryWrite]]:
        """Plan the batch (usecase/history_plan.py), record its revisions with the quota,
        then write the winner and keep the bodies its revisions still need; returns the
        outcomes and the writes whose staged files that consumed."""
        workspace_id, chat_id = chat.workspace_id, chat.chat_id
        usage = self.metadata.usage
        before = await self.revisions.caught_up(chat)
        for _ in range(_PLAN_ATTEMPTS):
            plan = plan_batch(
                writes,
                log=before,
                others_bytes=(await usage.chat_standing(workspace_id, chat_id)).others_bytes,
                quota_bytes=self.ledger.quota_bytes,
                at=self.clock.now(),
            )
            outcomes = [_answer(outcome) for outcome in plan.outcomes]
            winner = plan.winner
            if winner is None:
                return outcomes, []
            if await self.revisions.record(chat, before, plan.log):
                break
            # Another chat of the workspace grew meanwhile: plan again with its figure.
        else:
            return [quota_exceeded()] * len(writes), []
        kept = plan.kept_bodies(writes)
        mark.bytes_changed()  # the records are ahead of the bytes until they are in place
        try:
            await self.revisions.replace_history(
                chat,
                before,
                plan.log,
                winner.staged,
                keep_bodies=[(run, write.staged) for run, write in kept],
            )
        except DomainError:
            await self.guard.resettled(chat, mark)
            raise
        mark.records_caught_up()
        return outcomes, [winner, *(write for _, write in kept)]

    async def _check_precondition(
        self, workspace_id: UUID, chat_id: UUID, if_match: str | None
    ) -> None:
        """Refuse a stale write before its body is read (why: usecase/history_plan.py)."""
        if if_match is None:
            return  # no need to read and hash the current history
        current = await self.storage.history_version(workspace_id, chat_id)
        refused = precondition(current, if_match)
        if refused is not None:
            raise refused.error()


async def stage_history_body(
    storage: Staging, body: AsyncIterable[bytes], limits: StorageLimits, budget_bytes: int
) -> StagedContent:
    """Stage a history body, not fsynced (the write that commits it makes it durable),
    refused as it streams if it is not UTF-8, passes the history size limit or the
    `budget_bytes` the quota leaves; nothing of a refused body is left."""
    validator = Utf8Validator()
    staged = await storage.stage(
        limited(
            body,
            max_bytes=limits.max_history_bytes,
            too_large=lambda: HistoryTooLargeError(
                f"history is larger than {limits.max_history_bytes} bytes"
            ),
            budget_bytes=budget_bytes,
            over_budget=quota_exceeded,
            inspect=validator.feed,
        ),
        durable=False,
    )
    try:
        validator.feed(b"", final=True)
    except BaseException:
        await storage.discard(staged)
        raise
    return staged


# How many times a batch is planned again when another chat's growth made the plan's
# last write fail the quota at the store; then the batch is refused as over the quota.
_PLAN_ATTEMPTS = 4


def _answer(outcome: Outcome) -> HistoryRevision | BaseException:
    """What the writer of a planned write is told: its revision, or the error it raises."""
    return outcome.revision if isinstance(outcome, Accepted) else outcome.error()
