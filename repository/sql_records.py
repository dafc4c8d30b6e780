"""Rows to domain records and back, in the column order every statement uses."""

import json

from domain.attachment_name import ChatAttachmentName
from domain.chat import Chat, ForkedFrom
from domain.chat_details import ChatMetadata, ChatTitle
from domain.chat_file import ChatFile
from domain.history_revision import HistoryRevision, RevisionSource
from domain.sandbox_session import SandboxSession
from domain.workspace import Workspace
from repository.sql_database import Row, SqlCodec

WORKSPACE_COLUMNS = "workspace_id, user_id, created_at"
CHAT_COLUMNS = (
    "chat_id, workspace_id, created_at, updated_at, title, metadata,"
    " forked_from_chat_id, forked_from_revision"
)
FILE_COLUMNS = "file_id, chat_id, name, content_type, size_bytes, sha256, created_at"
SESSION_COLUMNS = "session_id, chat_id, started_at, expires_at, ttl_seconds, ended_at"
REVISION_COLUMNS = "chat_id, revision, sha256, size_bytes, source, created_at, run"


def workspace_params(codec: SqlCodec, workspace: Workspace) -> tuple[object, ...]:
    return (
        codec.uuid(workspace.workspace_id),
        codec.uuid(workspace.user_id),
        codec.time(workspace.created_at),
    )


def workspace_of(codec: SqlCodec, row: Row) -> Workspace:
    return Workspace(codec.to_uuid(row[0]), codec.to_uuid(row[1]), codec.to_time(row[2]))


def chat_params(codec: SqlCodec, chat: Chat) -> tuple[object, ...]:
    source = chat.forked_from
    return (
        codec.uuid(chat.chat_id),
        codec.uuid(chat.workspace_id),
        codec.time(chat.created_at),
        codec.time(chat.updated_at),
        None if chat.title is None else chat.title.value,
        json.dumps(dict(chat.metadata), ensure_ascii=False),
        None if source is None else codec.uuid(source.chat_id),
        None if source is None else source.revision,
    )


def chat_of(codec: SqlCodec, row: Row) -> Chat:
    forked_from = None if row[6] is None else ForkedFrom(codec.to_uuid(row[6]), int(row[7]))
    return Chat(
        chat_id=codec.to_uuid(row[0]),
        workspace_id=codec.to_uuid(row[1]),
        created_at=codec.to_time(row[2]),
        updated_at=codec.to_time(row[3]),
        title=None if row[4] is None else ChatTitle(row[4]),
        metadata=ChatMetadata.of(json.loads(row[5])),
        forked_from=forked_from,
    )


def file_params(codec: SqlCodec, chat_file: ChatFile) -> tuple[object, ...]:
    return (
        codec.uuid(chat_file.file_id),
        codec.uuid(chat_file.chat_id),
        chat_file.name.value,
        chat_file.content_type,
        chat_file.size_bytes,
        chat_file.sha256,
        codec.time(chat_file.created_at),
    )


def file_of(codec: SqlCodec, row: Row) -> ChatFile:
    return ChatFile(
        file_id=codec.to_uuid(row[0]),
        chat_id=codec.to_uuid(row[1]),
        name=ChatAttachmentName(row[2]),
        content_type=row[3],
        size_bytes=row[4],
        sha256=row[5],
        created_at=codec.to_time(row[6]),
    )


def session_params(codec: SqlCodec, session: SandboxSession) -> tuple[object, ...]:
    return (
        codec.uuid(session.session_id),
        codec.uuid(session.chat_id),
        codec.time(session.started_at),
        codec.time(session.expires_at),
        session.ttl_seconds,
        None if session.ended_at is None else codec.time(session.ended_at),
    )


def session_of(codec: SqlCodec, row: Row) -> SandboxSession:
    return SandboxSession(
        session_id=codec.to_uuid(row[0]),
        chat_id=codec.to_uuid(row[1]),
        started_at=codec.to_time(row[2]),
        expires_at=codec.to_time(row[3]),
        ttl_seconds=row[4],
        ended_at=None if row[5] is None else codec.to_time(row[5]),
    )


def revision_params(codec: SqlCodec, revision: HistoryRevision) -> tuple[object, ...]:
    return (
        codec.uuid(revision.chat_id),
        revision.revision,
        revision.sha256,
        revision.size_bytes,
        revision.source.value,
        codec.time(revision.created_at),
        revision.run,
    )


def revision_of(codec: SqlCodec, row: Row) -> HistoryRevision:
    return HistoryRevision(
        chat_id=codec.to_uuid(row[0]),
        revision=row[1],
        sha256=row[2],
        size_bytes=row[3],
        source=RevisionSource(row[4]),
        created_at=codec.to_time(row[5]),
        run=row[6],
    )
