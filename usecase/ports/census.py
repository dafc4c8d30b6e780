"""What the operators' consistency check reads across the whole service (ADR 0026): every
workspace and chat the metadata store knows of, and every one the data directory holds,
read without changing either; and the two repairs no request ever needs (a workspace's
usage sums made the sums of its chats again, and leftovers of dead processes cleared).

Never on a request's path: these walk a whole workspace, or all of them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from usecase.ports.usage import WorkspaceBytes


@dataclass(frozen=True, slots=True)
class ChatUsage:
    """One chat's figures in the usage ledger (see UsageRepository)."""

    workspace_id: UUID
    chat_id: UUID
    used_bytes: int
    history_bytes: int
    revision_bytes: int


@dataclass(frozen=True, slots=True)
class WorkspaceLedger:
    """A workspace's usage sums as recorded, and the figures of the chats counted in it,
    read at one instant."""

    sums: WorkspaceBytes
    chats: Sequence[ChatUsage]

    @property
    def summed(self) -> WorkspaceBytes:
        """What the sums should be: the totals of the chats' figures."""
        return WorkspaceBytes(
            sum(chat.used_bytes for chat in self.chats),
            sum(chat.revision_bytes for chat in self.chats),
        )


class MetadataCensus(Protocol):
    """Read-only listings across the metadata store, and the one repair of its own."""

    async def workspace_ids(self) -> list[UUID]:
        """Every workspace the store knows of, by its record or by usage counted in it,
        sorted."""
        ...

    async def chat_ids(self, workspace_id: UUID) -> list[UUID]:
        """The ids of the workspace's chat records, sorted."""
        ...

    async def ledger(self, workspace_id: UUID) -> WorkspaceLedger:
        """The workspace's usage sums and its chats' figures, read together (both sums 0
        and no chats when nothing is recorded)."""
        ...

    async def chat_usage(self, chat_id: UUID) -> ChatUsage | None:
        """The chat's figures, if any are recorded."""
        ...

    async def resum(self, workspace_id: UUID) -> None:
        """Make the workspace's usage sums the totals of its chats' figures, in one change
        that every other change of its usage waits for (or that waits for them)."""
        ...


@dataclass(frozen=True, slots=True)
class ChatOnDisk:
    """What the data directory holds of one chat: its directory, and the bytes its history
    revisions keep outside it."""

    directory: bool
    revisions: bool


@dataclass(frozen=True, slots=True)
class WorkspaceOnDisk:
    """The chats a workspace has on disk: those with a directory, and those with kept
    revision bytes."""

    directories: frozenset[UUID]
    revisions: frozenset[UUID]

    def of(self, chat_id: UUID) -> ChatOnDisk:
        return ChatOnDisk(chat_id in self.directories, chat_id in self.revisions)


@dataclass(frozen=True, slots=True, order=True)
class Leftover:
    """An entry of the data directory's `staging/` or `trash/` that no running process
    will finish with: a dead process's staging area, or a deletion cut short."""

    area: str
    name: str


class DiskCensus(Protocol):
    """Read-only listings of the data directory (nothing is created, not even a missing
    service directory), and the clearing of leftovers."""

    async def workspace_ids(self) -> list[UUID]:
        """Every workspace with a directory of chats or of kept revisions, sorted."""
        ...

    async def workspace(self, workspace_id: UUID) -> WorkspaceOnDisk:
        """The workspace's chats on disk."""
        ...

    async def chat(self, workspace_id: UUID, chat_id: UUID) -> ChatOnDisk:
        """What the data directory holds of one chat."""
        ...

    async def marked_chats(self) -> list[tuple[UUID, UUID]]:
        """(workspace_id, chat_id) of every chat with a crash mark or a commit journal
        (CrashJournal.unsettled_chats, without making the marks' directory)."""
        ...

    async def leftovers(self) -> list[Leftover]:
        """Every leftover in `staging/` and `trash/`, sorted. A staging area whose process
        still runs is not one; an entry of `trash/` is, although a deletion running right
        now may have put it there an instant ago."""
        ...

    async def clear_leftovers(self, leftovers: Sequence[Leftover]) -> None:
        """Remove those leftovers (as `leftovers` named them), never following a link, as
        start-up does; a staging area whose process is alive again, or an entry gone
        meanwhile, is left alone."""
        ...
