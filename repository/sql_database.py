"""What the SQL repositories need from a database: transactions, statements and a codec.

The repositories are written once against these Protocols; SQLite and PostgreSQL each
implement them. Statements use PostgreSQL's `$1` placeholders; the SQLite side rewrites them.
"""

import hashlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class Row(Protocol):
    """A result row, read by column position."""

    def __getitem__(self, index: int, /) -> Any: ...


class SqlCodec(Protocol):
    """How ids and instants are stored, and read back as domain values."""

    def uuid(self, value: UUID) -> object: ...

    def time(self, value: datetime) -> object: ...

    def to_uuid(self, value: Any) -> UUID: ...

    def to_time(self, value: Any) -> datetime: ...


class SqlTransaction(Protocol):
    async def fetch(self, sql: str, *args: object) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: object) -> Row | None: ...

    async def execute(self, sql: str, *args: object) -> int:
        """Run one statement; returns how many rows it changed."""
        ...

    async def lock(self, key: int) -> None:
        """Hold `key` exclusively, against every process, until the transaction ends."""
        ...


class SqlSession(Protocol):
    """Where a repository's statements run: a transaction per block, or one shared by all."""

    @property
    def codec(self) -> SqlCodec: ...

    def reading(self) -> AbstractAsyncContextManager[SqlTransaction]:
        """A connection for reads; each statement sees committed data."""
        ...

    def writing(self) -> AbstractAsyncContextManager[SqlTransaction]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        ...


class SqlDatabase(SqlSession, Protocol):
    async def open(self) -> None:
        """Connect (a no-op when open); StorageUnavailableError when it cannot."""
        ...

    async def ping(self) -> None: ...

    async def scrub(self) -> None:
        """See MetadataStore.scrub."""
        ...

    async def close(self) -> None: ...


class InTransaction(SqlSession):
    """A session bound to one open transaction: every block, reading or writing, runs in it,
    so the writes of many repository calls commit or roll back together with it."""

    def __init__(self, codec: SqlCodec, tx: SqlTransaction) -> None:
        self._codec = codec
        self._tx = tx

    @property
    def codec(self) -> SqlCodec:
        return self._codec

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        yield self._tx

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlTransaction]:
        yield self._tx


def lock_key(scope: str, value: UUID) -> int:
    """A signed 64-bit key for `value` within `scope`, as PostgreSQL's advisory locks take."""
    digest = hashlib.blake2b(scope.encode() + value.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
