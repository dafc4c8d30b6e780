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
        return cls(*_instant_and_id(_unwrapped(token)))


@dataclass(frozen=True, slots=True, order=True)
class RecencyCursor:
    """Position after an item in a list ordered by (updated_at, id), newest first; opaque
    to clients, and never taken for a cursor of the list in creation order."""

    _PREFIX: ClassVar[str] = "updated|"

    updated_at: datetime
    item_id: UUID

    def encode(self) -> str:
        return _wrapped(f"{self._PREFIX}{self.updated_at.isoformat()}|{self.item_id}")

    @classmethod
    def decode(cls, token: str) -> "RecencyCursor":
        raw = _unwrapped(token)
        rest = raw.removeprefix(cls._PREFIX)
        if rest == raw:
            raise InvalidCursorError("cursor is not one this service issued for this order")
        return cls(*_instant_and_id(rest))


def _instant_and_id(raw: str) -> tuple[datetime, UUID]:
    try:
        instant, _, item = raw.partition("|")
        at = datetime.fromisoformat(instant)
        item_id = UUID(item)
    except ValueError as error:
        raise InvalidCursorError("cursor is not one this service issued") from error
    if at.tzinfo is None:
        raise InvalidCursorError("cursor is not one this service issued")
    return at, item_id


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
        return cls(_client_limit(limit), None if cursor is None else PageCursor.decode(cursor))

    def probe(self) -> "PageRequest":
        """The same request for one more item, which tells whether a next page exists."""
        return PageRequest(self.limit + 1, self.after)


@dataclass(frozen=True, slots=True)
class RecentPageRequest:
    """Up to `limit` items of a list newest first by (updated_at, id), strictly after
    `after` in that order, i.e. older than it (from the newest when None)."""

    limit: int = PageRequest.DEFAULT_LIMIT
    after: RecencyCursor | None = None

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise InvalidInputError("limit must be positive")

    @classmethod
    def from_token(cls, limit: int, cursor: str | None) -> "RecentPageRequest":
        """A client's page request: `limit` within the contract's bounds, `cursor` as issued."""
        return cls(_client_limit(limit), None if cursor is None else RecencyCursor.decode(cursor))

    def probe(self) -> "RecentPageRequest":
        """The same request for one more item, which tells whether a next page exists."""
        return RecentPageRequest(self.limit + 1, self.after)


def _client_limit(limit: int) -> int:
    if not PageRequest.MIN_LIMIT <= limit <= PageRequest.MAX_LIMIT:
        raise InvalidInputError(
            f"limit must be between {PageRequest.MIN_LIMIT} and {PageRequest.MAX_LIMIT}"
        )
    return limit


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def page_of(
    items: Sequence[T], limit: int, cursor_of: Callable[[T], PageCursor | RecencyCursor]
) -> Page[T]:
    """The page of `limit` items from a probe that fetched up to `limit + 1`."""
    if len(items) > limit:
        kept = items[:limit]
        return Page(kept, cursor_of(kept[-1]).encode())
    return Page(items, None)
