"""Appending to a chat's history: how a chat grows turn by turn (ADR 0021)."""

from collections.abc import AsyncIterable
from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import DomainError, HistoryTooLargeError
from domain.history import HistoryVersion
from domain.limits import StorageLimits
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.group_commit import GroupCommit
from usecase.history import stage_history_body
from usecase.history_plan import precondition
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.crash_journal import HistoryAppend
from usecase.ports.metadata import MetadataStore
from usecase.ports.staging import StagedContent
from usecase.quota import QuotaLedger, fits_beside, quota_exceeded


@dataclass(frozen=True, slots=True)
class Appended:
    """One append's body, staged and checked, waiting to be added to the history."""

    staged: StagedContent
    if_match: str | None


AppendCommits = GroupCommit[Appended, HistoryVersion]

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

    async def __call__(
        self, user_id: UUID, chat_id: UUID, body: AsyncIterable[bytes], if_match: str | None
    ) -> HistoryVersion:
        chat = await self.access.chat(user_id, chat_id)
        workspace_id = chat.workspace_id
        if if_match is not None:  # refused before its body is read (usecase/history_plan.py)
            refused = precondition(
                await self.storage.history_version(workspace_id, chat_id), if_match
            )
            if refused is not None:
                raise refused.error()
        staged = await self._stage(workspace_id, body)
        if staged.size_bytes == 0:  # changes nothing: the current version, checked again
            await self.storage.discard(staged)
            async with self.guard.held(user_id, chat_id) as held:
                await self.guard.settled(held)
                current = await self.storage.history_version(workspace_id, chat_id, settled=True)
            refused = precondition(current, if_match)
            if refused is not None:
                raise refused.error()
            return current

        async def commit(writes: list[Appended]) -> list[HistoryVersion | BaseException]:
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
    ) -> list[HistoryVersion | BaseException]:
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
    ) -> list[HistoryVersion | BaseException]:
        workspace_id, chat_id = chat.workspace_id, chat.chat_id
        usage = self.metadata.usage
        await self.guard.settled(chat)  # an append a crash cut short is cut back first
        current = await self.storage.history_version(workspace_id, chat_id, settled=True)
        counted = await usage.history_bytes(chat_id)
        for _ in range(_PLAN_ATTEMPTS):
            others = await usage.charged_bytes(workspace_id) - counted
            outcomes, accepted, version = await self._plan(chat, current, writes, others)
            if not accepted:
                return outcomes
            appending = HistoryAppend(current.size_bytes, version)
            async with self.guard.marked(chat, appending=appending) as mark:
                if not await self.ledger.try_count_history(chat, version.size_bytes):
                    continue  # another chat of the workspace grew: plan again with its figure
                # From here the bytes may change for good even if the append then fails (a
                # rebuilt history renamed in before an fsync error): the mark stays for
                # settling, which keeps the append whole or cuts it back by its note.
                mark.bytes_changed()
                try:
                    await self.storage.append_history(
                        workspace_id, chat_id, current, accepted, version
                    )
                except BaseException:
                    await self.ledger.restore_history(chat, counted)
                    raise
                mark.records_caught_up()
                return outcomes
        return [quota_exceeded("the append")] * len(writes)

    async def _plan(
        self, chat: Chat, current: HistoryVersion, writes: list[Appended], others_bytes: int
    ) -> tuple[list[HistoryVersion | BaseException], list[StagedContent], HistoryVersion]:
        """Each append's outcome in arrival order, those accepted, and the version they
        make together."""
        outcomes: list[HistoryVersion | BaseException] = []
        accepted: list[StagedContent] = []
        version = current
        for write in writes:
            refusal = self._refusal(version, write, others_bytes)
            if refusal is not None:
                outcomes.append(refusal)
                continue
            version = await self.storage.extend_history_version(
                chat.workspace_id, chat.chat_id, version, write.staged
            )
            outcomes.append(version)
            accepted.append(write.staged)
        return outcomes, accepted, version

    def _refusal(
        self, version: HistoryVersion, write: Appended, others_bytes: int
    ) -> DomainError | None:
        """Why `write` cannot go onto `version`, or None."""
        refused = precondition(version, write.if_match)
        if refused is not None:
            return refused.error()
        size = version.size_bytes + write.staged.size_bytes
        if size > self.limits.max_history_bytes:
            return HistoryTooLargeError(
                f"the history would be larger than {self.limits.max_history_bytes} bytes"
            )
        if not fits_beside(others_bytes, size, self.ledger.quota_bytes):
            return quota_exceeded("the append")
        return None
