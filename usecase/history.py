from collections.abc import AsyncIterable
from dataclasses import dataclass
from uuid import UUID

from domain.content import StagedContent
from domain.errors import (
    HistoryTooLargeError,
    PreconditionFailedError,
    QuotaExceededError,
)
from domain.history import HistoryVersion, Utf8Validator
from domain.limits import StorageLimits
from usecase.access import ChatAccess
from usecase.interface import ChatStorage, ContentReader, KeyedLock, MetadataStore
from usecase.streams import limited
from usecase.unsettled import unsettled


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """The current version; `content` is None when the caller already holds it."""

    version: HistoryVersion
    content: ContentReader | None


@dataclass(frozen=True, slots=True)
class GetHistory:
    access: ChatAccess
    storage: ChatStorage

    async def __call__(
        self, user_id: UUID, chat_id: UUID, if_none_match: str | None
    ) -> HistoryRead:
        chat = await self.access.chat(user_id, chat_id)
        version, reader = await self.storage.open_history(chat.workspace_id, chat_id)
        if if_none_match is not None and version.matches(if_none_match, weak=True):
            await reader.aclose()
            return HistoryRead(version, None)
        return HistoryRead(version, reader)


@dataclass(frozen=True, slots=True)
class PutHistory:
    """Replace the whole history atomically, optionally only if it is still `if_match`.

    The body is streamed to staging (size, UTF-8 and quota checked as it arrives), then,
    under the chat's lock, the precondition and quota are checked again and the staged
    bytes take the place of `history.md`."""

    access: ChatAccess
    metadata: MetadataStore
    storage: ChatStorage
    locks: KeyedLock
    limits: StorageLimits

    async def __call__(
        self,
        user_id: UUID,
        chat_id: UUID,
        body: AsyncIterable[bytes],
        if_match: str | None,
    ) -> HistoryVersion:
        chat = await self.access.chat(user_id, chat_id)
        workspace_id = chat.workspace_id
        await self._check_precondition(workspace_id, chat_id, if_match)
        usage = self.metadata.usage
        used = await usage.used_bytes(workspace_id)
        counted = await usage.history_bytes(chat_id)
        validator = Utf8Validator()
        staged = await self.storage.stage(
            limited(
                body,
                max_bytes=self.limits.max_history_bytes,
                too_large=lambda: HistoryTooLargeError(
                    f"history is larger than {self.limits.max_history_bytes} bytes"
                ),
                budget_bytes=self.limits.quota_bytes - used + counted,
                over_budget=_quota_exceeded,
                inspect=validator.feed,
            )
        )
        try:
            validator.feed(b"", final=True)
            async with self.locks.hold(chat_id):
                await self.access.chat(user_id, chat_id)
                async with unsettled(self.storage, chat):
                    await self._commit(workspace_id, chat_id, staged, if_match)
        except BaseException:
            await self.storage.discard(staged)
            raise
        return HistoryVersion(staged.sha256, staged.size_bytes)

    async def _commit(
        self, workspace_id: UUID, chat_id: UUID, staged: StagedContent, if_match: str | None
    ) -> None:
        await self._check_precondition(workspace_id, chat_id, if_match)
        usage = self.metadata.usage
        counted = await usage.history_bytes(chat_id)
        quota = self.limits.quota_bytes
        if not await usage.try_set_history(workspace_id, chat_id, staged.size_bytes, quota):
            raise _quota_exceeded()
        try:
            await self.storage.write_history(workspace_id, chat_id, staged)
        except BaseException:
            await usage.try_set_history(workspace_id, chat_id, counted, None)
            raise

    async def _check_precondition(
        self, workspace_id: UUID, chat_id: UUID, if_match: str | None
    ) -> None:
        if if_match is None:
            return  # no need to read and hash the current history
        current = await self.storage.history_version(workspace_id, chat_id)
        if not current.matches(if_match):
            raise PreconditionFailedError(f"history is at {current.etag}, not {if_match}")


def _quota_exceeded() -> QuotaExceededError:
    return QuotaExceededError("the write would take the workspace over its quota")
