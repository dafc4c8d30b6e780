from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Workspace:
    """The one workspace a user owns; it holds that user's chats and their bytes."""

    workspace_id: UUID
    user_id: UUID
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WorkspaceUsage:
    workspace_id: UUID
    used_bytes: int
    quota_bytes: int

    def admits(self, delta_bytes: int) -> bool:
        """Whether growing usage by `delta_bytes` stays within the quota (shrinking always does)."""
        return delta_bytes <= 0 or self.used_bytes + delta_bytes <= self.quota_bytes
