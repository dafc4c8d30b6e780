"""What an export archive holds (api.md, v2 exports; ADR 0023): its layout and its manifest."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from domain.attachment_name import HISTORY_FILE_NAME, ChatAttachmentName
from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.workspace import Workspace


@dataclass(frozen=True, slots=True)
class ExportedContent:
    """The bytes a member of the archive holds: how many, and their sha256."""

    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ExportedChat:
    """One chat as the archive holds it, in one consistent state: the chat, its history's
    size and sha256, and the record of every attachment in it (its size and sha256 those
    of the bytes in the archive)."""

    chat: Chat
    history: ExportedContent
    files: tuple[ChatFile, ...]


@dataclass(frozen=True, slots=True)
class ExportManifest:
    """`manifest.json`, the archive's last member: what the archive holds and when it was
    made."""

    FORMAT: ClassVar[Literal["chatstore-export"]] = "chatstore-export"
    VERSION: ClassVar[Literal[1]] = 1

    exported_at: datetime
    workspace: Workspace
    chats: tuple[ExportedChat, ...]


MANIFEST_PATH = "manifest.json"


def history_path(chat_id: UUID) -> str:
    """Where a chat's history lies in the archive."""
    return f"chats/{chat_id}/{HISTORY_FILE_NAME}"


def attachment_path(chat_id: UUID, name: ChatAttachmentName) -> str:
    """Where a chat's attachment lies in the archive: one path component under `files/`,
    since an attachment name never holds `/` or `\\`."""
    return f"chats/{chat_id}/files/{name.value}"
