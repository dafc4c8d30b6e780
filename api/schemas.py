"""The JSON shapes of the HTTP contract, read straight from domain objects."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from domain.sandbox_session import SandboxSession


def _rfc3339(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


# The serializer returns a str, which alone would describe the field as a plain string.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# ChatAttachmentName (or any value object) answers as its plain string.
PlainName = Annotated[str, BeforeValidator(str)]


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class WorkspaceOut(_FromDomain):
    workspace_id: UUID
    user_id: UUID
    created_at: Timestamp


class WorkspaceUsageOut(_FromDomain):
    workspace_id: UUID
    used_bytes: int
    revision_bytes: int
    quota_bytes: int


class ForkedFromOut(_FromDomain):
    chat_id: UUID
    revision: int


class ChatOut(_FromDomain):
    chat_id: UUID
    workspace_id: UUID
    created_at: Timestamp
    forked_from: ForkedFromOut | None


class ChatFileOut(_FromDomain):
    file_id: UUID
    chat_id: UUID
    name: PlainName
    content_type: str | None
    size_bytes: int
    sha256: str
    created_at: Timestamp


class SandboxSessionOut(_FromDomain):
    session_id: UUID
    chat_id: UUID
    started_at: Timestamp
    expires_at: Timestamp


class ChatPage(_FromDomain):
    items: list[ChatOut]
    next_cursor: str | None


class ChatFilePage(_FromDomain):
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


class ForkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: Annotated[int | None, Field(ge=0, description="Defaults to the current one.")] = None
    attachments: bool = True


class HealthOut(BaseModel):
    status: str


class HistoryRevisionOut(_FromDomain):
    revision: int
    etag: str
    size_bytes: int
    source: str
    created_at: Timestamp


class HistoryRevisionPage(_FromDomain):
    items: list[HistoryRevisionOut]
    next_cursor: str | None
