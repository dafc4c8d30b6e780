"""The metadata store over a SQL database: SQLite on one host, PostgreSQL for many."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from repository.postgres_database import PostgresDatabase
from repository.sql_census import SqlMetadataCensus
from repository.sql_chat import SqlChatRepository
from repository.sql_database import InTransaction, SqlDatabase, SqlSession
from repository.sql_file import SqlChatFileRepository
from repository.sql_migrations import Migration, migrate
from repository.sql_revision import SqlHistoryRevisionRepository
from repository.sql_schema import POSTGRES_TYPES, SQLITE_TYPES, schema_migrations
from repository.sql_session import SqlSandboxSessionRepository
from repository.sql_usage import SqlUsageRepository
from repository.sql_workspace import SqlWorkspaceRepository
from repository.sqlite_database import SqliteDatabase
from usecase.ports.metadata import MetadataStore, Repositories


class SqlRepositories(Repositories):
    """Every repository over one session: a transaction per call, or one for them all."""

    def __init__(self, session: SqlSession) -> None:
        self._workspaces = SqlWorkspaceRepository(session)
        self._chats = SqlChatRepository(session)
        self._files = SqlChatFileRepository(session)
        self._sessions = SqlSandboxSessionRepository(session)
        self._usage = SqlUsageRepository(session)
        self._revisions = SqlHistoryRevisionRepository(session)

    @property
    def workspaces(self) -> SqlWorkspaceRepository:
        return self._workspaces

    @property
    def chats(self) -> SqlChatRepository:
        return self._chats

    @property
    def files(self) -> SqlChatFileRepository:
        return self._files

    @property
    def sessions(self) -> SqlSandboxSessionRepository:
        return self._sessions

    @property
    def usage(self) -> SqlUsageRepository:
        return self._usage

    @property
    def revisions(self) -> SqlHistoryRevisionRepository:
        return self._revisions


class SqlMetadataStore(SqlRepositories, MetadataStore):
    """Every repository over one database, whose schema `open` brings up to date. A unit of
    work is one write transaction of the database: SQLite's `BEGIN IMMEDIATE` on its one
    writer connection, or one PostgreSQL connection's transaction."""

    def __init__(self, db: SqlDatabase, migrations: tuple[Migration, ...]) -> None:
        super().__init__(db)
        self._db = db
        self._migrations = migrations
        self._census = SqlMetadataCensus(db)

    @property
    def census(self) -> SqlMetadataCensus:
        return self._census

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlRepositories]:
        async with self._db.writing() as tx:
            yield SqlRepositories(InTransaction(self._db.codec, tx))

    async def open(self) -> None:
        await self._db.open()
        await migrate(self._db, self._migrations)

    async def ping(self) -> None:
        await self._db.ping()

    async def scrub(self) -> None:
        await self._db.scrub()

    async def close(self) -> None:
        await self._db.close()


def sqlite_metadata_store(path: Path) -> SqlMetadataStore:
    """A store in the SQLite file at `path` (created with its directory on `open`)."""
    return SqlMetadataStore(SqliteDatabase(path), schema_migrations(SQLITE_TYPES))


def postgres_metadata_store(url: str) -> SqlMetadataStore:
    """A store in the PostgreSQL database at `url` (`postgresql://user:pw@host:port/db`)."""
    return SqlMetadataStore(PostgresDatabase(url), schema_migrations(POSTGRES_TYPES))
