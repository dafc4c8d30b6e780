"""Changes that span a chat's bytes and its metadata, marked so a crash is found later."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from domain.chat import Chat
from domain.errors import DomainError
from usecase.ports.crash_journal import CrashJournal


@asynccontextmanager
async def unsettled(journal: CrashJournal, chat: Chat) -> AsyncIterator[None]:
    """Keep the chat marked unsettled while the block changes its bytes and records.

    A DomainError means the block refused the change and put back what it had done, so
    the mark goes with it; anything else (the process dying, a cancelled task, a bug)
    leaves the mark for `SettleChats` at the next start."""
    await journal.mark_unsettled(chat.workspace_id, chat.chat_id)
    try:
        yield
    except DomainError:
        await _unmark(journal, chat)
        raise
    await _unmark(journal, chat)


async def _unmark(journal: CrashJournal, chat: Chat) -> None:
    # The change itself is done; a mark that stays only costs a needless settle later.
    with suppress(DomainError):
        await journal.mark_settled(chat.workspace_id, chat.chat_id)
