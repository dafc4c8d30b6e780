from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from domain.sandbox_session import SandboxSession
from repository.memory_undo import put, remove
from usecase.ports.records import SandboxSessionRepository


class InMemorySandboxSessionRepository(SandboxSessionRepository):
    def __init__(self) -> None:
        self._by_id: dict[UUID, SandboxSession] = {}
        self._ids_by_chat: dict[UUID, frozenset[UUID]] = {}

    async def get(self, session_id: UUID) -> SandboxSession | None:
        return self._by_id.get(session_id)

    async def get_active_by_chat_id(self, chat_id: UUID, now: datetime) -> SandboxSession | None:
        return self._find_active(chat_id, now)

    async def add(self, session: SandboxSession, now: datetime) -> bool:
        if self._find_active(session.chat_id, now) is not None:
            return False
        self._put(session)
        return True

    async def save(self, session: SandboxSession) -> None:
        """Update a stored session; an unknown one is ignored, so that a save can never
        create a session behind `add`'s check (or revive one whose chat was deleted)."""
        if session.session_id in self._by_id:
            self._put(session)

    async def delete_by_chat_id(self, chat_id: UUID) -> None:
        for session_id in remove(self._ids_by_chat, chat_id) or ():
            remove(self._by_id, session_id)

    async def get_active_by_chat_ids(
        self, chat_ids: Collection[UUID], now: datetime
    ) -> SandboxSession | None:
        return _newest(
            [found for chat_id in chat_ids if (found := self._find_active(chat_id, now))]
        )

    async def delete_by_chat_ids(self, chat_ids: Collection[UUID]) -> None:
        for chat_id in chat_ids:
            await self.delete_by_chat_id(chat_id)

    def _find_active(self, chat_id: UUID, now: datetime) -> SandboxSession | None:
        sessions = (self._by_id[session_id] for session_id in self._ids_by_chat.get(chat_id, ()))
        return _newest([session for session in sessions if session.is_active(now)])

    def _put(self, session: SandboxSession) -> None:
        previous = self._by_id.get(session.session_id)
        if previous is not None and previous.chat_id != session.chat_id:
            siblings = self._ids_by_chat[previous.chat_id] - {session.session_id}
            if siblings:
                put(self._ids_by_chat, previous.chat_id, siblings)
            else:
                remove(self._ids_by_chat, previous.chat_id)
        put(self._by_id, session.session_id, session)
        siblings = self._ids_by_chat.get(session.chat_id, frozenset())
        put(self._ids_by_chat, session.chat_id, siblings | {session.session_id})


def _newest(active: list[SandboxSession]) -> SandboxSession | None:
    # `add` keeps one active at its own `now`; an earlier `now` may see more, so the newest
    # wins to answer the same every time.
    return max(active, key=lambda session: (session.started_at, session.session_id), default=None)
