"""The opening every change to a chat goes through (usecase/chat_guard.py)."""

import asyncio

import pytest

from adapter.locks import InProcessKeyedLock
from domain.errors import ChatNotFoundError, StorageUnavailableError
from test.usecase.service import OTHER_USER, USER, Service
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.crash_safety import ChatSettler

pytestmark = pytest.mark.anyio


def guard_of(service: Service, locks: InProcessKeyedLock) -> ChatGuard:
    access = ChatAccess(service.metadata.workspaces, service.metadata.chats)
    return ChatGuard(
        access, locks, ChatSettler(service.storage, service.run.rescan_files.reconciler)
    )


def marks(service: Service) -> list[str]:
    return sorted(path.name for path in (service.root / "unsettled").iterdir())


async def test_a_chat_deleted_while_a_change_waited_for_its_lock_is_not_found(
    service: Service,
) -> None:
    chat = await service.new_chat()
    locks = InProcessKeyedLock()
    guard = guard_of(service, locks)

    async def change() -> None:
        async with guard.held(USER, chat.chat_id):
            pytest.fail("entered a deleted chat")

    async with locks.hold(chat.chat_id):
        waiting = asyncio.create_task(change())
        await asyncio.sleep(0)
        await service.metadata.chats.delete(chat.chat_id)

    with pytest.raises(ChatNotFoundError):
        await waiting


async def test_another_users_chat_is_not_found_and_never_marked(service: Service) -> None:
    chat = await service.new_chat()
    await service.run.ensure_workspace(OTHER_USER)
    guard = guard_of(service, InProcessKeyedLock())

    with pytest.raises(ChatNotFoundError):
        async with guard.changing(OTHER_USER, chat.chat_id):
            pytest.fail("entered another user's chat")

    assert marks(service) == []


async def test_a_change_is_marked_while_it_runs_and_unmarked_after(service: Service) -> None:
    chat = await service.new_chat()
    guard = guard_of(service, InProcessKeyedLock())

    async with guard.changing(USER, chat.chat_id) as held:
        assert held == chat
        assert marks(service) == [f"{chat.workspace_id}_{chat.chat_id}"]

    assert marks(service) == []


async def test_a_change_that_dies_unexpectedly_stays_marked(service: Service) -> None:
    chat = await service.new_chat()
    guard = guard_of(service, InProcessKeyedLock())

    with pytest.raises(RuntimeError):
        async with guard.changing(USER, chat.chat_id):
            raise RuntimeError("the process died here")
    assert marks(service) == [f"{chat.workspace_id}_{chat.chat_id}"]

    with pytest.raises(StorageUnavailableError):
        async with guard.changing(USER, chat.chat_id):
            raise StorageUnavailableError("a refusal puts back what it did")
    assert marks(service) == []
