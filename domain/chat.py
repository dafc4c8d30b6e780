from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Chat:
    """A conversation: one directory on disk holding `history.md` and the attachments."""

    chat_id: UUID
    workspace_id: UUID
    created_at: datetime
