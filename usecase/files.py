from collections.abc import AsyncIterable
from dataclasses import dataclass
from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.byte_range import ByteRange
from domain.chat import Chat
from domain.chat_file import ChatFile, checked_content_type
from domain.errors import (
    ChatFileNotFoundError,
    DuplicateAttachmentNameError,
    FileTooLargeError,
    InvalidInputError,
    QuotaExceededError,
)
from domain.etag import etag_listed, strong_etag
from domain.limits import StorageLimits
from domain.paging import Page, PageCursor, PageRequest, page_of
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.crash_safety import Mark
from usecase.ports.chat_bytes import Attachments, ChatStorage, ContentReader
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock, IdGenerator
from usecase.ports.staging import StagedContent
from usecase.ports.uploads import IncomingFile
from usecase.quota import QuotaLedger, quota_exceeded
from usecase.reconcile import ChatFileReconciler
from usecase.streams import limited


@dataclass(frozen=True, slots=True)
class _Staged:
    name: ChatAttachmentName
    content_type: str | None
    content: StagedContent


@dataclass(frozen=True, slots=True)
class UploadFiles:
    """Store every file of one request, or none of them.

    Each file streams into staging while its size and the workspace quota are checked;
    once all are staged, under the chat's lock, the quota is reserved for the whole
    request and the files are committed in order, each replacing any attachment of the
    same name (bytes first, then the record)."""

    access: ChatAccess
    metadata: MetadataStore
    storage: ChatStorage
    ids: IdGenerator
    clock: Clock
    guard: ChatGuard
    limits: StorageLimits
    ledger: QuotaLedger

    async def __call__(
        self, user_id: UUID, chat_id: UUID, incoming: AsyncIterable[IncomingFile]
    ) -> list[ChatFile]:
        chat = await self.access.chat(user_id, chat_id)
        staged: list[_Staged] = []
        try:
            await self._stage_all(chat, incoming, staged)
            async with self.guard.held(user_id, chat_id) as chat:
                # A crash after the bytes are in place and before the records are saved
                # must leave these records to settling, not the bytes under the old
                # records' ids: the mark holds them.
                stored = [self._record_of(chat, item) for item in staged]
                async with self.guard.marked(chat, stored) as mark:
                    return await self._commit_all(chat, staged, stored, mark)
        finally:
            for item in staged:
                await self.storage.discard(item.content)

    async def _stage_all(
        self, chat: Chat, incoming: AsyncIterable[IncomingFile], staged: list[_Staged]
    ) -> None:
        files = self.metadata.files
        budget = await self.ledger.budget(chat.workspace_id)
        max_file = self.limits.max_file_bytes
        async for part in incoming:
            name = ChatAttachmentName(part.filename or "")
            if any(item.name == name for item in staged):
                raise DuplicateAttachmentNameError(
                    f"attachment name {name.value!r} appears in two parts of the upload"
                )
            content_type = checked_content_type(part.content_type)
            replaced = await files.get_by_chat_id_and_name(chat.chat_id, name)
            budget += 0 if replaced is None else replaced.size_bytes
            content = await self.storage.stage(
                limited(
                    part.chunks(),
                    max_bytes=max_file,
                    too_large=lambda: FileTooLargeError(f"a file is larger than {max_file} bytes"),
                    budget_bytes=budget,
                    over_budget=_upload_over_quota,
                )
            )
            staged.append(_Staged(name, content_type, content))
            budget -= content.size_bytes
        if not staged:
            raise InvalidInputError("the upload has no part named 'file'")

    def _record_of(self, chat: Chat, item: _Staged) -> ChatFile:
        return ChatFile(
            file_id=self.ids.new_id(),
            chat_id=chat.chat_id,
            name=item.name,
            content_type=item.content_type,
            size_bytes=item.content.size_bytes,
            sha256=item.content.sha256,
            created_at=self.clock.now(),
        )

    async def _commit_all(
        self, chat: Chat, staged: list[_Staged], stored: list[ChatFile], mark: Mark
    ) -> list[ChatFile]:
        files = self.metadata.files
        replaced_bytes = 0
        for item in staged:
            replaced = await files.get_by_chat_id_and_name(chat.chat_id, item.name)
            replaced_bytes += 0 if replaced is None else replaced.size_bytes
        reserved = sum(item.content.size_bytes for item in staged) - replaced_bytes
        await self.ledger.reserve(chat, reserved, "the upload")
        try:
            items = list(staged)
            staged.clear()  # committed or removed by the storage from here on
            await self.storage.commit_attachments(
                chat.workspace_id, chat.chat_id, [(item.name, item.content) for item in items]
            )
        except BaseException:
            await self.ledger.refund(chat, reserved)
            raise
        mark.bytes_changed()
        async with self.metadata.transaction() as records:
            for record in stored:
                await records.files.save(record)
            await records.chats.touch(chat.chat_id, self.clock.now())
        return stored


def _upload_over_quota() -> QuotaExceededError:
    return quota_exceeded("the upload")


@dataclass(frozen=True, slots=True)
class ListFiles:
    access: ChatAccess
    metadata: MetadataStore

    async def __call__(self, user_id: UUID, chat_id: UUID, page: PageRequest) -> Page[ChatFile]:
        await self.access.chat(user_id, chat_id)
        records = await self.metadata.files.list_by_chat_id(chat_id, page.probe())
        return page_of(records, page.limit, lambda item: PageCursor(item.created_at, item.file_id))


async def _record_in(metadata: MetadataStore, chat_id: UUID, file_id: UUID) -> ChatFile:
    record = await metadata.files.get(file_id)
    if record is None or record.chat_id != chat_id:
        raise ChatFileNotFoundError(f"file {file_id} not found in chat {chat_id}")
    return record


@dataclass(frozen=True, slots=True)
class GetFile:
    access: ChatAccess
    metadata: MetadataStore

    async def __call__(self, user_id: UUID, chat_id: UUID, file_id: UUID) -> ChatFile:
        await self.access.chat(user_id, chat_id)
        return await _record_in(self.metadata, chat_id, file_id)


@dataclass(frozen=True, slots=True)
class FileDownload:
    """An attachment opened for reading. `span` is the inclusive byte range to send, or
    None for the whole file; `not_modified` when the caller's If-None-Match is current."""

    record: ChatFile
    content: ContentReader
    span: tuple[int, int] | None = None
    not_modified: bool = False

    @property
    def etag(self) -> str:
        return strong_etag(self.record.sha256)


@dataclass(frozen=True, slots=True)
class OpenFileContent:
    """Open an attachment's bytes, honouring If-None-Match, Range and If-Range.

    The record and the descriptor are taken under the chat's lock, as one state: every
    change of a name's bytes and its record (an upload replacing it, a delete, a rescan,
    start-up settling) holds that lock from the rename to the record. Without it, a
    download looking up X could open the name after an upload renamed Y over it but before
    Y's record was saved, and serve Y's bytes under X's ETag. The bytes are streamed after
    the lock is let go, from the descriptor, which keeps naming X's bytes whatever happens
    to the name."""

    metadata: MetadataStore
    storage: Attachments
    guard: ChatGuard

    async def __call__(
        self,
        user_id: UUID,
        chat_id: UUID,
        file_id: UUID,
        *,
        byte_range: ByteRange | None = None,
        if_none_match: str | None = None,
        if_range: str | None = None,
    ) -> FileDownload:
        async with self.guard.held(user_id, chat_id) as chat:
            record = await _record_in(self.metadata, chat_id, file_id)
            reader = await self.storage.open_attachment(chat.workspace_id, chat_id, record.name)
        download = FileDownload(record, reader)
        if if_none_match is not None and etag_listed(download.etag, if_none_match, weak=True):
            return FileDownload(record, reader, not_modified=True)
        if byte_range is None or (if_range is not None and if_range.strip() != download.etag):
            return download
        try:
            span = byte_range.resolve(reader.size_bytes)
        except BaseException:
            await reader.aclose()
            raise
        return FileDownload(record, reader, span)


@dataclass(frozen=True, slots=True)
class DeleteFile:
    """The record first, then the bytes: one unit of work removes the record and releases
    its bytes, and ends by removing the file. If the disk refuses, the unit rolls back: the
    answer says nothing changed, and nothing has."""

    metadata: MetadataStore
    storage: ChatStorage
    guard: ChatGuard
    ledger: QuotaLedger
    clock: Clock

    async def __call__(self, user_id: UUID, chat_id: UUID, file_id: UUID) -> None:
        async with self.guard.held(user_id, chat_id) as chat:
            record = await _record_in(self.metadata, chat_id, file_id)
            async with self.guard.marked(chat) as mark:
                await _remove_file(self, chat, record, mark)


@dataclass(frozen=True, slots=True)
class ClearFiles:
    """Remove every attachment of a chat, each as DeleteFile does; keep the history. If
    the disk refuses one, it and the ones not yet reached keep their records."""

    metadata: MetadataStore
    storage: ChatStorage
    guard: ChatGuard
    ledger: QuotaLedger
    clock: Clock

    async def __call__(self, user_id: UUID, chat_id: UUID) -> None:
        async with self.guard.held(user_id, chat_id) as chat, self.guard.marked(chat) as mark:
            for record in await self.metadata.files.list_all_by_chat_id(chat.chat_id):
                await _remove_file(self, chat, record, mark)


async def _remove_file(
    remover: DeleteFile | ClearFiles, chat: Chat, record: ChatFile, mark: Mark
) -> None:
    """One unit of work: the record goes, its bytes are released and the chat dated
    changed, then the file is removed; if the disk refuses, the unit rolls back."""
    async with remover.metadata.transaction() as records:
        await records.files.delete(record.file_id)
        # The record's size: a sandbox's change to the file counts from the next rescan
        # on, and so does its removal.
        await remover.ledger.in_unit(records).release(chat, record.size_bytes)
        await records.chats.touch(chat.chat_id, remover.clock.now())
        await remover.storage.delete_attachment(chat.workspace_id, chat.chat_id, record.name)
        mark.bytes_changed()
    mark.records_caught_up()


@dataclass(frozen=True, slots=True)
class RescanFiles:
    reconciler: ChatFileReconciler
    guard: ChatGuard

    async def __call__(self, user_id: UUID, chat_id: UUID) -> list[ChatFile]:
        async with self.guard.changing(user_id, chat_id) as chat:
            return await self.reconciler.reconcile(chat)
