"""The resources of the HTTP contract, and what history and download calls return.

Models ignore fields they do not know, and take values of an enum they do not know as
plain strings, so a newer service's answers still parse.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Generic, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Workspace(_Resource):
    workspace_id: UUID
    user_id: UUID
    created_at: datetime


class WorkspaceUsage(_Resource):
    """`used_bytes` counts the chat directories, `revision_bytes` what history revisions keep
    beyond them; the quota bounds the two together."""

    workspace_id: UUID
    used_bytes: int
    revision_bytes: int
    quota_bytes: int


class ForkedFrom(_Resource):
    """The chat, and the revision of its history, a chat was forked from."""

    chat_id: UUID
    revision: int


class Chat(_Resource):
    """`updated_at`: the last change of the chat's history, attachments, title or metadata
    (its `created_at` until then). `metadata`: string keys to string values."""

    chat_id: UUID
    workspace_id: UUID
    created_at: datetime
    updated_at: datetime | None = None
    title: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    forked_from: ForkedFrom | None = None


class ChatOrder(StrEnum):
    """The orders the chat list comes in: by creation, oldest first (the default), or by
    the last change, newest first (a sidebar)."""

    CREATED = "created"
    RECENTLY_UPDATED = "-updated"


class ChatFile(_Resource):
    file_id: UUID
    chat_id: UUID
    name: str
    content_type: str | None
    size_bytes: int
    sha256: str
    created_at: datetime


class SandboxSession(_Resource):
    session_id: UUID
    chat_id: UUID
    started_at: datetime
    expires_at: datetime


class RevisionSource(StrEnum):
    """The change of a chat's history that made a revision."""

    CREATE = "create"
    PUT = "put"
    APPEND = "append"
    RESTORE = "restore"
    FORK = "fork"
    IMPORT = "import"
    SANDBOX = "sandbox"


def _known_source(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return RevisionSource(value)
    except ValueError:
        return value


class HistoryRevision(_Resource):
    """One version of a chat's history: `revision` counts from 0 (the empty history a chat
    starts with) per chat; `etag` is the history ETag it had. `source` is a
    `RevisionSource`, or the plain string of a source a newer service added (a
    `RevisionSource` is a string too, so `source == "put"` reads either)."""

    revision: int
    etag: str
    size_bytes: int
    source: Annotated[RevisionSource | str, BeforeValidator(_known_source)]
    created_at: datetime


T = TypeVar("T")


class Page(_Resource, Generic[T]):
    """One page of a list; `next_cursor` fetches the next, and is None on the last."""

    items: list[T]
    next_cursor: str | None


class ItemList(_Resource, Generic[T]):
    """`{items: [...]}`, the answer of an upload and of a rescan."""

    items: list[T]


@dataclass(frozen=True, slots=True)
class History:
    """A chat's `history.md` and the strong ETag that names this content."""

    content: str
    etag: str


class HistoryWritten(str):
    """The answer to a change of the history (put, append, restore): its new ETag, which is
    this string itself, and `revision`, the number of the revision the change made.

    Being the ETag, it goes as is into `if_match=` and compares equal to the ETag string
    (two of them are equal when they name the same content, whatever their revisions).
    """

    _revision: int

    def __new__(cls, etag: str, revision: int) -> Self:
        written = super().__new__(cls, etag)
        object.__setattr__(written, "_revision", revision)
        return written

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def etag(self) -> str:
        """The ETag as a plain `str`."""
        return str(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)}, revision={self.revision})"

    def __reduce__(self) -> tuple[type[Self], tuple[str, int]]:
        return type(self), (str(self), self.revision)


@dataclass(frozen=True, slots=True)
class NotModified:
    """The answer to a conditional GET whose ETag is still current (`304`)."""

    etag: str


@dataclass(frozen=True, slots=True)
class DownloadInfo:
    """The metadata headers of a file download.

    `status` is 200 for the whole file, 206 for a range (then `content_range` is
    `bytes <first>-<last>/<size>`). `content_length` is the length of this answer's body.
    """

    status: int
    etag: str | None
    content_type: str | None
    content_length: int | None
    content_range: str | None
    content_disposition: str | None

    @property
    def partial(self) -> bool:
        return self.status == 206
