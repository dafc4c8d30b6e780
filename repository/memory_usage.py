from dataclasses import dataclass, field
from uuid import UUID

from domain.workspace import WorkspaceUsage
from repository.memory_undo import on_undo, put, remove
from usecase.ports.census import ChatUsage, WorkspaceLedger
from usecase.ports.usage import ChatStanding, UsageRepository, WorkspaceBytes


@dataclass(frozen=True, slots=True)
class _Figure:
    """One chat's two figures, as counted in its workspace's sums."""

    used: int
    revision: int


_NONE = _Figure(0, 0)


@dataclass(slots=True)
class _Tally:
    """One workspace's per-chat figures and their running sums, so reading them costs O(1)."""

    by_chat: dict[UUID, _Figure] = field(default_factory=dict)
    used: int = 0
    revision: int = 0

    def usage(self, workspace_id: UUID, quota_bytes: int) -> WorkspaceUsage:
        return WorkspaceUsage(workspace_id, self.used, self.revision, quota_bytes)


class InMemoryUsageRepository(UsageRepository):
    def __init__(self) -> None:
        self._tallies: dict[UUID, _Tally] = {}
        self._workspace_of: dict[UUID, UUID] = {}
        self._history_of: dict[UUID, int] = {}

    async def charged_bytes(self, workspace_id: UUID) -> int:
        return (await self.workspace_bytes(workspace_id)).charged_bytes

    async def workspace_bytes(self, workspace_id: UUID) -> WorkspaceBytes:
        tally = self._tally(workspace_id)
        return WorkspaceBytes(tally.used, tally.revision)

    async def try_add(
        self, workspace_id: UUID, chat_id: UUID, delta_bytes: int, quota_bytes: int
    ) -> bool:
        tally = self._tally(workspace_id)
        if not tally.usage(workspace_id, quota_bytes).admits(delta_bytes):
            return False
        current = tally.by_chat.get(chat_id, _NONE)
        self._set(workspace_id, chat_id, current.used + delta_bytes, current.revision)
        return True

    async def history_bytes(self, chat_id: UUID) -> int:
        return self._history_of.get(chat_id, 0)

    async def revision_bytes(self, chat_id: UUID) -> int:
        workspace_id = self._workspace_of.get(chat_id)
        if workspace_id is None:
            return 0
        return self._tallies[workspace_id].by_chat[chat_id].revision

    async def chat_standing(self, workspace_id: UUID, chat_id: UUID) -> ChatStanding:
        return ChatStanding(
            await self.history_bytes(chat_id),
            await self.revision_bytes(chat_id),
            await self.workspace_bytes(workspace_id),
        )

    async def try_set_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        size_bytes: int,
        quota_bytes: int | None,
        revision_bytes: int | None = None,
    ) -> bool:
        tally = self._tally(workspace_id)
        current = tally.by_chat.get(chat_id, _NONE)
        delta = size_bytes - self._history_of.get(chat_id, 0)
        revision = current.revision if revision_bytes is None else max(revision_bytes, 0)
        if quota_bytes is not None and not tally.usage(workspace_id, quota_bytes).admits(
            delta + revision - current.revision
        ):
            return False
        self._set(workspace_id, chat_id, current.used + delta, revision)
        put(self._history_of, chat_id, max(size_bytes, 0))
        return True

    async def set_chat_bytes(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        used_bytes: int,
        history_bytes: int,
        revision_bytes: int | None = None,
    ) -> None:
        if revision_bytes is None:
            revision_bytes = self._tally(workspace_id).by_chat.get(chat_id, _NONE).revision
        self._set(workspace_id, chat_id, used_bytes, revision_bytes)
        put(self._history_of, chat_id, max(history_bytes, 0))

    async def delete_chat(self, chat_id: UUID) -> None:
        self._forget(chat_id)
        remove(self._history_of, chat_id)

    async def delete_workspace(self, workspace_id: UUID) -> None:
        for chat_id in list(self._tally(workspace_id).by_chat):
            await self.delete_chat(chat_id)

    # For the census (repository/memory_census.py).

    def workspace_ids(self) -> list[UUID]:
        return list(self._tallies)

    def ledger(self, workspace_id: UUID) -> WorkspaceLedger:
        tally = self._tally(workspace_id)
        chats = [self._usage_of(workspace_id, chat_id) for chat_id in sorted(tally.by_chat)]
        return WorkspaceLedger(WorkspaceBytes(tally.used, tally.revision), chats)

    def chat_usage(self, chat_id: UUID) -> ChatUsage | None:
        workspace_id = self._workspace_of.get(chat_id)
        return None if workspace_id is None else self._usage_of(workspace_id, chat_id)

    def resum(self, workspace_id: UUID) -> None:
        tally = self._tallies.get(workspace_id)
        if tally is not None:
            tally.used = sum(figure.used for figure in tally.by_chat.values())
            tally.revision = sum(figure.revision for figure in tally.by_chat.values())

    def _usage_of(self, workspace_id: UUID, chat_id: UUID) -> ChatUsage:
        figure = self._tallies[workspace_id].by_chat[chat_id]
        history = self._history_of.get(chat_id, 0)
        return ChatUsage(workspace_id, chat_id, figure.used, history, figure.revision)

    def _tally(self, workspace_id: UUID) -> _Tally:
        """The workspace's tally, or an empty one (not kept) if it has none."""
        tally = self._tallies.get(workspace_id)
        return _Tally() if tally is None else tally

    def _set(self, workspace_id: UUID, chat_id: UUID, used_bytes: int, revision: int) -> None:
        self._forget(chat_id)
        figure = _Figure(max(used_bytes, 0), max(revision, 0))
        self._count(workspace_id, chat_id, figure)
        on_undo(lambda: self._uncount(chat_id))

    def _forget(self, chat_id: UUID) -> None:
        counted = self._uncount(chat_id)
        if counted is not None:
            workspace_id, figure = counted
            on_undo(lambda: self._count(workspace_id, chat_id, figure))

    # The two steps below move the workspace's sums by the chat's figures rather than set
    # them, so undoing one chat's change leaves what other chats added meanwhile.

    def _count(self, workspace_id: UUID, chat_id: UUID, figure: _Figure) -> None:
        tally = self._tallies.setdefault(workspace_id, _Tally())
        tally.by_chat[chat_id] = figure
        tally.used += figure.used
        tally.revision += figure.revision
        self._workspace_of[chat_id] = workspace_id

    def _uncount(self, chat_id: UUID) -> tuple[UUID, _Figure] | None:
        """Drop the chat's figures; returns where they were counted and what they were."""
        workspace_id = self._workspace_of.pop(chat_id, None)
        if workspace_id is None:
            return None
        tally = self._tallies[workspace_id]
        figure = tally.by_chat.pop(chat_id)
        tally.used -= figure.used
        tally.revision -= figure.revision
        if not tally.by_chat:
            del self._tallies[workspace_id]
        return workspace_id, figure
