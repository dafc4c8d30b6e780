"""Changes that span a chat's bytes and its metadata, marked so a crash is found later."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from domain.chat import Chat
from domain.errors import DomainError
from usecase.interface import ChatStorage


@asynccontextmanager
async def unsettled(storage: ChatStorage, chat: Chat) -> AsyncIterator[None]:
    """Keep the chat marked unsettled while the block changes its bytes and records.

    A DomainError means the block refused the change and put back what it had done, so
    the mark goes with it; anything else (the process dying, a cancelled task, a bug)
    leaves the mark for `SettleChats` at the next start."""
    await storage.mark_unsettled(chat.workspace_id, chat.chat_id)
    try:
        yield
    except DomainError:
        await _unmark(storage, chat)
        raise
    await _unmark(storage, chat)


async def _unmark(storage: ChatStorage, chat: Chat) -> None:
    # The change itself is done; a mark that stays only costs a needless settle later.
    with suppress(DomainError):
        await storage.mark_settled(chat.workspace_id, chat.chat_id)
