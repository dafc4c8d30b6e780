from dataclasses import dataclass
from uuid import UUID

from domain.errors import SandboxAlreadyActiveError, SandboxSessionNotFoundError
from domain.sandbox_session import SandboxSession
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock, IdGenerator
from usecase.reconcile import ChatFileReconciler


@dataclass(frozen=True, slots=True)
class StartSandboxSession:
    metadata: MetadataStore
    ids: IdGenerator
    clock: Clock
    guard: ChatGuard

    async def __call__(
        self, user_id: UUID, chat_id: UUID, ttl_seconds: int | None
    ) -> SandboxSession:
        SandboxSession.checked_ttl(ttl_seconds)
        async with self.guard.held(user_id, chat_id):
            now = self.clock.now()
            session = SandboxSession.start(self.ids.new_id(), chat_id, now, ttl_seconds)
            if not await self.metadata.sessions.add(session, now):
                raise SandboxAlreadyActiveError(f"chat {chat_id} already has an active sandbox")
            return session


@dataclass(frozen=True, slots=True)
class GetActiveSandboxSession:
    access: ChatAccess
    metadata: MetadataStore
    clock: Clock

    async def __call__(self, user_id: UUID, chat_id: UUID) -> SandboxSession:
        await self.access.chat(user_id, chat_id)
        session = await self.metadata.sessions.get_active_by_chat_id(chat_id, self.clock.now())
        if session is None:
            raise SandboxSessionNotFoundError(f"chat {chat_id} has no active sandbox session")
        return session


def _not_found(session_id: UUID) -> SandboxSessionNotFoundError:
    return SandboxSessionNotFoundError(f"sandbox session {session_id} not found")


@dataclass(frozen=True, slots=True)
class HeartbeatSandboxSession:
    """Move an active session's expiry to now + ttl; an ended or expired one is gone."""

    metadata: MetadataStore
    clock: Clock
    guard: ChatGuard

    async def __call__(
        self, user_id: UUID, chat_id: UUID, session_id: UUID, ttl_seconds: int | None
    ) -> SandboxSession:
        SandboxSession.checked_ttl(ttl_seconds)
        async with self.guard.held(user_id, chat_id):
            session = await self.metadata.sessions.get(session_id)
            now = self.clock.now()
            if session is None or session.chat_id != chat_id or not session.is_active(now):
                raise _not_found(session_id)
            extended = session.extended(now, ttl_seconds)
            await self.metadata.sessions.save(extended)
            return extended


@dataclass(frozen=True, slots=True)
class EndSandboxSession:
    """Rescan the chat's files (the sandbox wrote there behind the service's back), then
    end the session. An expired session can be ended too: its sandbox is done."""

    metadata: MetadataStore
    reconciler: ChatFileReconciler
    clock: Clock
    guard: ChatGuard

    async def __call__(self, user_id: UUID, chat_id: UUID, session_id: UUID) -> None:
        async with self.guard.held(user_id, chat_id) as chat:
            session = await self.metadata.sessions.get(session_id)
            if session is None or session.chat_id != chat_id or session.ended_at is not None:
                raise _not_found(session_id)
            # Rescan first: if the disk fails, the session is still there to end on a retry.
            async with self.guard.marked(chat):
                await self.reconciler.reconcile(chat)
            await self.metadata.sessions.save(session.ended(self.clock.now()))
