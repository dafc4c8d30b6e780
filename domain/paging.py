import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Generic, TypeVar
from uuid import UUID

from domain.errors import InvalidCursorError, InvalidInputError

T = TypeVar("T")


@dataclass(frozen=True, slots=True, order=True)
class PageCursor:
    """Position after an item in a list ordered by (created_at, id); opaque to clients."""

    created_at: datetime
    item_id: UUID

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.item_id}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "PageCursor":
        try:
            padded = token + "=" * (-len(token) % 4)
            raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
            created, _, item = raw.partition("|")
            created_at = datetime.fromisoformat(created)
            item_id = UUID(item)
        except (ValueError, binascii.Error, UnicodeError) as error:
            raise InvalidCursorError("cursor is not one this service issued") from error
        if created_at.tzinfo is None:
            raise InvalidCursorError("cursor is not one this service issued")
        return cls(created_at, item_id)


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Up to `limit` items strictly after `after` (from the start when None)."""

    MIN_LIMIT: ClassVar[int] = 1
    MAX_LIMIT: ClassVar[int] = 1000
    DEFAULT_LIMIT: ClassVar[int] = 100

    limit: int = DEFAULT_LIMIT
    after: PageCursor | None = None

    def __post_init__(self) -> None:
        if not self.MIN_LIMIT <= self.limit <= self.MAX_LIMIT:
            raise InvalidInputError(f"limit must be between {self.MIN_LIMIT} and {self.MAX_LIMIT}")

    @classmethod
    def from_token(cls, limit: int, cursor: str | None) -> "PageRequest":
        return cls(limit, None if cursor is None else PageCursor.decode(cursor))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None
