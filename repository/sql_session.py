from collections.abc import Collection, Iterator
from datetime import datetime
from uuid import UUID

from domain.sandbox_session import SandboxSession
from repository.sql_database import SqlSession, SqlTransaction, lock_key
from repository.sql_records import SESSION_COLUMNS, session_of, session_params
from usecase.ports.records import SandboxSessionRepository

_SELECT = f"SELECT {SESSION_COLUMNS} FROM sandbox_sessions"
# `add` keeps one active at its own `now`; an earlier `now` may see more, so the newest wins.
_ACTIVE = (
    f"{_SELECT} WHERE chat_id = $1 AND ended_at IS NULL AND expires_at > $2"
    " ORDER BY started_at DESC, session_id DESC LIMIT 1"
)
# Chat ids per statement of the calls that take many: far below SQLite's 32,766 host
# parameters and PostgreSQL's 65,535, however many chats a workspace has.
IDS_PER_STATEMENT = 500


class SqlSandboxSessionRepository(SandboxSessionRepository):
    """One active session per chat: `add` checks and inserts under the chat's lock."""

    def __init__(self, db: SqlSession) -> None:
        self._db = db

    async def get(self, session_id: UUID) -> SandboxSession | None:
        async with self._db.reading() as tx:
            row = await tx.fetchrow(
                f"{_SELECT} WHERE session_id = $1", self._db.codec.uuid(session_id)
            )
        return None if row is None else session_of(self._db.codec, row)

    async def get_active_by_chat_id(self, chat_id: UUID, now: datetime) -> SandboxSession | None:
        async with self._db.reading() as tx:
            return await self._active(tx, chat_id, now)

    async def add(self, session: SandboxSession, now: datetime) -> bool:
        async with self._db.writing() as tx:
            await tx.lock(lock_key("chat-sessions", session.chat_id))
            if await self._active(tx, session.chat_id, now) is not None:
                return False
            await tx.execute(
                f"INSERT INTO sandbox_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                *session_params(self._db.codec, session),
            )
        return True

    async def save(self, session: SandboxSession) -> None:
        """Update a stored session; an unknown one is ignored, so that a save can never
        create a session behind `add`'s check."""
        async with self._db.writing() as tx:
            await tx.execute(
                "UPDATE sandbox_sessions SET chat_id = $2, started_at = $3, expires_at = $4,"
                " ttl_seconds = $5, ended_at = $6 WHERE session_id = $1",
                *session_params(self._db.codec, session),
            )

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        async with self._db.writing() as tx:
            await tx.execute(
                "DELETE FROM sandbox_sessions WHERE chat_id = $1", self._db.codec.uuid(chat_id)
            )

    async def get_active_by_chat_ids(
        self, chat_ids: Collection[UUID], now: datetime
    ) -> SandboxSession | None:
        codec = self._db.codec
        found: list[SandboxSession] = []
        async with self._db.reading() as tx:
            for batch in _batches(chat_ids):
                row = await tx.fetchrow(
                    f"{_SELECT} WHERE chat_id IN ({_id_list(2, len(batch))})"
                    " AND ended_at IS NULL AND expires_at > $1"
                    " ORDER BY started_at DESC, session_id DESC LIMIT 1",
                    codec.time(now),
                    *(codec.uuid(chat_id) for chat_id in batch),
                )
                if row is not None:
                    found.append(session_of(codec, row))
        return max(
            found, key=lambda session: (session.started_at, session.session_id), default=None
        )

    async def delete_by_chat_ids(self, chat_ids: Collection[UUID]) -> None:
        codec = self._db.codec
        async with self._db.writing() as tx:
            for batch in _batches(chat_ids):
                await tx.execute(
                    f"DELETE FROM sandbox_sessions WHERE chat_id IN ({_id_list(1, len(batch))})",
                    *(codec.uuid(chat_id) for chat_id in batch),
                )

    async def _active(
        self, tx: SqlTransaction, chat_id: UUID, now: datetime
    ) -> SandboxSession | None:
        codec = self._db.codec
        row = await tx.fetchrow(_ACTIVE, codec.uuid(chat_id), codec.time(now))
        return None if row is None else session_of(codec, row)


def _batches(chat_ids: Collection[UUID]) -> Iterator[list[UUID]]:
    ordered = sorted(set(chat_ids))
    for start in range(0, len(ordered), IDS_PER_STATEMENT):
        yield ordered[start : start + IDS_PER_STATEMENT]


def _id_list(first: int, count: int) -> str:
    """`count` placeholders from `$first` on."""
    return ", ".join(f"${index}" for index in range(first, first + count))
