"""The schema runner: a new build upgrades an old database in place and keeps its records;
an old build refuses a newer database and leaves it untouched."""

import asyncio
import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from domain.chat import Chat
from domain.errors import StorageUnavailableError
from domain.paging import RecentPageRequest
from repository.sql_migrations import Migration, migrate
from repository.sql_schema import SQLITE_TYPES, schema_migrations
from repository.sql_store import SqlMetadataStore
from repository.sqlite_database import SqliteCodec, SqliteDatabase
from test.repository.records import chat, revision, workspace
from usecase.ports.usage import WorkspaceBytes

pytestmark = pytest.mark.anyio

CURRENT = schema_migrations(SQLITE_TYPES)
SQLITE_CODEC = SqliteCodec()
NEXT = Migration(
    CURRENT[-1].version + 1,
    "a column a later build adds",
    ("ALTER TABLE workspaces ADD COLUMN display_name TEXT",),
)


def versions_in(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]


def columns_of(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def tables_of(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def insert_chat_before_forks(path: Path, chat: Chat) -> None:
    """A chat row as the repository wrote it before version 4 gave chats forked_from."""
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO chats (chat_id, workspace_id, created_at) VALUES (?, ?, ?)",
            (chat.chat_id.bytes, chat.workspace_id.bytes, SQLITE_CODEC.time(chat.created_at)),
        )


async def open_store(path: Path, migrations: tuple[Migration, ...]) -> SqlMetadataStore:
    store = SqlMetadataStore(SqliteDatabase(path), migrations)
    await store.open()
    return store


async def test_a_new_database_gets_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"

    store = await open_store(path, CURRENT)
    await store.close()

    assert versions_in(path) == [migration.version for migration in CURRENT]


async def test_opening_again_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    for _ in range(3):
        store = await open_store(path, CURRENT)
        await store.close()

    assert versions_in(path) == [migration.version for migration in CURRENT]


async def test_a_newer_build_upgrades_an_old_database_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    saved = workspace()
    old = await open_store(path, CURRENT)
    await old.workspaces.save(saved)
    await old.close()

    new = await open_store(path, (*CURRENT, NEXT))
    try:
        assert await new.workspaces.get(saved.workspace_id) == saved
    finally:
        await new.close()
    assert versions_in(path)[-1] == NEXT.version
    assert "display_name" in columns_of(path, "workspaces")


async def test_a_version_1_database_gains_history_revisions_and_keeps_its_chats(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    owner = workspace()
    kept = chat(owner.workspace_id)
    old = await open_store(path, CURRENT[:1])
    await old.workspaces.save(owner)
    await old.close()
    insert_chat_before_forks(path, kept)
    assert "history_revisions" not in tables_of(path)

    new = await open_store(path, CURRENT)
    try:
        assert await new.chats.get(kept.chat_id) == kept
        first = revision(kept.chat_id, 0)
        await new.revisions.add(first)
        assert await new.revisions.latest(kept.chat_id) == first
    finally:
        await new.close()
    assert columns_of(path, "history_revisions") == [
        "chat_id",
        "revision",
        "sha256",
        "size_bytes",
        "source",
        "created_at",
        "run",
    ]


async def test_a_version_3_database_keeps_its_chats_forked_from_nothing(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    owner = workspace()
    kept = chat(owner.workspace_id)
    old = await open_store(path, CURRENT[:3])
    await old.workspaces.save(owner)
    await old.close()
    insert_chat_before_forks(path, kept)

    new = await open_store(path, CURRENT)
    try:
        assert await new.chats.get(kept.chat_id) == kept
        assert kept.forked_from is None
    finally:
        await new.close()
    assert {"forked_from_chat_id", "forked_from_revision"} <= set(columns_of(path, "chats"))


async def test_a_version_4_database_dates_its_chats_last_change_at_their_creation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    owner = workspace()
    kept = chat(owner.workspace_id)
    old = await open_store(path, CURRENT[:4])
    await old.workspaces.save(owner)
    await old.close()
    insert_chat_before_forks(path, kept)

    new = await open_store(path, CURRENT)
    try:
        found = await new.chats.get(kept.chat_id)
        assert found is not None
        assert found.updated_at == found.created_at == kept.created_at
        assert found.title is None
        assert dict(found.metadata) == {}
        recent = await new.chats.list_recent_by_workspace_id(
            owner.workspace_id, RecentPageRequest(10)
        )
        assert recent == [found]
    finally:
        await new.close()
    assert columns_of(path, "chats")[-3:] == ["updated_at", "title", "metadata"]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        pytest.param(
            "SELECT * FROM chats WHERE workspace_id = ?"
            " AND created_at >= 5 AND (created_at > 5 OR chat_id > x'00')"
            " ORDER BY created_at, chat_id LIMIT 10",
            "chats_by_workspace ",
            id="by-creation",
        ),
        pytest.param(
            "SELECT * FROM chats WHERE workspace_id = ?"
            " AND updated_at <= 5 AND (updated_at < 5 OR chat_id < x'00')"
            " ORDER BY updated_at DESC, chat_id DESC LIMIT 10",
            "chats_by_workspace_updated ",
            id="newest-first",
        ),
    ],
)
async def test_chat_lists_page_through_an_index_without_sorting_the_workspace(
    tmp_path: Path, query: str, index: str
) -> None:
    path = tmp_path / "metadata.db"
    store = await open_store(path, CURRENT)
    await store.close()
    with sqlite3.connect(path) as db:
        plan = " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {query}", (b"x",)))
    assert f"USING INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


async def test_a_version_2_database_counts_no_revision_bytes_and_keeps_its_usage(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    owner, counted = uuid4(), uuid4()
    old = await open_store(path, CURRENT[:2])
    await old.close()
    with sqlite3.connect(path) as db:  # the version 2 repository wrote rows of this shape
        db.execute(
            "INSERT INTO chat_usage (chat_id, workspace_id, used_bytes, history_bytes)"
            " VALUES (?, ?, 300, 100)",
            (counted.bytes, owner.bytes),
        )
        db.execute(
            "INSERT INTO workspace_usage (workspace_id, used_bytes) VALUES (?, 300)",
            (owner.bytes,),
        )

    new = await open_store(path, CURRENT)
    try:
        assert await new.usage.workspace_bytes(owner) == WorkspaceBytes(300, 0)
        assert await new.usage.history_bytes(counted) == 100
        assert await new.usage.revision_bytes(counted) == 0
        assert await new.usage.try_set_history(owner, counted, 100, 1_000, 40)
        assert await new.usage.workspace_bytes(owner) == WorkspaceBytes(300, 40)
    finally:
        await new.close()
    assert columns_of(path, "chat_usage")[-1] == "revision_bytes"
    assert columns_of(path, "workspace_usage")[-1] == "revision_bytes"
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE chat_usage SET revision_bytes = -1")


async def test_an_older_build_refuses_a_newer_database_and_leaves_it_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    newer = await open_store(path, (*CURRENT, NEXT))
    await newer.close()

    older = SqlMetadataStore(SqliteDatabase(path), CURRENT)
    with pytest.raises(StorageUnavailableError, match=f"version {NEXT.version}, newer than"):
        await older.open()
    await older.close()

    assert versions_in(path)[-1] == NEXT.version


async def test_a_failing_migration_leaves_the_database_at_its_old_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metadata.db"
    store = await open_store(path, CURRENT)
    await store.close()
    broken = Migration(
        NEXT.version,
        "adds a column, then fails",
        ("ALTER TABLE workspaces ADD COLUMN display_name TEXT", "SELECT * FROM no_such_table"),
    )

    failing = SqlMetadataStore(SqliteDatabase(path), (*CURRENT, broken))
    with pytest.raises(StorageUnavailableError):
        await failing.open()
    await failing.close()

    assert versions_in(path) == [migration.version for migration in CURRENT]
    assert "display_name" not in columns_of(path, "workspaces")


async def test_two_stores_opening_one_new_file_together_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "metadata.db"
    first = SqliteDatabase(path)
    second = SqliteDatabase(path)
    await first.open()
    await second.open()
    try:
        # Two connections, two threads: SQLite's write lock decides who migrates first.
        await asyncio.gather(migrate(first, CURRENT), migrate(second, CURRENT))
    finally:
        await first.close()
        await second.close()

    assert versions_in(path) == [migration.version for migration in CURRENT]
