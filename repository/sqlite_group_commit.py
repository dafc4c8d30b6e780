"""Group commit of SQLite's write transactions, across chats (ADR 0032).

Each unit of work still runs alone on the one writer connection, in order, but units that
queue up behind one another share one SQLite transaction: the first opens it
(`BEGIN IMMEDIATE`), each runs inside a savepoint of its own, released when it ends well
and rolled back to when it fails (undoing its statements only), and the transaction is
committed once, by one `COMMIT` and one fsync of the write-ahead log, when nobody else
waits for the writer or the batch is full. A unit's `writing()` block returns only once
that commit is durable, so a caller never acts on a record that a power cut could take
back, and readers (their own connections) see a unit's records only once committed.

The functions named `_on_thread` run on the writer's thread, in submission order, which
is what keeps the steps of one batch and the next in order without awaiting each one.
"""

import asyncio
import sqlite3
from typing import Any

from domain.errors import DomainError, InsufficientStorageError, StorageUnavailableError

# A batch commits once this many units have joined it, waiters or not, so the write lock
# is held for a bounded time and a unit's wait for its commit stays short.
MAX_UNITS = 32


def storage_error(error: sqlite3.Error) -> DomainError:
    """The domain's error for a failure of the metadata store."""
    if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return InsufficientStorageError(f"metadata store is full: {error}")
    return StorageUnavailableError(f"metadata store failed: {error}")


class Batch:
    """Units of work sharing one SQLite transaction. `done` resolves once it is committed
    (or fails with what made it fail). `joined` and `flushing` are the event loop's;
    `released` and `broken` the writer thread's."""

    __slots__ = ("broken", "done", "flushing", "joined", "released")

    def __init__(self, done: "asyncio.Future[None]") -> None:
        self.done = done
        self.joined = 0
        self.flushing = False
        self.released = 0
        self.broken: DomainError | None = None

    def resolve(self, ended: "asyncio.Future[Any]") -> None:
        """Done callback of the batch's end: pass on its outcome to every unit."""
        if self.done.done():
            return
        error = None if ended.cancelled() else ended.exception()
        if ended.cancelled():
            self.done.set_exception(StorageUnavailableError("metadata commit was cancelled"))
        elif error is not None:
            self.done.set_exception(error)
        else:
            self.done.set_result(None)


def _lost(batch: Batch) -> DomainError:
    batch.broken = batch.broken or StorageUnavailableError(
        "metadata store lost the transaction of a batch of commits"
    )
    return batch.broken


def open_unit_on_thread(db: sqlite3.Connection, batch: Batch, fresh: bool) -> None:
    """Begin the batch's transaction if `fresh` (or if nothing of it was kept yet), then
    the unit's savepoint."""
    if fresh:
        if db.in_transaction:  # left open by a commit that failed
            db.rollback()
        db.execute("BEGIN IMMEDIATE")
    elif batch.broken is not None:
        raise batch.broken
    elif not db.in_transaction:
        if batch.released:
            raise _lost(batch)
        db.execute("BEGIN IMMEDIATE")  # the unit that began the batch failed to
    db.execute("SAVEPOINT unit")


def release_unit_on_thread(db: sqlite3.Connection, batch: Batch) -> None:
    """The unit ended well: its statements join the batch's transaction."""
    if not db.in_transaction:
        raise _lost(batch)
    db.execute("RELEASE unit")
    batch.released += 1


def undo_unit_on_thread(db: sqlite3.Connection, batch: Batch) -> None:
    """The unit failed: undo its statements only. Never raises; if that cannot be done,
    the batch is broken and every unit of it fails."""
    if not db.in_transaction:
        # SQLite rolled the whole transaction back (a full disk, an I/O error): with it
        # went the units released before this one.
        if batch.released:
            _lost(batch)
        return
    try:
        db.execute("ROLLBACK TO unit")
        db.execute("RELEASE unit")
    except sqlite3.Error as error:
        batch.broken = storage_error(error)
        db.rollback()


def end_on_thread(db: sqlite3.Connection, batch: Batch) -> None:
    """Commit what the batch's units released (one fsync of the log), or roll back if it
    holds nothing or broke."""
    if batch.broken is not None:
        if db.in_transaction:
            db.rollback()
        raise batch.broken
    if not db.in_transaction:
        if batch.released:
            raise _lost(batch)
        return
    if not batch.released:
        db.rollback()
        return
    try:
        db.commit()
    except sqlite3.Error as error:
        raise storage_error(error) from error
