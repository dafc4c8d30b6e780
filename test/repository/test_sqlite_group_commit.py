"""SQLite's group commit across units of work (ADR 0032): units that queue up for the
writer share one transaction and one commit, each still all or nothing, and a unit's
block returns only once its records are committed."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from domain.errors import StorageUnavailableError
from repository.sqlite_database import SqliteDatabase
from repository.sqlite_group_commit import MAX_UNITS

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def opened(path: Path) -> SqliteDatabase:
    db = SqliteDatabase(path)
    await db.open()
    async with db.writing() as tx:
        await tx.execute("CREATE TABLE item (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    return db


def committed(path: Path) -> dict[str, int]:
    """What another process opening the file sees: only what was committed."""
    with sqlite3.connect(path) as other:
        return dict(other.execute("SELECT name, value FROM item").fetchall())


async def put(db: SqliteDatabase, path: Path, name: str, value: int) -> None:
    async with db.writing() as tx:
        await tx.execute("INSERT INTO item (name, value) VALUES ($1, $2)", name, value)
        await tx.execute("UPDATE item SET value = value + 1 WHERE name = $1", name)
    # Returned: committed, seen by another connection at once.
    assert committed(path)[name] == value + 1


async def test_units_queued_together_share_one_commit_and_each_lands(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    db = await opened(path)
    before = db.batches_ended
    await asyncio.gather(*(put(db, path, f"unit-{n}", n) for n in range(40)))
    assert committed(path) == {f"unit-{n}": n + 1 for n in range(40)}
    ended = db.batches_ended - before
    # 40 units, at most MAX_UNITS a batch: at least two batches, and far fewer than 40.
    assert 2 <= ended <= 40 // 2, ended
    await db.close()


async def test_a_unit_that_fails_in_a_batch_undoes_only_its_own_statements(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    db = await opened(path)

    async def failing() -> None:
        async with db.writing() as tx:
            await tx.execute("INSERT INTO item (name, value) VALUES ($1, $2)", "failed", 1)
            await tx.execute("UPDATE item SET value = 7 WHERE name = $1", "unit-0")
            raise RuntimeError("the use case changed its mind")

    async def guarded() -> None:
        with pytest.raises(RuntimeError, match="changed its mind"):
            await failing()

    units = [put(db, path, f"unit-{n}", n) for n in range(6)]
    await asyncio.gather(units[0], guarded(), *units[1:])
    assert committed(path) == {f"unit-{n}": n + 1 for n in range(6)}
    await db.close()


async def test_a_unit_refused_by_the_database_leaves_the_others_of_its_batch(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    db = await opened(path)
    await put(db, path, "taken", 1)

    async def duplicate() -> None:
        async with db.writing() as tx:
            await tx.execute("INSERT INTO item (name, value) VALUES ($1, $2)", "half", 1)
            await tx.execute("INSERT INTO item (name, value) VALUES ($1, $2)", "taken", 9)

    async def refused() -> None:
        with pytest.raises(StorageUnavailableError):
            await duplicate()

    await asyncio.gather(*(put(db, path, f"unit-{n}", n) for n in range(3)), refused())
    assert committed(path) == {"taken": 2} | {f"unit-{n}": n + 1 for n in range(3)}
    await db.close()


async def test_a_cancelled_unit_leaves_nothing_and_the_batch_commits_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    db = await opened(path)
    inside = asyncio.Event()

    async def stalled() -> None:
        async with db.writing() as tx:
            await tx.execute("INSERT INTO item (name, value) VALUES ($1, $2)", "cancelled", 1)
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.ensure_future(stalled())
    await inside.wait()
    others = [asyncio.ensure_future(put(db, path, f"unit-{n}", n)) for n in range(4)]
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(*others)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert committed(path) == {f"unit-{n}": n + 1 for n in range(4)}
    await db.close()


async def test_no_batch_holds_more_than_its_bound_of_units(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    db = await opened(path)
    before = db.batches_ended
    count = 3 * MAX_UNITS
    await asyncio.gather(*(put(db, path, f"unit-{n}", n) for n in range(count)))
    assert db.batches_ended - before >= 3
    assert len(committed(path)) == count
    await db.close()


async def test_closing_commits_what_a_batch_holds(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    db = await opened(path)
    await asyncio.gather(*(put(db, path, f"unit-{n}", n) for n in range(5)))
    await db.scrub()  # checkpoints: needs no open batch
    await db.close()
    assert committed(path) == {f"unit-{n}": n + 1 for n in range(5)}
