"""A small versioned-schema runner: numbered migrations, applied in order at start-up."""

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import StorageUnavailableError
from repository.sql_database import SqlDatabase

# Held while migrating, so that instances starting together migrate one after the other.
MIGRATION_LOCK_KEY = 0x6368_6174_7374_6F72  # "chatstor"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


async def migrate(db: SqlDatabase, migrations: Sequence[Migration]) -> int:
    """Bring the schema to the last of `migrations` in one transaction; returns the version.

    Raises StorageUnavailableError, touching nothing, when the database is already past it."""
    latest = migrations[-1].version
    async with db.writing() as tx:
        await tx.lock(MIGRATION_LOCK_KEY)
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, description TEXT NOT NULL)"
        )
        row = await tx.fetchrow("SELECT max(version) FROM schema_migrations")
        current = 0 if row is None or row[0] is None else int(row[0])
        if current > latest:
            raise StorageUnavailableError(
                f"metadata schema is at version {current}, newer than version {latest} that"
                " this chatstore knows; run a newer chatstore against it"
            )
        for migration in migrations:
            if migration.version <= current:
                continue
            for statement in migration.statements:
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                migration.version,
                migration.description,
            )
    return latest
