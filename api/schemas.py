"""The JSON shapes of the HTTP contract, read straight from domain objects."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from domain.chat_details import ChatMetadata, ChatPatch, ChatTitle
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


def _plain_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _plain_dict(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


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


# A chat's title and metadata on the wire, with the limits the domain checks again.
TitleText = Annotated[
    str,
    Field(
        max_length=ChatTitle.MAX_LENGTH,
        description=f"At most {ChatTitle.MAX_LENGTH} characters, no control characters.",
    ),
]
MetadataKey = Annotated[
    str, StringConstraints(min_length=1, max_length=ChatMetadata.MAX_KEY_LENGTH)
]
MetadataValue = Annotated[str, StringConstraints(max_length=ChatMetadata.MAX_VALUE_LENGTH)]
_METADATA_DESCRIPTION = (
    f"At most {ChatMetadata.MAX_KEYS} keys of 1 to {ChatMetadata.MAX_KEY_LENGTH} characters,"
    f" each a string of at most {ChatMetadata.MAX_VALUE_LENGTH}."
)


class ChatOut(_FromDomain):
    chat_id: UUID
    workspace_id: UUID
    created_at: Timestamp
    updated_at: Timestamp
    title: Annotated[str | None, BeforeValidator(_plain_or_none)]
    metadata: Annotated[
        dict[str, str], BeforeValidator(_plain_dict), Field(description=_METADATA_DESCRIPTION)
    ]
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


class ChatList(BaseModel):
    items: list[ChatOut]


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


class ChatCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: TitleText | None = None
    metadata: Annotated[
        dict[MetadataKey, MetadataValue],
        Field(max_length=ChatMetadata.MAX_KEYS, description=_METADATA_DESCRIPTION),
    ] = Field(default_factory=dict)

    def title_value(self) -> ChatTitle | None:
        return None if self.title is None else ChatTitle(self.title)

    def metadata_value(self) -> ChatMetadata:
        return ChatMetadata.of(self.metadata)


class ChatPatchRequest(BaseModel):
    """A JSON merge patch (RFC 7396) of a chat: a member left out is left as it is, a
    `title` of null removes the title, a metadata key set to null is removed, and a
    `metadata` of null removes every key."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: TitleText | None = None
    metadata: Annotated[
        dict[MetadataKey, MetadataValue | None] | None,
        Field(description="Merged key by key into the chat's metadata. " + _METADATA_DESCRIPTION),
    ] = None

    def patch(self) -> ChatPatch:
        given = self.model_fields_set
        return ChatPatch(
            sets_title="title" in given,
            title=None if self.title is None else ChatTitle(self.title),
            clears_metadata="metadata" in given and self.metadata is None,
            metadata=self.metadata,
        )


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
