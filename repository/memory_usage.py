from dataclasses import dataclass, field
from uuid import UUID

from domain.workspace import WorkspaceUsage
from repository.memory_undo import on_undo, put, remove
from usecase.ports.usage import UsageRepository


@dataclass(slots=True)
class _Tally:
    """One workspace's per-chat figures and their running sum, so reading it costs O(1)."""

    by_chat: dict[UUID, int] = field(default_factory=dict)
    total: int = 0


class InMemoryUsageRepository(UsageRepository):
    def __init__(self) -> None:
        self._tallies: dict[UUID, _Tally] = {}
        self._workspace_of: dict[UUID, UUID] = {}
        self._history_of: dict[UUID, int] = {}

    async def used_bytes(self, workspace_id: UUID) -> int:
        tally = self._tallies.get(workspace_id)
        return 0 if tally is None else tally.total

    async def try_add(
        self, workspace_id: UUID, chat_id: UUID, delta_bytes: int, quota_bytes: int
    ) -> bool:
        tally = self._tallies.get(workspace_id)
        usage = WorkspaceUsage(workspace_id, 0 if tally is None else tally.total, quota_bytes)
        if not usage.admits(delta_bytes):
            return False
        current = 0 if tally is None else tally.by_chat.get(chat_id, 0)
        self._set(workspace_id, chat_id, current + delta_bytes)
        return True

    async def history_bytes(self, chat_id: UUID) -> int:
        return self._history_of.get(chat_id, 0)

    async def try_set_history(
        self, workspace_id: UUID, chat_id: UUID, size_bytes: int, quota_bytes: int | None
    ) -> bool:
        delta = size_bytes - self._history_of.get(chat_id, 0)
        tally = self._tallies.get(workspace_id)
        total = 0 if tally is None else tally.total
        if quota_bytes is not None and not WorkspaceUsage(workspace_id, total, quota_bytes).admits(
            delta
        ):
            return False
        current = 0 if tally is None else tally.by_chat.get(chat_id, 0)
        self._set(workspace_id, chat_id, current + delta)
        put(self._history_of, chat_id, max(size_bytes, 0))
        return True

    async def set_chat_bytes(
        self, workspace_id: UUID, chat_id: UUID, used_bytes: int, history_bytes: int
    ) -> None:
        self._set(workspace_id, chat_id, used_bytes)
        put(self._history_of, chat_id, max(history_bytes, 0))

    async def delete_chat(self, chat_id: UUID) -> None:
        self._forget(chat_id)
        remove(self._history_of, chat_id)

    def _set(self, workspace_id: UUID, chat_id: UUID, used_bytes: int) -> None:
        self._forget(chat_id)
        figure = max(used_bytes, 0)
        self._count(workspace_id, chat_id, figure)
        on_undo(lambda: self._uncount(chat_id))

    def _forget(self, chat_id: UUID) -> None:
        counted = self._uncount(chat_id)
        if counted is not None:
            workspace_id, figure = counted
            on_undo(lambda: self._count(workspace_id, chat_id, figure))

    # The two steps below move the workspace's sum by the chat's figure rather than set it,
    # so undoing one chat's change leaves what other chats added meanwhile.

    def _count(self, workspace_id: UUID, chat_id: UUID, figure: int) -> None:
        tally = self._tallies.setdefault(workspace_id, _Tally())
        tally.by_chat[chat_id] = figure
        tally.total += figure
        self._workspace_of[chat_id] = workspace_id

    def _uncount(self, chat_id: UUID) -> tuple[UUID, int] | None:
        """Drop the chat's figure; returns where it was counted and how much."""
        workspace_id = self._workspace_of.pop(chat_id, None)
        if workspace_id is None:
            return None
        tally = self._tallies[workspace_id]
        figure = tally.by_chat.pop(chat_id)
        tally.total -= figure
        if not tally.by_chat:
            del self._tallies[workspace_id]
        return workspace_id, figure
