"""Fakes the API tests wire into `create_app`: they hold state the test controls."""

from collections.abc import AsyncIterable, Sequence
from pathlib import Path
from uuid import UUID

from adapter.fs.chat_storage import FilesystemChatStorage
from domain.attachment_name import ChatAttachmentName
from domain.errors import DomainError
from usecase.ports.chat_bytes import ContentReader
from usecase.ports.staging import StagedContent


class FlakyStorage(FilesystemChatStorage):
    """The real filesystem storage, except where the test has planted a disk failure.

    A failing `stage` drains the body before it refuses, as a disk that fills up during the
    write would, so the failure comes after the request's bytes were received."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.stage_error: DomainError | None = None
        self.open_error: DomainError | None = None
        self.writable_error: DomainError | None = None

    async def check_writable(self) -> None:
        if self.writable_error is not None:
            raise self.writable_error
        await super().check_writable()

    async def stage(self, chunks: AsyncIterable[bytes], *, durable: bool = True) -> StagedContent:
        if self.stage_error is not None:
            async for _ in chunks:
                pass
            raise self.stage_error
        return await super().stage(chunks, durable=durable)

    async def open_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> ContentReader:
        if self.open_error is not None:
            raise self.open_error
        return await super().open_attachment(workspace_id, chat_id, name)

    async def open_attachments(
        self, workspace_id: UUID, chat_id: UUID, names: Sequence[ChatAttachmentName]
    ) -> list[ContentReader | None]:
        if self.open_error is not None:
            raise self.open_error
        return await super().open_attachments(workspace_id, chat_id, names)
