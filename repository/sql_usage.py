from dataclasses import dataclass
from uuid import UUID

from domain.workspace import WorkspaceUsage
from repository.sql_database import SqlSession, SqlTransaction, lock_key
from usecase.ports.usage import ChatStanding, UsageRepository, WorkspaceBytes


@dataclass(frozen=True, slots=True)
class _ChatFigure:
    workspace_id: UUID
    used_bytes: int
    history_bytes: int
    revision_bytes: int


@dataclass(frozen=True, slots=True)
class _Counted:
    """A chat's two figures as its workspace's sums count them."""

    used_bytes: int
    revision_bytes: int


_NOTHING = _Counted(0, 0)


class SqlUsageRepository(UsageRepository):
    """Per-chat figures in `chat_usage`, their per-workspace sums kept beside them in
    `workspace_usage`, so the quota check reads one row. Every change runs in one
    transaction holding the workspace's lock, so two processes never both pass the quota."""

    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def charged_bytes(self, workspace_id: UUID) -> int:
        return (await self.workspace_bytes(workspace_id)).charged_bytes

    async def workspace_bytes(self, workspace_id: UUID) -> WorkspaceBytes:
        async with self._db.reading() as tx:
            return await self._totals(tx, workspace_id)

    async def try_add(
        self, workspace_id: UUID, chat_id: UUID, delta_bytes: int, quota_bytes: int
    ) -> bool:
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-usage", workspace_id))
            if not await self._admits(tx, workspace_id, quota_bytes, delta_bytes):
                return False
            figure = await self._figure(tx, chat_id)
            current = _counted_in(figure, workspace_id)
            history = 0 if figure is None else figure.history_bytes
            await self._set(
                tx,
                figure,
                workspace_id,
                chat_id,
                current.used_bytes + delta_bytes,
                history,
                current.revision_bytes,
            )
        return True

    async def history_bytes(self, chat_id: UUID) -> int:
        async with self._db.reading() as tx:
            figure = await self._figure(tx, chat_id)
        return 0 if figure is None else figure.history_bytes

    async def revision_bytes(self, chat_id: UUID) -> int:
        async with self._db.reading() as tx:
            figure = await self._figure(tx, chat_id)
        return 0 if figure is None else figure.revision_bytes

    async def chat_standing(self, workspace_id: UUID, chat_id: UUID) -> ChatStanding:
        # One statement, so one trip to the store (one executor hop on SQLite).
        codec = self._db.codec
        async with self._db.reading() as tx:
            row = await tx.fetchrow(
                "SELECT"
                " (SELECT history_bytes FROM chat_usage WHERE chat_id = $1),"
                " (SELECT revision_bytes FROM chat_usage WHERE chat_id = $1),"
                " (SELECT used_bytes FROM workspace_usage WHERE workspace_id = $2),"
                " (SELECT revision_bytes FROM workspace_usage WHERE workspace_id = $2)",
                codec.uuid(chat_id),
                codec.uuid(workspace_id),
            )
        figures = [0, 0, 0, 0] if row is None else [int(row[n] or 0) for n in range(4)]
        return ChatStanding(figures[0], figures[1], WorkspaceBytes(figures[2], figures[3]))

    async def try_set_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        size_bytes: int,
        quota_bytes: int | None,
        revision_bytes: int | None = None,
    ) -> bool:
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-usage", workspace_id))
            figure = await self._figure(tx, chat_id)
            current = _counted_in(figure, workspace_id)
            delta = size_bytes - (0 if figure is None else figure.history_bytes)
            revision = current.revision_bytes if revision_bytes is None else max(revision_bytes, 0)
            combined = delta + revision - current.revision_bytes
            if quota_bytes is not None and not await self._admits(
                tx, workspace_id, quota_bytes, combined
            ):
                return False
            await self._set(
                tx, figure, workspace_id, chat_id, current.used_bytes + delta, size_bytes, revision
            )
        return True

    async def set_chat_bytes(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        used_bytes: int,
        history_bytes: int,
        revision_bytes: int | None = None,
    ) -> None:
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-usage", workspace_id))
            figure = await self._figure(tx, chat_id)
            if revision_bytes is None:
                revision_bytes = _counted_in(figure, workspace_id).revision_bytes
            await self._set(
                tx, figure, workspace_id, chat_id, used_bytes, history_bytes, revision_bytes
            )

    async def delete_chat(self, chat_id: UUID) -> None:
        async with self._db.writing() as tx:
            figure = await self._figure(tx, chat_id)
            if figure is None:
                return
            await tx.lock(lock_key("workspace-usage", figure.workspace_id))
            await tx.execute(
                "DELETE FROM chat_usage WHERE chat_id = $1", self._db.codec.uuid(chat_id)
            )
            await self._add_to_totals(
                tx, figure.workspace_id, -figure.used_bytes, -figure.revision_bytes
            )

    async def delete_workspace(self, workspace_id: UUID) -> None:
        codec = self._db.codec
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-usage", workspace_id))
            for table in ("chat_usage", "workspace_usage"):
                await tx.execute(
                    f"DELETE FROM {table} WHERE workspace_id = $1", codec.uuid(workspace_id)
                )

    async def _admits(
        self, tx: SqlTransaction, workspace_id: UUID, quota_bytes: int, delta_bytes: int
    ) -> bool:
        totals = await self._totals(tx, workspace_id)
        usage = WorkspaceUsage(workspace_id, totals.used_bytes, totals.revision_bytes, quota_bytes)
        return usage.admits(delta_bytes)

    async def _totals(self, tx: SqlTransaction, workspace_id: UUID) -> WorkspaceBytes:
        row = await tx.fetchrow(
            "SELECT used_bytes, revision_bytes FROM workspace_usage WHERE workspace_id = $1",
            self._db.codec.uuid(workspace_id),
        )
        return WorkspaceBytes(0, 0) if row is None else WorkspaceBytes(int(row[0]), int(row[1]))

    async def _figure(self, tx: SqlTransaction, chat_id: UUID) -> _ChatFigure | None:
        row = await tx.fetchrow(
            "SELECT workspace_id, used_bytes, history_bytes, revision_bytes"
            " FROM chat_usage WHERE chat_id = $1",
            self._db.codec.uuid(chat_id),
        )
        if row is None:
            return None
        return _ChatFigure(self._db.codec.to_uuid(row[0]), int(row[1]), int(row[2]), int(row[3]))

    async def _set(
        self,
        tx: SqlTransaction,
        before: _ChatFigure | None,
        workspace_id: UUID,
        chat_id: UUID,
        used: int,
        history: int,
        revision: int,
    ) -> None:
        """Make the chat's figures `used` and `revision` (never below 0) within
        `workspace_id`, where they were `before`, and move the workspace sums by the
        differences."""
        codec = self._db.codec
        used, revision = max(used, 0), max(revision, 0)
        await tx.execute(
            "INSERT INTO chat_usage (chat_id, workspace_id, used_bytes, history_bytes,"
            " revision_bytes) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chat_id) DO UPDATE"
            " SET workspace_id = excluded.workspace_id, used_bytes = excluded.used_bytes,"
            " history_bytes = excluded.history_bytes, revision_bytes = excluded.revision_bytes",
            codec.uuid(chat_id),
            codec.uuid(workspace_id),
            used,
            max(history, 0),
            revision,
        )
        counted = _counted_in(before, workspace_id)
        if before is not None and before.workspace_id != workspace_id:
            await self._add_to_totals(
                tx, before.workspace_id, -before.used_bytes, -before.revision_bytes
            )
        await self._add_to_totals(
            tx, workspace_id, used - counted.used_bytes, revision - counted.revision_bytes
        )

    async def _add_to_totals(
        self, tx: SqlTransaction, workspace_id: UUID, used_delta: int, revision_delta: int
    ) -> None:
        await tx.execute(
            "INSERT INTO workspace_usage (workspace_id, used_bytes, revision_bytes)"
            " VALUES ($1, $2, $3) ON CONFLICT (workspace_id) DO UPDATE"
            " SET used_bytes = workspace_usage.used_bytes + excluded.used_bytes,"
            " revision_bytes = workspace_usage.revision_bytes + excluded.revision_bytes",
            self._db.codec.uuid(workspace_id),
            used_delta,
            revision_delta,
        )


def _counted_in(figure: _ChatFigure | None, workspace_id: UUID) -> _Counted:
    """The chat's figures as counted in `workspace_id` (0 if counted elsewhere or nowhere)."""
    if figure is None or figure.workspace_id != workspace_id:
        return _NOTHING
    return _Counted(figure.used_bytes, figure.revision_bytes)
