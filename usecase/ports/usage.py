"""The bytes each chat takes: the figures the quota reads, and the disk they are measured on."""

from typing import Protocol
from uuid import UUID


class UsageRepository(Protocol):
    """Bytes each chat takes on disk, kept beside the metadata so that the quota check reads
    one figure per workspace instead of walking its directories."""

    async def used_bytes(self, workspace_id: UUID) -> int:
        """Sum over the workspace's chats; 0 for a workspace with none recorded."""
        ...

    async def try_add(
        self, workspace_id: UUID, chat_id: UUID, delta_bytes: int, quota_bytes: int
    ) -> bool:
        """Atomically add `delta_bytes` to the chat's figure, unless the delta is positive
        and would take the workspace's sum over `quota_bytes`. A negative or zero delta
        always applies. Returns whether it applied. A chat's figure never goes below 0."""
        ...

    async def history_bytes(self, chat_id: UUID) -> int:
        """The size of `history.md` that the chat's figure counts (0 if none recorded)."""
        ...

    async def try_set_history(
        self, workspace_id: UUID, chat_id: UUID, size_bytes: int, quota_bytes: int | None
    ) -> bool:
        """Atomically count `size_bytes` as the chat's history instead of the size counted
        so far, adjusting the chat's figure by the difference, unless that grows the
        workspace over `quota_bytes` (None: always applies). Returns whether it applied."""
        ...

    async def set_chat_bytes(
        self, workspace_id: UUID, chat_id: UUID, used_bytes: int, history_bytes: int
    ) -> None:
        """Replace the chat's figure with a fresh measurement of its directory, of which
        `history_bytes` are its history."""
        ...

    async def delete_chat(self, chat_id: UUID) -> None: ...


class StorageUsageReader(Protocol):
    async def chat_used_bytes(self, workspace_id: UUID, chat_id: UUID) -> int:
        """The logical size (lstat) of every regular file at any depth in the chat directory;
        links are never followed or counted."""
        ...
