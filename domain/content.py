from dataclasses import dataclass

from domain.attachment_name import ChatAttachmentName


@dataclass(frozen=True, slots=True)
class StagedContent:
    """Bytes written durably to the staging area, not yet visible in any chat.

    `token` is an opaque handle only the storage that staged it understands.
    """

    token: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ScannedFile:
    """A regular file found at the top of a chat directory under a valid attachment name."""

    name: ChatAttachmentName
    size_bytes: int
    sha256: str
