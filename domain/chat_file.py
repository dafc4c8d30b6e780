from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from domain.attachment_name import ChatAttachmentName


@dataclass(frozen=True, slots=True)
class ChatFile:
    """The record of one attachment stored in a chat directory under `name`."""

    file_id: UUID
    chat_id: UUID
    name: ChatAttachmentName
    content_type: str | None
    size_bytes: int
    sha256: str
    created_at: datetime

    def with_content(self, size_bytes: int, sha256: str) -> "ChatFile":
        """The same record (same id) describing bytes that changed on disk."""
        return replace(self, size_bytes=size_bytes, sha256=sha256)
