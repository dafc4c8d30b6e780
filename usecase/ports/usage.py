"""The bytes each chat takes: the figures the quota reads, and the disk they are measured on."""

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class WorkspaceBytes:
    """A workspace's two sums over its chats: `used_bytes`, what their directories hold,
    and `revision_bytes`, what their history revisions keep on disk beyond them."""

    used_bytes: int
    revision_bytes: int

    @property
    def charged_bytes(self) -> int:
        """What the quota bounds."""
        return self.used_bytes + self.revision_bytes


@dataclass(frozen=True, slots=True)
class ChatStanding:
    """A chat's history and revision figures and its workspace's sums, read together: what
    a history write checks its budget against."""

    history_bytes: int
    revision_bytes: int
    workspace: WorkspaceBytes

    @property
    def others_bytes(self) -> int:
        """What the workspace is charged for beside this chat's history and revisions."""
        return self.workspace.charged_bytes - self.history_bytes - self.revision_bytes


class UsageRepository(Protocol):
    """Bytes each chat takes on disk, kept beside the metadata so that the quota check reads
    one row per workspace instead of walking its directories.

    Each chat has two figures, never below 0: its used bytes (its directory, of which its
    history is a part) and its revision bytes (what its history revisions keep beyond
    `history.md`). The quota bounds the workspace's charged bytes, the sum of both over its
    chats."""

    async def charged_bytes(self, workspace_id: UUID) -> int:
        """The workspace's used plus revision bytes, the figure the quota bounds; 0 for a
        workspace with none recorded."""
        ...

    async def workspace_bytes(self, workspace_id: UUID) -> WorkspaceBytes:
        """The workspace's used and revision sums, read together; both 0 for a workspace
        with none recorded."""
        ...

    async def try_add(
        self, workspace_id: UUID, chat_id: UUID, delta_bytes: int, quota_bytes: int
    ) -> bool:
        """Atomically add `delta_bytes` to the chat's used figure, unless the delta is
        positive and would take the workspace's charged bytes (used plus revision) over
        `quota_bytes`. A negative or zero delta always applies. Returns whether it applied.
        The chat's revision figure is left as it is."""
        ...

    async def history_bytes(self, chat_id: UUID) -> int:
        """The size of `history.md` that the chat's used figure counts (0 if none recorded)."""
        ...

    async def revision_bytes(self, chat_id: UUID) -> int:
        """The chat's revision figure (0 if none recorded)."""
        ...

    async def chat_standing(self, workspace_id: UUID, chat_id: UUID) -> ChatStanding:
        """`history_bytes(chat_id)`, `revision_bytes(chat_id)` and
        `workspace_bytes(workspace_id)`, read at one instant (one read of the store)."""
        ...

    async def try_set_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        size_bytes: int,
        quota_bytes: int | None,
        revision_bytes: int | None = None,
    ) -> bool:
        """Atomically count `size_bytes` as the chat's history instead of the size counted
        so far, adjusting the chat's used figure by the difference, and, when
        `revision_bytes` is given, make it the chat's revision figure in the same change
        (None: the revision figure is left as it is). Refused, changing nothing, when the
        two differences together are positive and would take the workspace's charged bytes
        over `quota_bytes`; a combined difference of 0 or less always applies, and so does
        any change when `quota_bytes` is None. Returns whether it applied."""
        ...

    async def set_chat_bytes(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        used_bytes: int,
        history_bytes: int,
        revision_bytes: int | None = None,
    ) -> None:
        """Replace the chat's used figure with a fresh measurement of its directory, of
        which `history_bytes` are its history, and its revision figure with
        `revision_bytes` (None: keep the one recorded, 0 if none). Ignores the quota."""
        ...

    async def delete_chat(self, chat_id: UUID) -> None:
        """Forget the chat's figures, taking both out of its workspace's sums."""
        ...

    async def delete_workspace(self, workspace_id: UUID) -> None:
        """Forget the figures of every chat counted in the workspace, and its sums."""
        ...


class StorageUsageReader(Protocol):
    async def chat_used_bytes(self, workspace_id: UUID, chat_id: UUID) -> int:
        """The logical size (lstat) of every regular file at any depth in the chat directory;
        links are never followed or counted."""
        ...
