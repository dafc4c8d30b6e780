"""Crash safety's one home: the mark a change holds while a chat's bytes and records may
disagree, and the repair at start-up of every chat a crash left marked (ADR 0011,
ADR 0017). The journal that keeps the marks is the CrashJournal port; what a repaired chat's
records should be is the reconciler's (usecase/reconcile.py)."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from uuid import UUID

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.errors import DomainError
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.crash_journal import CrashJournal, HistoryAppend
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import KeyedLock
from usecase.reconcile import ChatFileReconciler


@dataclass(frozen=True, slots=True)
class ChatSettler:
    """Repairs one chat a change was interrupted on; callers hold its lock."""

    journal: CrashJournal
    reconciler: ChatFileReconciler

    async def settle(self, chat: Chat) -> None:
        """Re-derive the chat's records and usage from its directory, giving bytes an
        interrupted upload put in place the records it noted (a commit it left half-done
        is rolled back first, by the journal; an append cut short is cut back first)."""
        await self.journal.settle_append(chat.workspace_id, chat.chat_id)
        pending = await self.journal.pending_files(chat.workspace_id, chat.chat_id)
        await self.reconciler.reconcile(chat, pending, after_crash=True)


@dataclass(slots=True)
class Mark:
    """What the block under a mark tells it: `bytes_changed()` once the bytes have changed
    for good and the records not yet, `records_caught_up()` once they have too. A refusal
    raised between the two (a unit of work whose commit the store lost) keeps the mark for
    settling instead of dropping it as if nothing had changed. `left_for_settling()` keeps
    it even when the block ends as it should: the change is done as the client sees it,
    and what is left of it (bytes the disk would not let go of) is settling's."""

    kept: bool = False
    left: bool = False

    def bytes_changed(self) -> None:
        self.kept = True

    def records_caught_up(self) -> None:
        self.kept = False

    def records_going_first(self) -> None:
        """The records are about to change ahead of the bytes: a refusal from here on may
        come from a commit that did happen (a connection lost at commit), so the mark
        stays for settling, which finds out."""
        self.kept = True

    def left_for_settling(self) -> None:
        self.left = True


@asynccontextmanager
async def unsettled(
    settler: ChatSettler,
    chat: Chat,
    pending: Sequence[ChatFile] = (),
    appending: HistoryAppend | None = None,
) -> AsyncIterator[Mark]:
    """Keep the chat marked unsettled while the block changes its bytes and records, noting
    with the mark the records the block will save once their bytes are in place (`pending`,
    see CrashJournal.note_pending_files) or the append it makes (`appending`).

    A mark found already there (the chat's lock is held, so no live change holds it) was
    left by a change a crash cut short, in this instance or another one still running: the
    chat is settled first, so that no change builds on, or wipes out, what that crash left.

    A DomainError means the block refused the change and put back what it had done, so
    the mark goes with it, unless the block said its bytes had changed for good; anything
    else (the process dying, a cancelled task, a bug) leaves the mark for settling at the
    next start or the next change of the chat."""
    journal = settler.journal
    workspace_id, chat_id = chat.workspace_id, chat.chat_id
    if await journal.mark_unsettled(workspace_id, chat_id, pending, appending):
        await settler.settle(chat)
        # The mark found holds the cut-short change's note: this change's takes its place.
        await journal.mark_settled(workspace_id, chat_id)
        await journal.mark_unsettled(workspace_id, chat_id, pending, appending)
    mark = Mark()
    try:
        yield mark
    except DomainError:
        if not mark.kept:
            await _unmark(journal, chat)
        raise
    if not mark.left:
        await _unmark(journal, chat)


async def settle_if_marked(settler: ChatSettler, chat: Chat) -> None:
    """Settle what a crash left on the chat, if anything, before a change reads what it
    will change; the caller holds the chat's lock (see `unsettled`)."""
    async with unsettled(settler, chat):
        pass


async def _unmark(journal: CrashJournal, chat: Chat) -> None:
    # The change itself is done; a mark that stays only costs a needless settle later.
    with suppress(DomainError):
        await journal.mark_settled(chat.workspace_id, chat.chat_id)


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
    settler: ChatSettler
    locks: KeyedLock

    async def __call__(self) -> list[Chat | None]:
        """What was settled: each chat found, or None for one found deleted."""
        settled: list[Chat | None] = []
        for workspace_id, chat_id in await self.storage.unsettled_chats():
            async with self.locks.hold(chat_id):
                chat = await self.metadata.chats.get(chat_id)
                if chat is None:
                    await finish_deleting(self.metadata, self.storage, workspace_id, chat_id)
                    settled.append(None)
                    await self.storage.mark_settled(workspace_id, chat_id)
                elif await self._settled_if_still_marked(chat):
                    settled.append(chat)
        return settled

    async def _settled_if_still_marked(self, chat: Chat) -> bool:
        """Settle the chat if its mark is still there under the lock (so a crash left it),
        and say whether it was. A mark listed while a change in another live process (a
        sibling worker, another instance) held it is gone once that change let go of the
        lock; its chat is left alone (ADR 0033)."""
        journal = self.settler.journal
        if not await journal.mark_unsettled(chat.workspace_id, chat.chat_id):
            await journal.mark_settled(chat.workspace_id, chat.chat_id)
            return False
        await self.settler.settle(chat)
        await journal.mark_settled(chat.workspace_id, chat.chat_id)
        return True


async def finish_deleting(
    metadata: MetadataStore, storage: ChatStorage, workspace_id: UUID, chat_id: UUID
) -> None:
    """Remove what is left of a chat whose record is gone (a deletion, or a creation, cut
    short): its directory and kept revisions, then its file records, revisions, sessions and
    usage. The caller holds the chat's lock and has found no record of it."""
    await storage.delete_chat(workspace_id, chat_id)
    async with metadata.transaction() as records:
        await records.files.delete_by_chat_id(chat_id)
        await records.revisions.delete_by_chat_id(chat_id)
        await records.sessions.delete_by_chat_id(chat_id)
        await records.usage.delete_chat(chat_id)
    await storage.purge_chat(chat_id)
