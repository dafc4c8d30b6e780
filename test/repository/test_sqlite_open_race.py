"""Replicas started together open one new SQLite store at the same moment."""

import asyncio
import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from repository.sql_store import sqlite_metadata_store

PROCESSES = 4
ROUNDS = 15


def _open_once(path: Path, barrier: Barrier) -> None:
    async def open_and_close() -> None:
        store = sqlite_metadata_store(path)
        await store.open()
        await store.close()

    barrier.wait()
    asyncio.run(open_and_close())


def test_processes_opening_a_new_store_at_once_all_open_it(tmp_path: Path) -> None:
    """SQLite can answer "database is locked" at once, without waiting, to a connection
    that switches to WAL while another process does the same; before opening retried it,
    about one round in thirty lost a process here."""
    context = multiprocessing.get_context("spawn")
    for round_ in range(ROUNDS):
        path = tmp_path / f"round-{round_}" / "metadata.db"
        path.parent.mkdir()
        barrier = context.Barrier(PROCESSES)
        processes = [
            context.Process(target=_open_once, args=(path, barrier)) for _ in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)

        assert [process.exitcode for process in processes] == [0] * PROCESSES, round_
