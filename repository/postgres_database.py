"""PostgreSQL behind the SqlDatabase port: an asyncpg connection pool.

Write transactions run at READ COMMITTED; where a check guards a write (one active session
per chat, the quota, one record per name), the repository first takes a transaction-scoped
advisory lock on what it checks, so every instance sharing the database waits its turn.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from domain.errors import InsufficientStorageError, StorageUnavailableError
from repository.sql_database import Row, SqlCodec, SqlDatabase, SqlTransaction

_POOL_MAX_SIZE = 10
_CONNECT_TIMEOUT_SECONDS = 10.0
_ACQUIRE_TIMEOUT_SECONDS = 30.0
_COMMAND_TIMEOUT_SECONDS = 30.0
_Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
# InternalClientError: a pooled connection left mid-operation by an outage (seen in CI).
_FAILURES = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


class PostgresCodec(SqlCodec):
    """asyncpg maps uuid and timestamptz to UUID and aware datetimes itself."""

    def uuid(self, value: UUID) -> object:
        return value

    def time(self, value: datetime) -> object:
        return value

    def to_uuid(self, value: Any) -> UUID:
        return UUID(str(value)) if not isinstance(value, UUID) else value

    def to_time(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timestamptz, got {type(value).__name__}")
        return value


def redacted(url: str) -> str:
    """`url` without its password, fit for a log line or an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def _unavailable(error: BaseException) -> Exception:
    if isinstance(error, asyncpg.DiskFullError):
        return InsufficientStorageError(f"metadata store is full: {error}")
    return StorageUnavailableError(f"metadata store failed: {error}")


class _PostgresTransaction(SqlTransaction):
    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return list(await self._connection.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        row: Row | None = await self._connection.fetchrow(sql, *args)
        return row

    async def execute(self, sql: str, *args: object) -> int:
        status: str = await self._connection.execute(sql, *args)
        # "INSERT 0 1", "UPDATE 2", "DELETE 0": the last word counts the rows.
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def lock(self, key: int) -> None:
        await self._connection.execute("SELECT pg_advisory_xact_lock($1)", key)


class PostgresDatabase(SqlDatabase):
    def __init__(self, url: str) -> None:
        self._url = url
        self._codec = PostgresCodec()
        self._pool: asyncpg.Pool | None = None

    @property
    def codec(self) -> SqlCodec:
        return self._codec

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            self._pool = await asyncpg.create_pool(
                self._url,
                min_size=1,
                max_size=_POOL_MAX_SIZE,
                timeout=_CONNECT_TIMEOUT_SECONDS,
                command_timeout=_COMMAND_TIMEOUT_SECONDS,
            )
        except (*_FAILURES, ValueError) as error:
            raise StorageUnavailableError(
                f"cannot reach metadata store {redacted(self._url)}: {error}"
            ) from error

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        async with self._connection() as connection:
            yield _PostgresTransaction(connection)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlTransaction]:
        async with self._connection() as connection:
            try:
                async with connection.transaction():
                    yield _PostgresTransaction(connection)
            except _FAILURES as error:
                raise _unavailable(error) from error

    async def ping(self) -> None:
        async with self.reading() as tx:
            await tx.fetchrow("SELECT 1")

    async def scrub(self) -> None:
        """Nothing: a deleted row stays in its table's pages until VACUUM reuses its space,
        and in the server's write-ahead log until that is recycled; both are the server's,
        outside chatstore's data directory (ADR 0024)."""

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_Connection]:
        if self._pool is None:
            raise StorageUnavailableError("metadata store is not open")
        try:
            async with self._pool.acquire(timeout=_ACQUIRE_TIMEOUT_SECONDS) as connection:
                yield connection
        except _FAILURES as error:
            raise _unavailable(error) from error
