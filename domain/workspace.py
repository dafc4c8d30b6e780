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
    """`used_bytes`: what the workspace's chat directories hold; `revision_bytes`: what its
    history revisions keep on disk beyond them. The quota bounds the two together."""

    workspace_id: UUID
    used_bytes: int
    revision_bytes: int
    quota_bytes: int

    @property
    def charged_bytes(self) -> int:
        """What the quota bounds."""
        return self.used_bytes + self.revision_bytes

    def admits(self, delta_bytes: int) -> bool:
        """Whether growing the charged bytes by `delta_bytes` stays within the quota
        (shrinking always does)."""
        return delta_bytes <= 0 or self.charged_bytes + delta_bytes <= self.quota_bytes
