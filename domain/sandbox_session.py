from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import ClassVar
from uuid import UUID

from domain.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class SandboxSession:
    """A lease a sandbox holds on a chat while it works in the chat's directory.

    Active while not ended and not yet expired; at most one is active per chat.
    """

    TTL_MIN_SECONDS: ClassVar[int] = 1
    TTL_MAX_SECONDS: ClassVar[int] = 86_400
    TTL_DEFAULT_SECONDS: ClassVar[int] = 3_600

    session_id: UUID
    chat_id: UUID
    started_at: datetime
    expires_at: datetime
    ttl_seconds: int
    ended_at: datetime | None = None

    @classmethod
    def start(
        cls, session_id: UUID, chat_id: UUID, now: datetime, ttl_seconds: int | None
    ) -> "SandboxSession":
        ttl = cls.checked_ttl(ttl_seconds)
        return cls(session_id, chat_id, now, now + timedelta(seconds=ttl), ttl)

    @classmethod
    def checked_ttl(cls, ttl_seconds: int | None) -> int:
        if ttl_seconds is None:
            return cls.TTL_DEFAULT_SECONDS
        if not cls.TTL_MIN_SECONDS <= ttl_seconds <= cls.TTL_MAX_SECONDS:
            raise InvalidInputError(
                f"ttl_seconds must be between {cls.TTL_MIN_SECONDS} and {cls.TTL_MAX_SECONDS}"
            )
        return ttl_seconds

    def is_active(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at

    def extended(self, now: datetime, ttl_seconds: int | None) -> "SandboxSession":
        """The session with `expires_at` moved to now + ttl (the starting ttl by default)."""
        ttl = self.ttl_seconds if ttl_seconds is None else self.checked_ttl(ttl_seconds)
        return replace(self, expires_at=now + timedelta(seconds=ttl))

    def ended(self, now: datetime) -> "SandboxSession":
        return replace(self, ended_at=now)
