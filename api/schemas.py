"""The JSON shapes of the HTTP contract, built from domain objects."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.sandbox_session import SandboxSession
from domain.workspace import Workspace, WorkspaceUsage


def _rfc3339(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


Timestamp = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str)]


class WorkspaceOut(BaseModel):
    workspace_id: UUID
    user_id: UUID
    created_at: Timestamp

    @classmethod
    def of(cls, workspace: Workspace) -> "WorkspaceOut":
        return cls(
            workspace_id=workspace.workspace_id,
            user_id=workspace.user_id,
            created_at=workspace.created_at,
        )


class WorkspaceUsageOut(BaseModel):
    workspace_id: UUID
    used_bytes: int
    quota_bytes: int

    @classmethod
    def of(cls, usage: WorkspaceUsage) -> "WorkspaceUsageOut":
        return cls(
            workspace_id=usage.workspace_id,
            used_bytes=usage.used_bytes,
            quota_bytes=usage.quota_bytes,
        )


class ChatOut(BaseModel):
    chat_id: UUID
    workspace_id: UUID
    created_at: Timestamp

    @classmethod
    def of(cls, chat: Chat) -> "ChatOut":
        return cls(chat_id=chat.chat_id, workspace_id=chat.workspace_id, created_at=chat.created_at)


class ChatFileOut(BaseModel):
    file_id: UUID
    chat_id: UUID
    name: str
    content_type: str | None
    size_bytes: int
    sha256: str
    created_at: Timestamp

    @classmethod
    def of(cls, record: ChatFile) -> "ChatFileOut":
        return cls(
            file_id=record.file_id,
            chat_id=record.chat_id,
            name=record.name.value,
            content_type=record.content_type,
            size_bytes=record.size_bytes,
            sha256=record.sha256,
            created_at=record.created_at,
        )


class SandboxSessionOut(BaseModel):
    session_id: UUID
    chat_id: UUID
    started_at: Timestamp
    expires_at: Timestamp

    @classmethod
    def of(cls, session: SandboxSession) -> "SandboxSessionOut":
        return cls(
            session_id=session.session_id,
            chat_id=session.chat_id,
            started_at=session.started_at,
            expires_at=session.expires_at,
        )


class ChatPage(BaseModel):
    items: list[ChatOut]
    next_cursor: str | None


class ChatFilePage(BaseModel):
    items: list[ChatFileOut]
    next_cursor: str | None


class ChatFileList(BaseModel):
    items: list[ChatFileOut]


class SandboxSessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl_seconds: Annotated[
        int | None,
        Field(ge=SandboxSession.TTL_MIN_SECONDS, le=SandboxSession.TTL_MAX_SECONDS),
    ] = None


class HealthOut(BaseModel):
    status: str
