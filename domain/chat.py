from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class ForkedFrom:
    """The chat, and the revision of its history, a chat was forked from (the source may
    be gone since: this only names it)."""

    chat_id: UUID
    revision: int


@dataclass(frozen=True, slots=True)
class Chat:
    """A conversation: one directory on disk holding `history.md` and the attachments."""

    chat_id: UUID
    workspace_id: UUID
    created_at: datetime
    forked_from: ForkedFrom | None = None
