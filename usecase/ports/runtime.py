"""What a use case needs from the machine it runs on: ids, time and locks."""

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID


class IdGenerator(Protocol):
    def new_id(self) -> UUID: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class KeyedLock(Protocol):
    def hold(self, key: UUID) -> AbstractAsyncContextManager[None]:
        """Exclusive hold on `key` for the duration of the `async with` block.

        Holders of different keys never wait for each other; holders of one key are served
        one at a time, in arrival order.
        """
        ...
