"""Small fakes of the ports in usecase.ports, shared by every test package.

Fakes, not mocks: each one is a working implementation that records state a test can read.
"""

from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile
from domain.errors import DomainError
from domain.history import HistoryVersion
from usecase.ports.archives import ArchiveMember
from usecase.ports.chat_bytes import ChatStorage, ContentReader, ScannedFile
from usecase.ports.crash_journal import HistoryAppend
from usecase.ports.runtime import Clock, IdGenerator
from usecase.ports.staging import StagedContent


class FakeClock(Clock):
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock tells aware times; give `start` a timezone")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


class SequentialIds(IdGenerator):
    """Version-4-shaped UUIDs that sort in the order they were made: ...-000000000001, ..."""

    def __init__(self) -> None:
        self._made = 0

    def new_id(self) -> UUID:
        self._made += 1
        return UUID(f"00000000-0000-4000-8000-{self._made:012x}")


StorageMethod = Literal[
    "prepare",
    "check_writable",
    "ensure_chat",
    "delete_chat",
    "purge_chat",
    "mark_unsettled",
    "mark_settled",
    "unsettled_chats",
    "note_pending_files",
    "pending_files",
    "settle_append",
    "stage",
    "discard",
    "archive_members",
    "member_chunks",
    "history_version",
    "open_history",
    "extend_history_version",
    "append_history",
    "write_history",
    "keep_history_run",
    "copy_history_revision",
    "history_starts_with",
    "drop_history_runs",
    "history_run_sizes",
    "commit_attachments",
    "open_attachment",
    "open_attachments",
    "copy_attachment",
    "delete_attachment",
    "scan_attachments",
]


@dataclass(slots=True)
class _Fault:
    error: DomainError
    successes_left: int


class FaultyChatStorage(ChatStorage):
    """A real ChatStorage whose chosen methods fail as a full or broken disk would.

    A failing `stage` lets the real storage start staging, then raises from inside the byte
    stream once its first chunk has passed, so the real clean-up runs. Every other failing
    method raises before delegating: the disk refused the operation and nothing changed.
    `calls` counts the calls of each method, failed or not.
    """

    def __init__(self, inner: ChatStorage) -> None:
        self._inner = inner
        self._faults: dict[StorageMethod, _Fault] = {}
        self.calls: Counter[StorageMethod] = Counter()

    def fail(self, method: StorageMethod, error: DomainError, *, after_calls: int = 0) -> None:
        """Make every call of `method` from now on raise `error`, except the first
        `after_calls` of them, which still succeed."""
        self._faults[method] = _Fault(error, after_calls)

    def heal(self) -> None:
        self._faults.clear()

    def _fault(self, method: StorageMethod) -> DomainError | None:
        self.calls[method] += 1
        fault = self._faults.get(method)
        if fault is None:
            return None
        if fault.successes_left > 0:
            fault.successes_left -= 1
            return None
        return fault.error

    def _check(self, method: StorageMethod) -> None:
        error = self._fault(method)
        if error is not None:
            raise error

    async def prepare(self) -> None:
        self._check("prepare")
        await self._inner.prepare()

    async def close(self) -> None:
        await self._inner.close()

    async def check_writable(self) -> None:
        self._check("check_writable")
        await self._inner.check_writable()

    async def ensure_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        self._check("ensure_chat")
        await self._inner.ensure_chat(workspace_id, chat_id)

    async def delete_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        self._check("delete_chat")
        await self._inner.delete_chat(workspace_id, chat_id)

    async def purge_chat(self, chat_id: UUID) -> None:
        self.calls["purge_chat"] += 1
        await self._inner.purge_chat(chat_id)

    async def mark_unsettled(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        pending: Sequence[ChatFile] = (),
        appending: HistoryAppend | None = None,
    ) -> bool:
        self._check("mark_unsettled")
        return await self._inner.mark_unsettled(workspace_id, chat_id, pending, appending)

    async def settle_append(self, workspace_id: UUID, chat_id: UUID) -> None:
        self._check("settle_append")
        await self._inner.settle_append(workspace_id, chat_id)

    async def mark_settled(self, workspace_id: UUID, chat_id: UUID) -> None:
        self._check("mark_settled")
        await self._inner.mark_settled(workspace_id, chat_id)

    async def unsettled_chats(self) -> list[tuple[UUID, UUID]]:
        self._check("unsettled_chats")
        return await self._inner.unsettled_chats()

    async def note_pending_files(
        self, workspace_id: UUID, chat_id: UUID, records: Sequence[ChatFile]
    ) -> None:
        self._check("note_pending_files")
        await self._inner.note_pending_files(workspace_id, chat_id, records)

    async def pending_files(self, workspace_id: UUID, chat_id: UUID) -> list[ChatFile]:
        self._check("pending_files")
        return await self._inner.pending_files(workspace_id, chat_id)

    async def stage(self, chunks: AsyncIterable[bytes], *, durable: bool = True) -> StagedContent:
        error = self._fault("stage")
        if error is None:
            return await self._inner.stage(chunks, durable=durable)
        return await self._inner.stage(_failing_after_first_chunk(chunks, error), durable=durable)

    async def discard(self, staged: StagedContent) -> None:
        self._check("discard")
        await self._inner.discard(staged)

    async def archive_members(
        self, archive: StagedContent, *, max_members: int, max_path_bytes: int
    ) -> list[ArchiveMember]:
        self._check("archive_members")
        return await self._inner.archive_members(
            archive, max_members=max_members, max_path_bytes=max_path_bytes
        )

    def member_chunks(self, archive: StagedContent, member: ArchiveMember) -> AsyncIterator[bytes]:
        error = self._fault("member_chunks")
        chunks = self._inner.member_chunks(archive, member)
        return chunks if error is None else _failing_after_first_chunk(chunks, error)

    async def history_version(
        self, workspace_id: UUID, chat_id: UUID, *, settled: bool = False
    ) -> HistoryVersion:
        self._check("history_version")
        return await self._inner.history_version(workspace_id, chat_id, settled=settled)

    async def open_history(
        self, workspace_id: UUID, chat_id: UUID
    ) -> tuple[HistoryVersion, ContentReader]:
        self._check("open_history")
        return await self._inner.open_history(workspace_id, chat_id)

    async def open_known_history(
        self, workspace_id: UUID, chat_id: UUID
    ) -> tuple[HistoryVersion, ContentReader] | None:
        self._check("open_history")  # the same read of the disk, without the hashing
        return await self._inner.open_known_history(workspace_id, chat_id)

    async def extend_history_version(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion, staged: StagedContent
    ) -> HistoryVersion:
        self._check("extend_history_version")
        return await self._inner.extend_history_version(workspace_id, chat_id, version, staged)

    async def append_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        base: HistoryVersion,
        staged: Sequence[StagedContent],
        result: HistoryVersion,
    ) -> None:
        self._check("append_history")
        await self._inner.append_history(workspace_id, chat_id, base, staged, result)

    async def write_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        staged: StagedContent,
        *,
        keep_run: int | None = None,
        keep_bodies: Sequence[tuple[int, StagedContent]] = (),
    ) -> int:
        self._check("write_history")
        return await self._inner.write_history(
            workspace_id, chat_id, staged, keep_run=keep_run, keep_bodies=keep_bodies
        )

    async def open_history_revision(
        self, workspace_id: UUID, chat_id: UUID, run: int, size_bytes: int, *, current: bool
    ) -> ContentReader | None:
        self._check("open_history")
        return await self._inner.open_history_revision(
            workspace_id, chat_id, run, size_bytes, current=current
        )

    async def keep_history_run(self, workspace_id: UUID, chat_id: UUID, run: int) -> int:
        self._check("keep_history_run")
        return await self._inner.keep_history_run(workspace_id, chat_id, run)

    async def copy_history_revision(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        run: int,
        version: HistoryVersion,
        *,
        current: bool,
    ) -> StagedContent | None:
        self._check("copy_history_revision")
        return await self._inner.copy_history_revision(
            workspace_id, chat_id, run, version, current=current
        )

    async def history_starts_with(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion
    ) -> bool:
        self._check("history_starts_with")
        return await self._inner.history_starts_with(workspace_id, chat_id, version)

    async def drop_history_runs(self, workspace_id: UUID, chat_id: UUID, keep: set[int]) -> int:
        self._check("drop_history_runs")
        return await self._inner.drop_history_runs(workspace_id, chat_id, keep)

    async def history_run_sizes(self, workspace_id: UUID, chat_id: UUID) -> dict[int, int]:
        self._check("history_run_sizes")
        return await self._inner.history_run_sizes(workspace_id, chat_id)

    async def commit_attachments(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        items: Sequence[tuple[ChatAttachmentName, StagedContent]],
    ) -> list[int]:
        try:
            self._check("commit_attachments")
        except DomainError:
            # The port consumes the staged files of a failed call; so does this double.
            for _, staged in items:
                await self._inner.discard(staged)
            raise
        return await self._inner.commit_attachments(workspace_id, chat_id, items)

    async def open_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> ContentReader:
        self._check("open_attachment")
        return await self._inner.open_attachment(workspace_id, chat_id, name)

    async def open_attachments(
        self, workspace_id: UUID, chat_id: UUID, names: Sequence[ChatAttachmentName]
    ) -> list[ContentReader | None]:
        self._check("open_attachments")
        return await self._inner.open_attachments(workspace_id, chat_id, names)

    async def copy_attachment(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        name: ChatAttachmentName,
        size_bytes: int,
        sha256: str,
    ) -> StagedContent | None:
        self._check("copy_attachment")
        return await self._inner.copy_attachment(workspace_id, chat_id, name, size_bytes, sha256)

    async def delete_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> int:
        self._check("delete_attachment")
        return await self._inner.delete_attachment(workspace_id, chat_id, name)

    async def scan_attachments(
        self, workspace_id: UUID, chat_id: UUID, max_size_bytes: int
    ) -> list[ScannedFile]:
        self._check("scan_attachments")
        return await self._inner.scan_attachments(workspace_id, chat_id, max_size_bytes)


async def _failing_after_first_chunk(
    chunks: AsyncIterable[bytes], error: DomainError
) -> AsyncIterator[bytes]:
    iterator = aiter(chunks)
    try:
        async for chunk in iterator:
            yield chunk
            break
    finally:
        if isinstance(iterator, AsyncGenerator):
            await iterator.aclose()
    raise error
