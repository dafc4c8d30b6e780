from datetime import datetime
from uuid import UUID

from domain.chat import Chat
from domain.paging import PageRequest, RecentPageRequest
from repository.sql_database import SqlSession
from repository.sql_paging import page_clause, recent_page_clause
from repository.sql_records import CHAT_COLUMNS, chat_of, chat_params
from usecase.ports.records import ChatRepository

_SELECT = f"SELECT {CHAT_COLUMNS} FROM chats"


class SqlChatRepository(ChatRepository):
    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def get(self, chat_id: UUID) -> Chat | None:
        async with self._db.reading() as tx:
            row = await tx.fetchrow(f"{_SELECT} WHERE chat_id = $1", self._db.codec.uuid(chat_id))
        return None if row is None else chat_of(self._db.codec, row)

    async def list_by_workspace_id(self, workspace_id: UUID, page: PageRequest) -> list[Chat]:
        codec = self._db.codec
        tail, params = page_clause(codec, page, 2, "chat_id")
        async with self._db.reading() as tx:
            rows = await tx.fetch(
                f"{_SELECT} WHERE workspace_id = $1{tail}", codec.uuid(workspace_id), *params
            )
        return [chat_of(codec, row) for row in rows]

    async def list_recent_by_workspace_id(
        self, workspace_id: UUID, page: RecentPageRequest
    ) -> list[Chat]:
        codec = self._db.codec
        tail, params = recent_page_clause(codec, page, 2, "chat_id")
        async with self._db.reading() as tx:
            rows = await tx.fetch(
                f"{_SELECT} WHERE workspace_id = $1{tail}", codec.uuid(workspace_id), *params
            )
        return [chat_of(codec, row) for row in rows]

    async def save(self, chat: Chat) -> None:
        async with self._db.writing() as tx:
            await tx.execute(
                f"INSERT INTO chats ({CHAT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (chat_id) DO UPDATE"
                " SET workspace_id = excluded.workspace_id, created_at = excluded.created_at,"
                " updated_at = excluded.updated_at, title = excluded.title,"
                " metadata = excluded.metadata,"
                " forked_from_chat_id = excluded.forked_from_chat_id,"
                " forked_from_revision = excluded.forked_from_revision",
                *chat_params(self._db.codec, chat),
            )

    async def touch(self, chat_id: UUID, at: datetime) -> None:
        codec = self._db.codec
        async with self._db.writing() as tx:
            await tx.execute(
                "UPDATE chats SET updated_at = $2 WHERE chat_id = $1 AND updated_at < $2",
                codec.uuid(chat_id),
                codec.time(at),
            )

    async def delete(self, chat_id: UUID) -> None:
        async with self._db.writing() as tx:
            await tx.execute("DELETE FROM chats WHERE chat_id = $1", self._db.codec.uuid(chat_id))

    async def ids_by_workspace_id(self, workspace_id: UUID) -> list[UUID]:
        codec = self._db.codec
        async with self._db.reading() as tx:
            rows = await tx.fetch(
                "SELECT chat_id FROM chats WHERE workspace_id = $1 ORDER BY chat_id",
                codec.uuid(workspace_id),
            )
        return [codec.to_uuid(row[0]) for row in rows]

    async def delete_by_workspace_id(self, workspace_id: UUID) -> None:
        # Their file records and revisions go with them (ON DELETE CASCADE).
        async with self._db.writing() as tx:
            await tx.execute(
                "DELETE FROM chats WHERE workspace_id = $1", self._db.codec.uuid(workspace_id)
            )
