"""The workspace quota's one home: what a write may still add while its bytes stream, the
reservation a write makes under the chat's lock, and the bytes given back when a write is
refused after reserving or a delete frees them. The figures themselves live in the
UsageRepository, which applies each change atomically."""

from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import QuotaExceededError
from usecase.interface import UsageRepository


def quota_exceeded(what: str = "the write") -> QuotaExceededError:
    return QuotaExceededError(f"{what} would take the workspace over its quota")


@dataclass(frozen=True, slots=True)
class QuotaLedger:
    usage: UsageRepository
    quota_bytes: int

    async def budget(self, workspace_id: UUID, replaced_bytes: int = 0) -> int:
        """The bytes a write may still stream in, given that it would replace
        `replaced_bytes` already counted. Checked again, atomically, when it reserves."""
        return self.quota_bytes - await self.usage.used_bytes(workspace_id) + replaced_bytes

    async def reserve(self, chat: Chat, delta_bytes: int, what: str = "the write") -> None:
        """Count `delta_bytes` more for the chat, or raise QuotaExceededError and count
        nothing if that takes the workspace over its quota (a delta of 0 or less always
        applies)."""
        if not await self.usage.try_add(
            chat.workspace_id, chat.chat_id, delta_bytes, self.quota_bytes
        ):
            raise quota_exceeded(what)

    async def give_back(self, chat: Chat, freed_bytes: int) -> None:
        """Count `freed_bytes` less for the chat: a reservation whose write was refused, or
        the bytes a delete removed. Always applies."""
        if freed_bytes:
            await self.usage.try_add(
                chat.workspace_id, chat.chat_id, -freed_bytes, self.quota_bytes
            )

    async def try_count_history(self, chat: Chat, size_bytes: int) -> bool:
        """Count `size_bytes` as the chat's history in place of what was counted, unless
        that takes the workspace over its quota. Returns whether it applied."""
        return await self.usage.try_set_history(
            chat.workspace_id, chat.chat_id, size_bytes, self.quota_bytes
        )

    async def restore_history(self, chat: Chat, size_bytes: int) -> None:
        """Count `size_bytes` as the chat's history again (a write refused after counting)."""
        await self.usage.try_set_history(chat.workspace_id, chat.chat_id, size_bytes, None)
