"""Appends raced with a PUT, a restore, a prune and the chat's delete on one real server:
each race ends as some serial order of its changes would, with the revisions, the usage
and `revision_bytes` agreeing with the disk (`test.e2e.revision_races`). The server keeps
few revisions, so the races also prune old ones, and drop the runs they kept, as they go;
the same races across two processes are in test_two_processes.py."""

import contextlib
import sqlite3
from collections.abc import Iterator
from uuid import UUID

import pytest

from test.e2e.revision_races import (
    race_appends_with_delete,
    race_appends_with_prune,
    race_appends_with_puts,
    race_appends_with_restores,
)
from test.e2e.server import RunningServer, running_server

pytestmark = pytest.mark.e2e

REVISIONS_KEPT = 24


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("revision-races") / "data"
    with running_server(data_dir, history_revisions=str(REVISIONS_KEPT)) as running:
        yield running


def test_appends_racing_puts_end_as_one_serial_order(server: RunningServer) -> None:
    race_appends_with_puts([server], server.data_dir, REVISIONS_KEPT)


def test_appends_racing_restores_end_as_one_serial_order(server: RunningServer) -> None:
    race_appends_with_restores([server], server.data_dir, REVISIONS_KEPT)


def test_appends_racing_a_prune_end_as_one_serial_order(server: RunningServer) -> None:
    race_appends_with_prune([server], server.data_dir, REVISIONS_KEPT)


def test_appends_racing_the_chats_delete_leave_nothing_of_it(server: RunningServer) -> None:
    chat = race_appends_with_delete([server], server.data_dir)
    # No record of its revisions or usage is left in the store (the default SQLite file).
    with contextlib.closing(sqlite3.connect(server.data_dir / "metadata.db")) as store:
        for table in ("history_revisions", "chat_usage"):
            query = f"SELECT COUNT(*) FROM {table} WHERE chat_id = ?"
            assert store.execute(query, (UUID(chat.chat_id).bytes,)).fetchone() == (0,), table
