from uuid import UUID

from domain.workspace import Workspace
from repository.sql_database import SqlSession, lock_key
from repository.sql_records import WORKSPACE_COLUMNS, workspace_of, workspace_params
from usecase.ports.records import WorkspaceRepository

_SELECT = f"SELECT {WORKSPACE_COLUMNS} FROM workspaces"
_UPSERT = f"""
    INSERT INTO workspaces ({WORKSPACE_COLUMNS}) VALUES ($1, $2, $3)
    ON CONFLICT (workspace_id) DO UPDATE
    SET user_id = excluded.user_id, created_at = excluded.created_at
"""


class SqlWorkspaceRepository(WorkspaceRepository):
    """One workspace per user, held by a unique index on `user_id`."""

    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def get(self, workspace_id: UUID) -> Workspace | None:
        return await self._find("workspace_id", workspace_id)

    async def get_by_user_id(self, user_id: UUID) -> Workspace | None:
        return await self._find("user_id", user_id)

    async def save(self, workspace: Workspace) -> None:
        codec = self._db.codec
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-user", workspace.user_id))
            await tx.execute(
                "DELETE FROM workspaces WHERE user_id = $1 AND workspace_id <> $2",
                codec.uuid(workspace.user_id),
                codec.uuid(workspace.workspace_id),
            )
            await tx.execute(_UPSERT, *workspace_params(codec, workspace))

    async def add_if_absent(self, workspace: Workspace) -> tuple[Workspace, bool]:
        codec = self._db.codec
        async with self._db.writing() as tx:
            await tx.lock(lock_key("workspace-user", workspace.user_id))
            created = await tx.execute(
                f"INSERT INTO workspaces ({WORKSPACE_COLUMNS}) VALUES ($1, $2, $3)"
                " ON CONFLICT (user_id) DO NOTHING",
                *workspace_params(codec, workspace),
            )
            row = await tx.fetchrow(f"{_SELECT} WHERE user_id = $1", codec.uuid(workspace.user_id))
        if row is None:
            raise AssertionError("the user's workspace vanished inside its own transaction")
        return workspace_of(codec, row), created == 1

    async def delete(self, workspace_id: UUID) -> None:
        async with self._db.writing() as tx:
            await tx.execute(
                "DELETE FROM workspaces WHERE workspace_id = $1", self._db.codec.uuid(workspace_id)
            )

    async def _find(self, column: str, value: UUID) -> Workspace | None:
        async with self._db.reading() as tx:
            row = await tx.fetchrow(f"{_SELECT} WHERE {column} = $1", self._db.codec.uuid(value))
        return None if row is None else workspace_of(self._db.codec, row)
