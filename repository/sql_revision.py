from collections.abc import Sequence
from uuid import UUID

from domain.history_revision import HistoryRevision
from repository.sql_database import SqlSession
from repository.sql_records import REVISION_COLUMNS, revision_of, revision_params
from usecase.ports.revisions import HistoryRevisionRepository

_SELECT = f"SELECT {REVISION_COLUMNS} FROM history_revisions"


class SqlHistoryRevisionRepository(HistoryRevisionRepository):
    """Rows keyed by (chat_id, revision): every query is a range of that primary key."""

    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def add(self, revision: HistoryRevision) -> None:
        try:
            await self.add_all([revision])
        except ValueError:
            raise ValueError(
                f"chat {revision.chat_id} already has revision {revision.revision}"
            ) from None

    async def add_all(self, revisions: Sequence[HistoryRevision]) -> None:
        # DO NOTHING rather than a unique violation: the driver's error would read as the
        # store failing, where a number taken is the caller's bug.
        if not revisions:
            return
        width = len(REVISION_COLUMNS.split(","))
        rows = ", ".join(
            "(" + ", ".join(f"${index * width + column}" for column in range(1, width + 1)) + ")"
            for index in range(len(revisions))
        )
        params = [
            value for revision in revisions for value in revision_params(self._db.codec, revision)
        ]
        async with self._db.writing() as tx:
            added = await tx.execute(
                f"INSERT INTO history_revisions ({REVISION_COLUMNS}) VALUES {rows}"
                " ON CONFLICT (chat_id, revision) DO NOTHING",
                *params,
            )
            if added != len(revisions):  # raised inside: the transaction stores none
                numbers = [revision.revision for revision in revisions]
                raise ValueError(f"revisions {numbers} include a number already taken")

    async def latest(self, chat_id: UUID) -> HistoryRevision | None:
        return await self._one(
            f"{_SELECT} WHERE chat_id = $1 ORDER BY revision DESC LIMIT 1",
            self._db.codec.uuid(chat_id),
        )

    async def get(self, chat_id: UUID, revision: int) -> HistoryRevision | None:
        return await self._one(
            f"{_SELECT} WHERE chat_id = $1 AND revision = $2",
            self._db.codec.uuid(chat_id),
            revision,
        )

    async def list_newest_first(
        self, chat_id: UUID, limit: int, before: int | None
    ) -> list[HistoryRevision]:
        chat = self._db.codec.uuid(chat_id)
        if before is None:
            return await self._many(
                f"{_SELECT} WHERE chat_id = $1 ORDER BY revision DESC LIMIT $2", chat, limit
            )
        return await self._many(
            f"{_SELECT} WHERE chat_id = $1 AND revision < $2 ORDER BY revision DESC LIMIT $3",
            chat,
            before,
            limit,
        )

    async def delete_older_than(self, chat_id: UUID, revision: int) -> list[HistoryRevision]:
        codec = self._db.codec
        async with self._db.writing() as tx:
            rows = await tx.fetch(
                f"DELETE FROM history_revisions WHERE chat_id = $1 AND revision < $2"
                f" RETURNING {REVISION_COLUMNS}",
                codec.uuid(chat_id),
                revision,
            )
        deleted = [revision_of(codec, row) for row in rows]
        return sorted(deleted, key=lambda older: older.revision)

    async def delete(self, chat_id: UUID, revisions: Sequence[int]) -> None:
        if not revisions:
            return
        numbers = ", ".join(f"${index}" for index in range(2, len(revisions) + 2))
        async with self._db.writing() as tx:
            await tx.execute(
                f"DELETE FROM history_revisions WHERE chat_id = $1 AND revision IN ({numbers})",
                self._db.codec.uuid(chat_id),
                *revisions,
            )

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        async with self._db.writing() as tx:
            await tx.execute(
                "DELETE FROM history_revisions WHERE chat_id = $1", self._db.codec.uuid(chat_id)
            )

    async def runs_in_use(self, chat_id: UUID) -> set[int]:
        async with self._db.reading() as tx:
            rows = await tx.fetch(
                "SELECT DISTINCT run FROM history_revisions WHERE chat_id = $1",
                self._db.codec.uuid(chat_id),
            )
        return {row[0] for row in rows}

    async def _one(self, sql: str, *args: object) -> HistoryRevision | None:
        async with self._db.reading() as tx:
            row = await tx.fetchrow(sql, *args)
        return None if row is None else revision_of(self._db.codec, row)

    async def _many(self, sql: str, *args: object) -> list[HistoryRevision]:
        async with self._db.reading() as tx:
            rows = await tx.fetch(sql, *args)
        return [revision_of(self._db.codec, row) for row in rows]
