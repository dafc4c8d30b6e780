from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile
from domain.paging import PageRequest
from repository.sql_database import SqlSession, lock_key
from repository.sql_paging import page_clause
from repository.sql_records import FILE_COLUMNS, file_of, file_params
from usecase.ports.records import ChatFileRepository

_SELECT = f"SELECT {FILE_COLUMNS} FROM chat_files"
_UPSERT = f"""
    INSERT INTO chat_files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (file_id) DO UPDATE
    SET chat_id = excluded.chat_id, name = excluded.name,
        content_type = excluded.content_type, size_bytes = excluded.size_bytes,
        sha256 = excluded.sha256, created_at = excluded.created_at
"""


class SqlChatFileRepository(ChatFileRepository):
    """One record per (chat, name), held by a unique index."""

    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def get(self, file_id: UUID) -> ChatFile | None:
        return await self._one(f"{_SELECT} WHERE file_id = $1", self._db.codec.uuid(file_id))

    async def get_by_chat_id_and_name(
        self, chat_id: UUID, name: ChatAttachmentName
    ) -> ChatFile | None:
        return await self._one(
            f"{_SELECT} WHERE chat_id = $1 AND name = $2", self._db.codec.uuid(chat_id), name.value
        )

    async def list_by_chat_id(self, chat_id: UUID, page: PageRequest) -> list[ChatFile]:
        tail, params = page_clause(self._db.codec, page, 2, "file_id")
        return await self._many(
            f"{_SELECT} WHERE chat_id = $1{tail}", self._db.codec.uuid(chat_id), *params
        )

    async def list_all_by_chat_id(self, chat_id: UUID) -> list[ChatFile]:
        return await self._many(
            f"{_SELECT} WHERE chat_id = $1 ORDER BY created_at, file_id",
            self._db.codec.uuid(chat_id),
        )

    async def save(self, chat_file: ChatFile) -> None:
        codec = self._db.codec
        async with self._db.writing() as tx:
            await tx.lock(lock_key("chat-files", chat_file.chat_id))
            await tx.execute(
                "DELETE FROM chat_files WHERE chat_id = $1 AND name = $2 AND file_id <> $3",
                codec.uuid(chat_file.chat_id),
                chat_file.name.value,
                codec.uuid(chat_file.file_id),
            )
            await tx.execute(_UPSERT, *file_params(codec, chat_file))

    async def delete(self, file_id: UUID) -> None:
        async with self._db.writing() as tx:
            await tx.execute(
                "DELETE FROM chat_files WHERE file_id = $1", self._db.codec.uuid(file_id)
            )

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        async with self._db.writing() as tx:
            await tx.execute(
                "DELETE FROM chat_files WHERE chat_id = $1", self._db.codec.uuid(chat_id)
            )

    async def _one(self, sql: str, *args: object) -> ChatFile | None:
        async with self._db.reading() as tx:
            row = await tx.fetchrow(sql, *args)
        return None if row is None else file_of(self._db.codec, row)

    async def _many(self, sql: str, *args: object) -> list[ChatFile]:
        async with self._db.reading() as tx:
            rows = await tx.fetch(sql, *args)
        return [file_of(self._db.codec, row) for row in rows]
