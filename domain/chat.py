from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.chat_details import ChatMetadata, ChatTitle


@dataclass(frozen=True, slots=True)
class ForkedFrom:
    """The chat, and the revision of its history, a chat was forked from (the source may
    be gone since: this only names it)."""

    chat_id: UUID
    revision: int


@dataclass(frozen=True, slots=True)
class Chat:
    """A conversation: one directory on disk holding `history.md` and the attachments.

    `updated_at`: the last time the service changed the chat's history, attachments, title
    or metadata, or recorded a change a sandbox made; `created_at` until then."""

    chat_id: UUID
    workspace_id: UUID
    created_at: datetime
    updated_at: datetime
    title: ChatTitle | None = None
    metadata: ChatMetadata = field(default_factory=ChatMetadata)
    forked_from: ForkedFrom | None = None
