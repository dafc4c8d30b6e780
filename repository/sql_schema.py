"""The metadata schema, one migration per version, written once for both databases.

Column types differ by database: SQLite keeps ids as 16-byte BLOBs (byte order is UUID
order) and instants as integer microseconds since the epoch (number order is time order);
PostgreSQL has uuid and timestamptz. Append new versions; never edit a released one.
"""

from dataclasses import dataclass

from domain.chat_details import ChatTitle
from repository.sql_migrations import Migration


@dataclass(frozen=True, slots=True)
class ColumnTypes:
    uuid: str
    time: str
    int64: str
    # A literal of `time` that a NOT NULL column added to existing rows starts at.
    epoch: str


SQLITE_TYPES = ColumnTypes(uuid="BLOB", time="INTEGER", int64="INTEGER", epoch="0")
POSTGRES_TYPES = ColumnTypes(uuid="uuid", time="timestamptz", int64="bigint", epoch="'epoch'")

_VERSION_1 = (
    """CREATE TABLE workspaces (
        workspace_id {uuid} PRIMARY KEY,
        user_id {uuid} NOT NULL UNIQUE,
        created_at {time} NOT NULL
    )""",
    """CREATE TABLE chats (
        chat_id {uuid} PRIMARY KEY,
        workspace_id {uuid} NOT NULL REFERENCES workspaces (workspace_id),
        created_at {time} NOT NULL
    )""",
    "CREATE INDEX chats_by_workspace ON chats (workspace_id, created_at, chat_id)",
    """CREATE TABLE chat_files (
        file_id {uuid} PRIMARY KEY,
        chat_id {uuid} NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        content_type TEXT,
        size_bytes {int64} NOT NULL CHECK (size_bytes >= 0),
        sha256 TEXT NOT NULL,
        created_at {time} NOT NULL,
        UNIQUE (chat_id, name)
    )""",
    "CREATE INDEX chat_files_by_chat ON chat_files (chat_id, created_at, file_id)",
    # No foreign keys below: a chat's sessions and usage outlive its record until its
    # bytes are gone (see DeleteChat).
    """CREATE TABLE sandbox_sessions (
        session_id {uuid} PRIMARY KEY,
        chat_id {uuid} NOT NULL,
        started_at {time} NOT NULL,
        expires_at {time} NOT NULL,
        ttl_seconds INTEGER NOT NULL,
        ended_at {time}
    )""",
    "CREATE INDEX sandbox_sessions_by_chat ON sandbox_sessions (chat_id, started_at)",
    """CREATE TABLE chat_usage (
        chat_id {uuid} PRIMARY KEY,
        workspace_id {uuid} NOT NULL,
        used_bytes {int64} NOT NULL CHECK (used_bytes >= 0),
        history_bytes {int64} NOT NULL CHECK (history_bytes >= 0)
    )""",
    """CREATE TABLE workspace_usage (
        workspace_id {uuid} PRIMARY KEY,
        used_bytes {int64} NOT NULL
    )""",
)

# A chat's revisions go with its record, as its file records do; the primary key is the
# index every lookup and listing of them scans.
_VERSION_2 = (
    """CREATE TABLE history_revisions (
        chat_id {uuid} NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
        revision {int64} NOT NULL CHECK (revision >= 0),
        sha256 TEXT NOT NULL,
        size_bytes {int64} NOT NULL CHECK (size_bytes >= 0),
        source TEXT NOT NULL,
        created_at {time} NOT NULL,
        run {int64} NOT NULL CHECK (run >= 0 AND run <= revision),
        PRIMARY KEY (chat_id, revision)
    )""",
)

# What a chat's revisions keep on disk beyond its history, and its workspace's sum of that
# beside the sum of used bytes, so the quota check still reads one row. Existing rows start
# at 0: no earlier build counted revision bytes.
_VERSION_3 = (
    """ALTER TABLE chat_usage ADD COLUMN
        revision_bytes {int64} NOT NULL DEFAULT 0 CHECK (revision_bytes >= 0)""",
    "ALTER TABLE workspace_usage ADD COLUMN revision_bytes {int64} NOT NULL DEFAULT 0",
)

# The chat and revision a chat was forked from; no reference, since the source may be
# deleted while its forks live on. Existing chats were forked from nothing.
_VERSION_4 = (
    "ALTER TABLE chats ADD COLUMN forked_from_chat_id {uuid}",
    "ALTER TABLE chats ADD COLUMN forked_from_revision {int64}",
)

# What a product shows of a chat, and when it last changed: an existing chat has no title,
# no metadata, and was last changed when it was made. Metadata is a JSON object as text
# (its limits are the domain's, checked before it is saved). The index serves the list
# newest first as a backward range scan, as chats_by_workspace serves the list by creation.
_VERSION_5 = (
    "ALTER TABLE chats ADD COLUMN updated_at {time} NOT NULL DEFAULT {epoch}",
    "UPDATE chats SET updated_at = created_at",
    f"""ALTER TABLE chats ADD COLUMN
        title TEXT CHECK (title IS NULL OR length(title) <= {ChatTitle.MAX_LENGTH})""",
    "ALTER TABLE chats ADD COLUMN metadata TEXT NOT NULL DEFAULT '{{}}'",
    "CREATE INDEX chats_by_workspace_updated ON chats (workspace_id, updated_at, chat_id)",
)


def schema_migrations(types: ColumnTypes) -> tuple[Migration, ...]:
    def typed(statements: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(
            statement.format(uuid=types.uuid, time=types.time, int64=types.int64, epoch=types.epoch)
            for statement in statements
        )

    return (
        Migration(
            1,
            "workspaces, chats, chat files, sandbox sessions and the usage ledger",
            typed(_VERSION_1),
        ),
        Migration(2, "history revisions", typed(_VERSION_2)),
        Migration(3, "revision bytes in the usage ledger", typed(_VERSION_3)),
        Migration(4, "the chat a chat was forked from", typed(_VERSION_4)),
        Migration(5, "chat titles, metadata and the time of the last change", typed(_VERSION_5)),
    )
