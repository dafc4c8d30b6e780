from dataclasses import dataclass
from uuid import UUID

from domain.workspace import WorkspaceUsage
from repository.sql_database import SqlSession, SqlTransaction, lock_key
from usecase.ports.usage import UsageRepository


@dataclass(frozen=True, slots=True)
class _ChatFigure:
    workspace_id: UUID
    used_bytes: int
    history_bytes: int


class SqlUsageRepository(UsageRepository):
    """Per-chat figures in `chat_usage`, their per-workspace sums kept beside them in
    `workspace_usage`, so the quota check reads one row. Every change runs in one
    transaction holding the workspace's lock, so two processes never both pass the quota."""

    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def used_bytes(self, workspace_id: UUID) -> int:
        async with self._db.reading() as tx:
            return await self._total(tx, workspace_id)

    async def try_add(
        self, workspace_id: UUID, chat_id: UUID, delta_bytes: int, quota_bytes: int
    ) -> bool:
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-usage", workspace_id))
            total = await self._total(tx, workspace_id)
            if not WorkspaceUsage(workspace_id, total, quota_bytes).admits(delta_bytes):
                return False
            figure = await self._figure(tx, chat_id)
            current = _used_in(figure, workspace_id)
            history = 0 if figure is None else figure.history_bytes
            await self._set(tx, figure, workspace_id, chat_id, current + delta_bytes, history)
        return True

    async def history_bytes(self, chat_id: UUID) -> int:
        async with self._db.reading() as tx:
            figure = await self._figure(tx, chat_id)
        return 0 if figure is None else figure.history_bytes

    async def try_set_history(
        self, workspace_id: UUID, chat_id: UUID, size_bytes: int, quota_bytes: int | None
    ) -> bool:
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-usage", workspace_id))
            figure = await self._figure(tx, chat_id)
            delta = size_bytes - (0 if figure is None else figure.history_bytes)
            if quota_bytes is not None:
                total = await self._total(tx, workspace_id)
                if not WorkspaceUsage(workspace_id, total, quota_bytes).admits(delta):
                    return False
            current = _used_in(figure, workspace_id)
            await self._set(tx, figure, workspace_id, chat_id, current + delta, size_bytes)
        return True

    async def set_chat_bytes(
        self, workspace_id: UUID, chat_id: UUID, used_bytes: int, history_bytes: int
    ) -> None:
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-usage", workspace_id))
            figure = await self._figure(tx, chat_id)
            await self._set(tx, figure, workspace_id, chat_id, used_bytes, history_bytes)

    async def delete_chat(self, chat_id: UUID) -> None:
        async with self._db.writing() as tx:
            figure = await self._figure(tx, chat_id)
            if figure is None:
                return
            await tx.lock(lock_key("workspace-usage", figure.workspace_id))
            await tx.execute(
                "DELETE FROM chat_usage WHERE chat_id = $1", self._db.codec.uuid(chat_id)
            )
            await self._add_to_total(tx, figure.workspace_id, -figure.used_bytes)

    async def _total(self, tx: SqlTransaction, workspace_id: UUID) -> int:
        row = await tx.fetchrow(
            "SELECT used_bytes FROM workspace_usage WHERE workspace_id = $1",
            self._db.codec.uuid(workspace_id),
        )
        return 0 if row is None else int(row[0])

    async def _figure(self, tx: SqlTransaction, chat_id: UUID) -> _ChatFigure | None:
        row = await tx.fetchrow(
            "SELECT workspace_id, used_bytes, history_bytes FROM chat_usage WHERE chat_id = $1",
            self._db.codec.uuid(chat_id),
        )
        if row is None:
            return None
        return _ChatFigure(self._db.codec.to_uuid(row[0]), int(row[1]), int(row[2]))

    async def _set(
        self,
        tx: SqlTransaction,
        before: _ChatFigure | None,
        workspace_id: UUID,
        chat_id: UUID,
        used: int,
        history: int,
    ) -> None:
        """Make the chat's figure `used` (never below 0) within `workspace_id`, where it was
        `before`, and move the workspace sums by the difference."""
        codec = self._db.codec
        figure = max(used, 0)
        await tx.execute(
            "INSERT INTO chat_usage (chat_id, workspace_id, used_bytes, history_bytes)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (chat_id) DO UPDATE"
            " SET workspace_id = excluded.workspace_id, used_bytes = excluded.used_bytes,"
            " history_bytes = excluded.history_bytes",
            codec.uuid(chat_id),
            codec.uuid(workspace_id),
            figure,
            max(history, 0),
        )
        counted = _used_in(before, workspace_id)
        if before is not None and before.workspace_id != workspace_id:
            await self._add_to_total(tx, before.workspace_id, -before.used_bytes)
        await self._add_to_total(tx, workspace_id, figure - counted)

    async def _add_to_total(self, tx: SqlTransaction, workspace_id: UUID, delta: int) -> None:
        await tx.execute(
            "INSERT INTO workspace_usage (workspace_id, used_bytes) VALUES ($1, $2)"
            " ON CONFLICT (workspace_id) DO UPDATE"
            " SET used_bytes = workspace_usage.used_bytes + excluded.used_bytes",
            self._db.codec.uuid(workspace_id),
            delta,
        )


def _used_in(figure: _ChatFigure | None, workspace_id: UUID) -> int:
    """The chat's figure as counted in `workspace_id` (0 if counted elsewhere or nowhere)."""
    if figure is None or figure.workspace_id != workspace_id:
        return 0
    return figure.used_bytes
