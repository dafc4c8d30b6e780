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

    @classmethod
    def made(
        cls,
        chat_id: UUID,
        workspace_id: UUID,
        now: datetime,
        title: ChatTitle | None = None,
        metadata: ChatMetadata | None = None,
        forked_from: ForkedFrom | None = None,
    ) -> "Chat":
        """A chat made `now` (created, imported or forked): last changed when it was made."""
        return cls(
            chat_id=chat_id,
            workspace_id=workspace_id,
            created_at=now,
            updated_at=now,
            title=title,
            metadata=metadata or ChatMetadata(),
            forked_from=forked_from,
        )
