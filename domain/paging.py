import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic, TypeVar
from uuid import UUID

from domain.errors import InvalidCursorError, InvalidInputError

T = TypeVar("T")


def _wrapped(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def _unwrapped(token: str) -> str:
    """What `_wrapped` made `token` of; InvalidCursorError when it made no such token."""
    try:
        padded = token + "=" * (-len(token) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError) as error:
        raise InvalidCursorError("cursor is not one this service issued") from error


@dataclass(frozen=True, slots=True, order=True)
class PageCursor:
    """Position after an item in a list ordered by (created_at, id); opaque to clients."""

    created_at: datetime
    item_id: UUID

    def encode(self) -> str:
        return _wrapped(f"{self.created_at.isoformat()}|{self.item_id}")

    @classmethod
    def decode(cls, token: str) -> "PageCursor":
        raw = _unwrapped(token)
        try:
            created, _, item = raw.partition("|")
            created_at = datetime.fromisoformat(created)
            item_id = UUID(item)
        except ValueError as error:
            raise InvalidCursorError("cursor is not one this service issued") from error
        if created_at.tzinfo is None:
            raise InvalidCursorError("cursor is not one this service issued")
        return cls(created_at, item_id)


@dataclass(frozen=True, slots=True)
class RevisionCursor:
    """Position after a revision in a list of a chat's revisions, newest first; opaque to
    clients, and never taken for a cursor of another list."""

    _PREFIX: ClassVar[str] = "revision|"

    revision: int

    def encode(self) -> str:
        return _wrapped(f"{self._PREFIX}{self.revision}")

    @classmethod
    def decode(cls, token: str) -> "RevisionCursor":
        raw = _unwrapped(token)
        number = raw.removeprefix(cls._PREFIX)
        if number == raw or not number.isdigit() or not number.isascii():
            raise InvalidCursorError("cursor is not one this service issued")
        return cls(int(number))


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Up to `limit` items strictly after `after` (from the start when None)."""

    MIN_LIMIT: ClassVar[int] = 1
    MAX_LIMIT: ClassVar[int] = 1000
    DEFAULT_LIMIT: ClassVar[int] = 100

    limit: int = DEFAULT_LIMIT
    after: PageCursor | None = None

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise InvalidInputError("limit must be positive")

    @classmethod
    def from_token(cls, limit: int, cursor: str | None) -> "PageRequest":
        """A client's page request: `limit` within the contract's bounds, `cursor` as issued."""
        if not cls.MIN_LIMIT <= limit <= cls.MAX_LIMIT:
            raise InvalidInputError(f"limit must be between {cls.MIN_LIMIT} and {cls.MAX_LIMIT}")
        return cls(limit, None if cursor is None else PageCursor.decode(cursor))

    def probe(self) -> "PageRequest":
        """The same request for one more item, which tells whether a next page exists."""
        return PageRequest(self.limit + 1, self.after)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def page_of(items: Sequence[T], limit: int, cursor_of: Callable[[T], PageCursor]) -> Page[T]:
    """The page of `limit` items from a probe that fetched up to `limit + 1`."""
    if len(items) > limit:
        kept = items[:limit]
        return Page(kept, cursor_of(kept[-1]).encode())
    return Page(items, None)
