"""The repair, at start-up, of chats whose change a crash interrupted."""

from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import KeyedLock
from usecase.reconcile import ChatFileReconciler


@dataclass(frozen=True, slots=True)
class SettleChats:
    """At start-up, repair every chat a change was interrupted on.

    A chat whose record exists gets its file records and usage re-derived from its
    directory (a committed file whose record was never written is imported; a record
    whose file is gone is dropped). Bytes an upload had put in place when the crash came
    get the records that upload noted with the mark (its new ids, content types and
    times), replacing the records of the files they replaced. A chat whose record is gone
    was being deleted (or created and never recorded): its directory, sessions and usage
    go too. Each chat is settled under its lock, so a change still running in another
    instance finishes first.
    """

    metadata: MetadataStore
    storage: ChatStorage
    reconciler: ChatFileReconciler
    locks: KeyedLock

    async def __call__(self) -> list[Chat | None]:
        """What was settled: each chat found, or None for one found deleted."""
        settled: list[Chat | None] = []
        for workspace_id, chat_id in await self.storage.unsettled_chats():
            async with self.locks.hold(chat_id):
                chat = await self.metadata.chats.get(chat_id)
                if chat is None:
                    await self._finish_deleting(workspace_id, chat_id)
                    settled.append(None)
                else:
                    pending = await self.storage.pending_files(workspace_id, chat_id)
                    await self.reconciler.reconcile(chat, pending)
                    settled.append(chat)
                await self.storage.mark_settled(workspace_id, chat_id)
        return settled

    async def _finish_deleting(self, workspace_id: UUID, chat_id: UUID) -> None:
        await self.storage.delete_chat(workspace_id, chat_id)
        async with self.metadata.transaction() as records:
            await records.files.delete_by_chat_id(chat_id)
            await records.sessions.delete_by_chat_id(chat_id)
            await records.usage.delete_chat(chat_id)
        await self.storage.purge_chat(chat_id)
