"""The metadata store over a SQL database: SQLite on one host, PostgreSQL for many."""

from pathlib import Path

from repository.postgres_database import PostgresDatabase
from repository.sql_chat import SqlChatRepository
from repository.sql_database import SqlDatabase
from repository.sql_file import SqlChatFileRepository
from repository.sql_migrations import Migration, migrate
from repository.sql_schema import POSTGRES_TYPES, SQLITE_TYPES, schema_migrations
from repository.sql_session import SqlSandboxSessionRepository
from repository.sql_usage import SqlUsageRepository
from repository.sql_workspace import SqlWorkspaceRepository
from repository.sqlite_database import SqliteDatabase
from usecase.interface import MetadataStore


class SqlMetadataStore(MetadataStore):
    """Every repository over one database, whose schema `open` brings up to date."""

    def __init__(self, db: SqlDatabase, migrations: tuple[Migration, ...]) -> None:
        self._db = db
        self._migrations = migrations
        self._workspaces = SqlWorkspaceRepository(db)
        self._chats = SqlChatRepository(db)
        self._files = SqlChatFileRepository(db)
        self._sessions = SqlSandboxSessionRepository(db)
        self._usage = SqlUsageRepository(db)

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

    async def open(self) -> None:
        await self._db.open()
        await migrate(self._db, self._migrations)

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        await self._db.close()


def sqlite_metadata_store(path: Path) -> SqlMetadataStore:
    """A store in the SQLite file at `path` (created with its directory on `open`)."""
    return SqlMetadataStore(SqliteDatabase(path), schema_migrations(SQLITE_TYPES))


def postgres_metadata_store(url: str) -> SqlMetadataStore:
    """A store in the PostgreSQL database at `url` (`postgresql://user:pw@host:port/db`)."""
    return SqlMetadataStore(PostgresDatabase(url), schema_migrations(POSTGRES_TYPES))
