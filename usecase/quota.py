"""The workspace quota's one home: what a write may still add while its bytes stream, the
reservation a write makes under the chat's lock before its bytes go in place, the refund
of a reservation whose bytes never did, and the release of the bytes a delete frees. The
figures themselves live in the UsageRepository, which applies each change atomically.

A write reserves in a transaction of its own, before its bytes, because the quota must
hold while they go in place and no transaction spans file I/O (ADR 0018); a delete
releases inside the unit of work that removes its records."""

from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.errors import QuotaExceededError
from usecase.ports.metadata import Repositories
from usecase.ports.usage import UsageRepository


def quota_exceeded(what: str = "the write") -> QuotaExceededError:
    return QuotaExceededError(f"{what} would take the workspace over its quota")


def fits_beside(others_bytes: int, size_bytes: int, quota_bytes: int) -> bool:
    """Whether a figure counted whole, such as a history, fits in the quota beside the
    `others_bytes` the rest of the workspace uses."""
    return others_bytes + size_bytes <= quota_bytes


@dataclass(frozen=True, slots=True)
class QuotaLedger:
    usage: UsageRepository
    quota_bytes: int

    async def budget(self, workspace_id: UUID, replaced_bytes: int = 0) -> int:
        """The bytes a write may still stream in, given that it would replace
        `replaced_bytes` already counted. Checked again, atomically, when it reserves."""
        return self.quota_bytes - await self.usage.charged_bytes(workspace_id) + replaced_bytes

    async def history_budget(self, workspace_id: UUID, chat_id: UUID) -> int:
        """The bytes a new history of the chat may stream in: the quota less what the
        workspace is charged, plus the history it would replace (one read of the store)."""
        standing = await self.usage.chat_standing(workspace_id, chat_id)
        return self.quota_bytes - standing.workspace.charged_bytes + standing.history_bytes

    async def reserve(self, chat: Chat, delta_bytes: int, what: str = "the write") -> None:
        """Count `delta_bytes` more for the chat, or raise QuotaExceededError and count
        nothing if that takes the workspace over its quota (a delta of 0 or less always
        applies)."""
        if not await self.usage.try_add(
            chat.workspace_id, chat.chat_id, delta_bytes, self.quota_bytes
        ):
            raise quota_exceeded(what)

    async def refund(self, chat: Chat, reserved_bytes: int) -> None:
        """Count less the `reserved_bytes` a write reserved and then never put in place."""
        await self._count_less(chat, reserved_bytes)

    async def release(self, chat: Chat, freed_bytes: int) -> None:
        """Count less the `freed_bytes` a delete removed."""
        await self._count_less(chat, freed_bytes)

    def in_unit(self, records: Repositories) -> "QuotaLedger":
        """This ledger over the usage of a unit of work, so its changes commit with it."""
        return QuotaLedger(records.usage, self.quota_bytes)

    async def _count_less(self, chat: Chat, bytes_: int) -> None:
        if bytes_:  # a negative delta always applies, whatever the quota
            await self.usage.try_add(chat.workspace_id, chat.chat_id, -bytes_, self.quota_bytes)

    async def try_count_history(
        self, chat: Chat, size_bytes: int, revision_bytes: int | None = None
    ) -> bool:
        """Count `size_bytes` as the chat's history in place of what was counted, and
        `revision_bytes` as what its revisions keep beside it (None: as counted), unless
        the two changes together take the workspace over its quota. Returns whether it
        applied."""
        return await self.usage.try_set_history(
            chat.workspace_id, chat.chat_id, size_bytes, self.quota_bytes, revision_bytes
        )

    async def restore_history(
        self, chat: Chat, size_bytes: int, revision_bytes: int | None = None
    ) -> None:
        """Count `size_bytes` as the chat's history again, and `revision_bytes` as its
        revisions' (None: as counted), whatever the quota (a write refused after counting)."""
        await self.usage.try_set_history(
            chat.workspace_id, chat.chat_id, size_bytes, None, revision_bytes
        )
