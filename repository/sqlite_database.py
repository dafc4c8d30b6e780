"""SQLite behind the SqlDatabase port: sqlite3 connections, each driven by its own thread.

One writer connection takes `BEGIN IMMEDIATE`, SQLite's database-wide write lock, for every
write transaction, so writers in every process on this file are serialised, and a check and
the write it guards can never interleave with another. Units of work that queue up for the
writer share one transaction and one commit, each in a savepoint of its own (group commit,
`repository/sqlite_group_commit.py`, ADR 0032). Readers use their own connections; in WAL
mode they never wait for the writer.
"""

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from domain.errors import DomainError, StorageUnavailableError
from repository.serial_thread import SerialThread
from repository.sql_database import Row, SqlCodec, SqlDatabase, SqlTransaction
from repository.sqlite_group_commit import (
    MAX_UNITS,
    Batch,
    end_on_thread,
    open_unit_on_thread,
    release_unit_on_thread,
    storage_error,
    undo_unit_on_thread,
)

T = TypeVar("T")
_log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_BUSY_TIMEOUT_MS = 10_000
_READERS = 2


class SqliteCodec(SqlCodec):
    def uuid(self, value: UUID) -> object:
        return value.bytes

    def time(self, value: datetime) -> object:
        return (value - _EPOCH) // _MICROSECOND

    def to_uuid(self, value: Any) -> UUID:
        return UUID(bytes=bytes(value))

    def to_time(self, value: Any) -> datetime:
        return _EPOCH + int(value) * _MICROSECOND


@cache
def _sqlite_sql(sql: str) -> str:
    """`$1` placeholders as SQLite's numbered `?1`."""
    return re.sub(r"\$(\d+)", r"?\1", sql)


def _translated(work: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection) -> T:
    try:
        return work(connection)
    except sqlite3.Error as error:
        raise storage_error(error) from error


class _Connection:
    """A sqlite3 connection and the one thread that ever touches it, in submission order."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread = SerialThread("sqlite")
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._connection = await self._thread.start(self._connect)

    async def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self.start(work)

    def start(self, work: Callable[[sqlite3.Connection], T]) -> "asyncio.Future[T]":
        """Queue `work` now (before anything queued after this call); the future tells
        when it ran."""
        connection = self._connection
        if connection is None:
            raise StorageUnavailableError("metadata store is not open")
        return self._thread.start(partial(_translated, work, connection))

    def submit(self, work: Callable[[sqlite3.Connection], object]) -> None:
        """Queue `work` without waiting for it (it still runs before any later call)."""
        connection = self._connection
        if connection is not None:
            self._thread.submit(partial(_translated, work, connection))

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await self._thread.start(connection.close)
        self._thread.stop()

    def _connect(self) -> sqlite3.Connection:
        # Switching to WAL needs a moment alone with the file, and SQLite may answer "locked"
        # at once, without its busy handler, while another process opens it at the same
        # time (replicas started together): that case is retried until the busy timeout.
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return self._connect_once()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise StorageUnavailableError(
                        f"cannot open metadata store {self._path}: {error}"
                    ) from error
                time.sleep(0.05)
            except sqlite3.Error as error:
                raise StorageUnavailableError(
                    f"cannot open metadata store {self._path}: {error}"
                ) from error

    def _connect_once(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=0
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA foreign_keys = ON")
            # A deleted row's bytes are overwritten with zeros, not left in a free block.
            connection.execute("PRAGMA secure_delete = ON")
        except BaseException:
            connection.close()
            raise
        return connection


class _SqliteTransaction(SqlTransaction):
    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def fetch(self, sql: str, *args: object) -> list[Row]:
        return await self._connection.call(lambda db: db.execute(_sqlite_sql(sql), args).fetchall())

    async def fetchrow(self, sql: str, *args: object) -> Row | None:
        row: Row | None = await self._connection.call(
            lambda db: db.execute(_sqlite_sql(sql), args).fetchone()
        )
        return row

    async def execute(self, sql: str, *args: object) -> int:
        return await self._connection.call(lambda db: db.execute(_sqlite_sql(sql), args).rowcount)

    async def lock(self, key: int) -> None:
        """Nothing to do: the transaction already holds the database's write lock."""


def _truncate_log(db: sqlite3.Connection) -> bool:
    """Copy the write-ahead log into the database and empty it; False when a reader still
    holds a page of it (the log then empties at a later checkpoint)."""
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return not busy


class SqliteDatabase(SqlDatabase):
    """A SQLite file in WAL mode with foreign keys on and `synchronous = FULL`, so a
    committed transaction survives a power cut."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._codec = SqliteCodec()
        self._writer = _Connection(path)
        self._write_lock = asyncio.Lock()
        self._queued = 0  # units waiting for the write lock
        self._batch: Batch | None = None  # the open batch, while its units come in
        self._flushes: set[asyncio.Task[None]] = set()
        self._batches_ended = 0
        self._readers = [_Connection(path) for _ in range(_READERS)]
        self._idle: asyncio.Queue[_Connection] | None = None

    @property
    def batches_ended(self) -> int:
        """How many batches of units of work were ended (committed, or rolled back when
        none of their units succeeded) since the store was made."""
        return self._batches_ended

    @property
    def codec(self) -> SqlCodec:
        return self._codec

    async def open(self) -> None:
        if self._idle is not None:
            return
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailableError(
                f"cannot open metadata store {self._path}: {error.strerror}"
            ) from error
        await self._writer.open()
        idle: asyncio.Queue[_Connection] = asyncio.Queue()
        for reader in self._readers:
            await reader.open()
            idle.put_nowait(reader)
        self._idle = idle

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        if self._idle is None:
            raise StorageUnavailableError("metadata store is not open")
        reader = await self._idle.get()
        try:
            yield _SqliteTransaction(reader)
        finally:
            self._idle.put_nowait(reader)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlTransaction]:
        """One unit of work, in a savepoint of the open batch's transaction; the block
        returns once the batch is committed (ADR 0032)."""
        await self._acquire()
        try:
            batch, fresh = self._batch, self._batch is None
            if batch is None:
                batch = self._batch = Batch(asyncio.get_running_loop().create_future())
            batch.joined += 1
            try:
                await self._writer.call(partial(open_unit_on_thread, batch=batch, fresh=fresh))
                yield _SqliteTransaction(self._writer)
            except BaseException:
                # Queued, not awaited: a cancelled task may not await, and the writer's
                # thread runs it before the next unit's statements either way.
                self._writer.submit(partial(undo_unit_on_thread, batch=batch))
                self._leave(batch)
                raise
            self._writer.submit(partial(release_unit_on_thread, batch=batch))
            self._leave(batch)
        finally:
            self._write_lock.release()
        # Shielded: a caller that goes away still leaves its unit to the batch's commit.
        await asyncio.shield(batch.done)

    async def _acquire(self) -> None:
        self._queued += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._queued -= 1

    def _leave(self, batch: Batch) -> None:
        """With the write lock held, as a unit leaves the batch: end the batch now if
        nobody waits for the writer or it is full; else let the units waiting join it, and
        make sure that someone ends it after them."""
        if self._batch is not batch:
            return
        if not self._queued or batch.joined >= MAX_UNITS:
            self._end(batch)
        elif not batch.flushing:
            batch.flushing = True
            flush = asyncio.ensure_future(self._flush(batch))
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)

    def _end(self, batch: Batch) -> None:
        """Queue the batch's commit on the writer's thread now, before any later unit."""
        self._batch = None
        self._batches_ended += 1
        self._writer.start(partial(end_on_thread, batch=batch)).add_done_callback(batch.resolve)

    async def _flush(self, batch: Batch) -> None:
        """Queued behind the units waiting when `batch` was left open: ends it after them."""
        await self._acquire()
        try:
            if self._batch is batch:
                self._end(batch)
        finally:
            self._write_lock.release()

    async def _settled(self) -> None:
        """With the write lock held: the open batch, if any, committed."""
        batch = self._batch
        if batch is not None:
            self._end(batch)
            await asyncio.shield(batch.done)

    async def ping(self) -> None:
        async with self.reading() as tx:
            await tx.fetchrow("SELECT 1")

    async def scrub(self) -> None:
        """Deleted rows are zeroed as they go (`secure_delete`); the write-ahead log still
        holds the pages from before, until it is checkpointed and truncated here."""
        async with self._write_lock:
            await self._settled()
            if not await self._writer.call(_truncate_log):
                _log.warning("the metadata store's write-ahead log is in use; not truncated")

    async def close(self) -> None:
        self._idle = None
        async with self._write_lock:
            with contextlib.suppress(DomainError):
                await self._settled()
        for connection in (self._writer, *self._readers):
            await connection.close()
