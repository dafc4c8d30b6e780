"""The MetadataCensus port over a SQL database (ADR 0026)."""

from uuid import UUID

from repository.sql_database import SqlSession, lock_key
from usecase.ports.census import ChatUsage, MetadataCensus, WorkspaceLedger
from usecase.ports.usage import WorkspaceBytes

_CHAT_USAGE_COLUMNS = "workspace_id, chat_id, used_bytes, history_bytes, revision_bytes"
# One statement, so the sums and the figures are one snapshot: the sums row comes last,
# with no chat id.
_LEDGER = f"""
    SELECT {_CHAT_USAGE_COLUMNS} FROM chat_usage WHERE workspace_id = $1
    UNION ALL
    SELECT workspace_id, NULL, used_bytes, 0, revision_bytes
    FROM workspace_usage WHERE workspace_id = $1
"""


class SqlMetadataCensus(MetadataCensus):
    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def workspace_ids(self) -> list[UUID]:
        async with self._db.reading() as tx:
            rows = await tx.fetch(
                "SELECT workspace_id FROM workspaces"
                " UNION SELECT workspace_id FROM workspace_usage"
                " UNION SELECT workspace_id FROM chat_usage"
            )
        return sorted(self._db.codec.to_uuid(row[0]) for row in rows)

    async def chat_ids(self, workspace_id: UUID) -> list[UUID]:
        async with self._db.reading() as tx:
            rows = await tx.fetch(
                "SELECT chat_id FROM chats WHERE workspace_id = $1",
                self._db.codec.uuid(workspace_id),
            )
        return sorted(self._db.codec.to_uuid(row[0]) for row in rows)

    async def ledger(self, workspace_id: UUID) -> WorkspaceLedger:
        codec = self._db.codec
        async with self._db.reading() as tx:
            rows = await tx.fetch(_LEDGER, codec.uuid(workspace_id))
        sums = WorkspaceBytes(0, 0)
        chats: list[ChatUsage] = []
        for row in rows:
            if row[1] is None:
                sums = WorkspaceBytes(int(row[2]), int(row[4]))
            else:
                chats.append(
                    ChatUsage(
                        codec.to_uuid(row[0]),
                        codec.to_uuid(row[1]),
                        int(row[2]),
                        int(row[3]),
                        int(row[4]),
                    )
                )
        return WorkspaceLedger(sums, sorted(chats, key=lambda chat: chat.chat_id))

    async def chat_usage(self, chat_id: UUID) -> ChatUsage | None:
        codec = self._db.codec
        async with self._db.reading() as tx:
            row = await tx.fetchrow(
                f"SELECT {_CHAT_USAGE_COLUMNS} FROM chat_usage WHERE chat_id = $1",
                codec.uuid(chat_id),
            )
        if row is None:
            return None
        return ChatUsage(
            codec.to_uuid(row[0]), codec.to_uuid(row[1]), int(row[2]), int(row[3]), int(row[4])
        )

    async def resum(self, workspace_id: UUID) -> None:
        codec = self._db.codec
        async with self._db.writing() as tx:
            # The lock every change of the workspace's usage takes (SqlUsageRepository).
            await tx.lock(lock_key("workspace-usage", workspace_id))
            row = await tx.fetchrow(
                "SELECT COALESCE(SUM(used_bytes), 0), COALESCE(SUM(revision_bytes), 0)"
                " FROM chat_usage WHERE workspace_id = $1",
                codec.uuid(workspace_id),
            )
            used, revision = (0, 0) if row is None else (int(row[0]), int(row[1]))
            await tx.execute(
                "INSERT INTO workspace_usage (workspace_id, used_bytes, revision_bytes)"
                " VALUES ($1, $2, $3) ON CONFLICT (workspace_id) DO UPDATE"
                " SET used_bytes = excluded.used_bytes,"
                " revision_bytes = excluded.revision_bytes",
                codec.uuid(workspace_id),
                used,
                revision,
            )
