import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import UUID

from usecase.ports.runtime import KeyedLock


@dataclass(slots=True)
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Holders plus waiters: the entry is dropped when the last of them leaves, however it leaves.
    users: int = 0


class InProcessKeyedLock(KeyedLock):
    """One asyncio.Lock per key in use, for the tasks of one event loop.

    It does not exclude other worker processes. asyncio.Lock serves waiters in arrival order
    and, when a waiter is cancelled, hands the lock to the next one.
    """

    def __init__(self) -> None:
        self._entries: dict[UUID, _Entry] = {}

    def __len__(self) -> int:
        """How many keys are held or waited for right now."""
        return len(self._entries)

    @asynccontextmanager
    async def hold(self, key: UUID) -> AsyncIterator[None]:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]
