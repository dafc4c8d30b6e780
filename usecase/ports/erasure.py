"""Erasing a workspace's bytes, and the durable note that an erasure is under way (ADR 0024)."""

from typing import Protocol
from uuid import UUID


class WorkspaceErasure(Protocol):
    """Everything the storage keeps for a workspace, and the note that lets start-up finish
    an erasure a crash cut short.

    The note is written before the workspace's records go and dropped once its bytes are
    gone, so a note found at start-up names a workspace whose records may be gone while
    its bytes are still there."""

    async def note_erasure(self, workspace_id: UUID) -> None:
        """Durably note (written and fsynced, with its directory) that the workspace's
        erasure is under way; a no-op when it is noted already."""
        ...

    async def noted_erasures(self) -> list[UUID]:
        """Every workspace whose erasure is noted, in id order."""
        ...

    async def drop_erasure_note(self, workspace_id: UUID) -> None:
        """Drop the workspace's note, durably (a no-op when it has none)."""
        ...

    async def hide_workspace(self, workspace_id: UUID) -> None:
        """Move every byte the storage keeps for the workspace out of sight, durably: its
        chat directories (whatever a sandbox wrote in them too, links moved, never
        followed), what its chats' history revisions keep, and its chats' crash marks and
        commit journals. A no-op for what is gone already. `purge_workspace` removes what
        this moved (or the next start-up does)."""
        ...

    async def purge_workspace(self, workspace_id: UUID) -> None:
        """Remove what `hide_workspace` moved out of sight, never following links. Never
        raises: what it cannot remove waits for the next start-up."""
        ...
