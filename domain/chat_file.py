import re
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.errors import InvalidInputError


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


CONTENT_TYPE_MAX_LENGTH = 255
# RFC 9110 section 8.3.1: type "/" subtype, each a token, then any parameters.
_TCHAR_RUN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TCHAR_RUN}/{_TCHAR_RUN}(\s*;.*)?")


def checked_content_type(value: str | None) -> str | None:
    """A client-sent media type fit to store and echo back in a header, or None if absent."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > CONTENT_TYPE_MAX_LENGTH or not all(" " <= char <= "~" for char in value):
        raise InvalidInputError(
            f"content type must be printable ASCII of at most {CONTENT_TYPE_MAX_LENGTH} chars"
        )
    if not _MEDIA_TYPE.fullmatch(value):
        raise InvalidInputError(f"content type {value!r} is not a media type like text/plain")
    return value
