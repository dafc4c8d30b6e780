"""Looking for what is left of an erased workspace: in the names and bytes of every file
under a data directory, in every row of every table of a SQL store, and in every value an
in-memory store holds; and taking a byte-for-byte picture of a tree to compare."""

import contextlib
import dataclasses
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

# What one entry of a tree is: its kind and mode, and a file's bytes or a link's target.
Entry = tuple[str, int, bytes | str | None]


def tree(root: Path) -> dict[str, Entry]:
    """Every entry under `root` by its path relative to it, never following a link."""
    found: dict[str, Entry] = {}
    for directory, names, files in os.walk(root, followlinks=False):
        for name in (*names, *files):
            path = Path(directory) / name
            status = path.lstat()
            mode = stat.S_IMODE(status.st_mode)
            if stat.S_ISLNK(status.st_mode):
                entry: Entry = ("link", mode, str(path.readlink()))
            elif stat.S_ISREG(status.st_mode):
                entry = ("file", mode, path.read_bytes())
            elif stat.S_ISDIR(status.st_mode):
                entry = ("dir", mode, None)
            else:
                entry = ("other", mode, None)
            found[str(path.relative_to(root))] = entry
    return found


def traces_of(ids: Iterable[UUID], *texts: str) -> list[bytes]:
    """What an id or a text leaves when stored: each id as text and as 16 raw bytes."""
    traces = [trace for each in ids for trace in (str(each).encode(), each.bytes)]
    return traces + [text.encode() for text in texts]


def paths_naming(root: Path, ids: Iterable[UUID]) -> list[str]:
    """Every path under `root`, relative to it, with one of the ids in it."""
    names = [str(each) for each in ids]
    return sorted(path for path in tree(root) if any(name in path for name in names))


def files_holding(root: Path, traces: Iterable[bytes]) -> dict[str, list[bytes]]:
    """Each regular file under `root` (links never followed) whose bytes hold one of the
    traces, with those it holds."""
    wanted = list(traces)
    holding = {}
    for path, (kind, _, content) in tree(root).items():
        if kind == "file" and isinstance(content, bytes):
            found = [trace for trace in wanted if trace in content]
            if found:
                holding[path] = found
    return holding


Rows = dict[str, list[tuple[Any, ...]]]


def sqlite_rows(path: Path) -> Rows:
    """Every row of every table of the SQLite file at `path`, sorted, by table."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = [
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith("sqlite_")
        ]
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in tables
        }


async def postgres_rows(url: str) -> Rows:
    """Every row of every table of the PostgreSQL database at `url`, sorted, by table."""
    connection = await asyncpg.connect(url)
    try:
        tables = [
            row[0]
            for row in await connection.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
        return {
            table: sorted(
                (tuple(row) for row in await connection.fetch(f"SELECT * FROM {table}")),
                key=repr,
            )
            for table in tables
        }
    finally:
        await connection.close()


def rows_mentioning(rows: Rows, ids: Iterable[UUID]) -> Rows:
    """The rows, by table, with a value that is one of the ids (a UUID, its 16 bytes, or
    text holding it)."""
    wanted = list(ids)
    return {
        table: hits
        for table, table_rows in rows.items()
        if (hits := [row for row in table_rows if any(_names(value, wanted) for value in row)])
    }


def rows_without(rows: Rows, ids: Iterable[UUID]) -> Rows:
    """The rows, by table, that mention none of the ids."""
    mentioning = rows_mentioning(rows, ids)
    return {
        table: [row for row in table_rows if row not in mentioning.get(table, [])]
        for table, table_rows in rows.items()
    }


def values_held(store: object) -> Iterator[object]:
    """Every value reachable from an in-memory store's attributes: containers, records
    (dataclasses, slotted or not) and objects with a `__dict__`, down to their leaves."""
    seen: set[int] = set()
    pending: list[object] = [store]
    while pending:
        value = pending.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        yield value
        if isinstance(value, str | bytes | int | float | UUID | type) or callable(value):
            continue
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            pending.extend(value)
        elif dataclasses.is_dataclass(value):
            pending.extend(getattr(value, item.name) for item in dataclasses.fields(value))
        elif hasattr(value, "__dict__"):
            pending.extend(vars(value).values())


def memory_mentions(store: object, ids: Iterable[UUID]) -> list[object]:
    """Every value the in-memory store holds that is, or names, one of the ids."""
    wanted = list(ids)
    return [value for value in values_held(store) if _names(value, wanted)]


def _names(value: object, ids: list[UUID]) -> bool:
    if isinstance(value, UUID):
        return value in ids
    if isinstance(value, bytes | memoryview):
        return bytes(value) in {each.bytes for each in ids}
    if isinstance(value, str):
        return any(str(each) in value for each in ids)
    return False
