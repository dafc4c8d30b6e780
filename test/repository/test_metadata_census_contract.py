"""MetadataCensus: what the operators' check lists across a store, on every backend; and,
on the SQL ones, whose sums can be edited behind the service's back, `resum`."""

import hashlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import pytest

from repository.sql_store import SqlMetadataStore, postgres_metadata_store, sqlite_metadata_store
from test.postgres_server import PostgresServer
from test.repository.records import chat, stored_chat, stored_workspace
from usecase.ports.census import ChatUsage, WorkspaceLedger
from usecase.ports.metadata import MetadataStore
from usecase.ports.usage import WorkspaceBytes

pytestmark = pytest.mark.anyio


async def test_an_empty_store_knows_no_workspace(store: MetadataStore) -> None:
    assert await store.census.workspace_ids() == []
    assert await store.census.ledger(uuid4()) == WorkspaceLedger(WorkspaceBytes(0, 0), [])
    assert await store.census.chat_usage(uuid4()) is None


async def test_workspaces_are_known_by_record_or_by_usage(store: MetadataStore) -> None:
    recorded = await stored_workspace(store)
    counted_only = uuid4()
    await store.usage.set_chat_bytes(counted_only, uuid4(), 10, 0)

    assert await store.census.workspace_ids() == sorted([recorded, counted_only])


async def test_chat_ids_are_the_workspaces_records(store: MetadataStore) -> None:
    workspace_id = await stored_workspace(store)
    mine = sorted([await stored_chat(store, workspace_id) for _ in range(3)])
    await stored_chat(store)  # another workspace's

    assert await store.census.chat_ids(workspace_id) == mine
    assert await store.census.chat_ids(uuid4()) == []


async def test_the_ledger_holds_the_sums_and_each_chats_figures(store: MetadataStore) -> None:
    workspace_id, first, second = uuid4(), uuid4(), uuid4()
    await store.usage.set_chat_bytes(workspace_id, first, 100, 30, 7)
    await store.usage.set_chat_bytes(workspace_id, second, 50, 0)
    await store.usage.set_chat_bytes(uuid4(), uuid4(), 999, 0, 999)

    ledger = await store.census.ledger(workspace_id)

    assert ledger.sums == WorkspaceBytes(150, 7)
    assert ledger.summed == ledger.sums
    assert sorted(ledger.chats, key=lambda figure: figure.chat_id) == sorted(
        [ChatUsage(workspace_id, first, 100, 30, 7), ChatUsage(workspace_id, second, 50, 0, 0)],
        key=lambda figure: figure.chat_id,
    )


async def test_chat_usage_names_the_workspace_it_is_counted_in(store: MetadataStore) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await store.usage.set_chat_bytes(workspace_id, chat_id, 12, 4, 3)

    assert await store.census.chat_usage(chat_id) == ChatUsage(workspace_id, chat_id, 12, 4, 3)

    await store.usage.delete_chat(chat_id)
    assert await store.census.chat_usage(chat_id) is None


async def test_resum_of_agreeing_sums_changes_nothing(store: MetadataStore) -> None:
    workspace_id = uuid4()
    await store.usage.set_chat_bytes(workspace_id, uuid4(), 100, 30, 7)
    before = await store.census.ledger(workspace_id)

    await store.census.resum(workspace_id)

    assert await store.census.ledger(workspace_id) == before


# The SQL stores keep each workspace's sums in a row of their own, which an operator (or a
# bug) can edit apart from its chats' figures.

RunSql = Callable[[str], None]


async def _sqlite(scratch: Path, request: pytest.FixtureRequest) -> tuple[SqlMetadataStore, RunSql]:
    path = scratch / "metadata.db"

    def run(sql: str) -> None:
        with sqlite3.connect(path) as db:
            db.execute(sql)

    return sqlite_metadata_store(path), run


async def _postgres(
    scratch: Path, request: pytest.FixtureRequest
) -> tuple[SqlMetadataStore, RunSql]:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = "census_" + hashlib.sha256(str(scratch).encode()).hexdigest()[:24]
    dsn = server.create_database(name)

    def run(sql: str) -> None:
        server.run_sql(dsn, sql)

    return postgres_metadata_store(dsn), run


@pytest.fixture(params=[pytest.param(_sqlite, id="sqlite"), pytest.param(_postgres, id="postgres")])
async def sql_store(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> AsyncIterator[tuple[SqlMetadataStore, RunSql]]:
    opened, run_sql = await request.param(tmp_path, request)
    await opened.open()
    try:
        yield opened, run_sql
    finally:
        await opened.close()


async def test_resum_makes_edited_sums_those_of_the_chats(
    sql_store: tuple[SqlMetadataStore, RunSql],
) -> None:
    store, run_sql = sql_store
    workspace_id = await stored_workspace(store)
    chats = [chat(workspace_id) for _ in range(2)]
    for each, used in zip(chats, (100, 40), strict=True):
        await store.chats.save(each)
        await store.usage.set_chat_bytes(workspace_id, each.chat_id, used, 0, used // 10)
    run_sql("UPDATE workspace_usage SET used_bytes = 7, revision_bytes = 99")

    drifted = await store.census.ledger(workspace_id)
    assert drifted.sums == WorkspaceBytes(7, 99)
    assert drifted.summed == WorkspaceBytes(140, 14)

    await store.census.resum(workspace_id)

    assert (await store.census.ledger(workspace_id)).sums == WorkspaceBytes(140, 14)
    assert await store.usage.workspace_bytes(workspace_id) == WorkspaceBytes(140, 14)


async def test_resum_of_a_workspace_whose_chats_are_gone_zeroes_its_sums(
    sql_store: tuple[SqlMetadataStore, RunSql],
) -> None:
    store, run_sql = sql_store
    workspace_id, chat_id = uuid4(), uuid4()
    await store.usage.set_chat_bytes(workspace_id, chat_id, 50, 0)
    run_sql("DELETE FROM chat_usage")

    await store.census.resum(workspace_id)

    assert await store.census.ledger(workspace_id) == WorkspaceLedger(WorkspaceBytes(0, 0), [])
