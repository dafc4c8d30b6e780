"""What ChatAccess remembers of the workspaces it has found, now that a workspace can be
erased, by this instance or another one on the same store (ADR 0024): the workspace
routes always ask the store; a chat route skips the workspace lookup only when the chat
it finds proves the remembered workspace is still there."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

import usecase.access
from domain.chat import Chat
from domain.errors import ChatNotFoundError, WorkspaceNotFoundError
from domain.workspace import Workspace
from repository.memory import InMemoryMetadataStore
from usecase.access import ChatAccess
from usecase.erasure import erase_records

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


class CountingStore(InMemoryMetadataStore):
    """Counts the workspace lookups that reach the store."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0
        find = self.workspaces.get_by_user_id

        async def counted(user_id: UUID) -> Workspace | None:
            self.lookups += 1
            return await find(user_id)

        self.workspaces.get_by_user_id = counted  # type: ignore[method-assign]


async def new_workspace(store: InMemoryMetadataStore, user_id: UUID | None = None) -> Workspace:
    workspace = Workspace(uuid4(), user_id or uuid4(), NOW)
    await store.workspaces.save(workspace)
    return workspace


async def new_chat(store: InMemoryMetadataStore, workspace: Workspace) -> Chat:
    chat = Chat(uuid4(), workspace.workspace_id, NOW, NOW)
    await store.chats.save(chat)
    return chat


async def erase(store: InMemoryMetadataStore, workspace: Workspace) -> None:
    """What another instance's erasure leaves in the store this one reads."""
    async with store.transaction() as records:
        chat_ids = await records.chats.ids_by_workspace_id(workspace.workspace_id)
        await erase_records(records, workspace.workspace_id, chat_ids)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
def access(store: CountingStore) -> ChatAccess:
    return ChatAccess(store.workspaces, store.chats)


async def test_the_workspace_is_read_from_the_store_every_time(
    store: CountingStore, access: ChatAccess
) -> None:
    workspace = await new_workspace(store)

    assert await access.workspace(workspace.user_id) == workspace
    assert await access.workspace(workspace.user_id) == workspace
    assert store.lookups == 2


async def test_a_chat_found_in_the_remembered_workspace_costs_no_workspace_lookup(
    store: CountingStore, access: ChatAccess
) -> None:
    workspace = await new_workspace(store)
    chat = await new_chat(store, workspace)

    for _ in range(3):
        assert await access.chat(workspace.user_id, chat.chat_id) == chat

    assert store.lookups == 1


async def test_a_chat_not_found_asks_the_store_for_the_workspace_again(
    store: CountingStore, access: ChatAccess
) -> None:
    workspace = await new_workspace(store)
    theirs = await new_chat(store, await new_workspace(store))
    await access.workspace(workspace.user_id)
    store.lookups = 0

    for missing in (uuid4(), theirs.chat_id):
        with pytest.raises(ChatNotFoundError):
            await access.chat(workspace.user_id, missing)

    assert store.lookups == 2


async def test_a_workspace_erased_elsewhere_is_not_found_on_every_route(
    store: CountingStore, access: ChatAccess
) -> None:
    workspace = await new_workspace(store)
    chat = await new_chat(store, workspace)
    await access.chat(workspace.user_id, chat.chat_id)  # remembered

    await erase(store, workspace)

    with pytest.raises(WorkspaceNotFoundError):
        await access.chat(workspace.user_id, chat.chat_id)
    with pytest.raises(WorkspaceNotFoundError):
        await access.workspace(workspace.user_id)
    with pytest.raises(WorkspaceNotFoundError):
        await access.check_workspace(workspace.workspace_id)


async def test_a_chat_of_the_users_new_workspace_is_found_while_the_erased_one_is_remembered(
    store: CountingStore, access: ChatAccess
) -> None:
    erased = await new_workspace(store)
    old_chat = await new_chat(store, erased)
    await access.chat(erased.user_id, old_chat.chat_id)  # remembered
    await erase(store, erased)
    new = await new_workspace(store, erased.user_id)
    new_chats = [await new_chat(store, new) for _ in range(2)]

    assert await access.chat(erased.user_id, new_chats[0].chat_id) == new_chats[0]
    with pytest.raises(ChatNotFoundError):
        await access.chat(erased.user_id, old_chat.chat_id)
    store.lookups = 0
    assert await access.chat(erased.user_id, new_chats[1].chat_id) == new_chats[1]
    assert store.lookups == 0  # the new workspace is the one remembered now


async def test_a_forgotten_workspace_is_looked_up_again(
    store: CountingStore, access: ChatAccess
) -> None:
    workspace = await new_workspace(store)
    chat = await new_chat(store, workspace)
    await access.chat(workspace.user_id, chat.chat_id)

    access.forget(workspace.user_id)

    assert await access.chat(workspace.user_id, chat.chat_id) == chat
    assert store.lookups == 2


async def test_the_least_recently_used_workspace_is_forgotten_past_the_bound(
    monkeypatch: pytest.MonkeyPatch, store: CountingStore, access: ChatAccess
) -> None:
    monkeypatch.setattr(usecase.access, "KNOWN_WORKSPACES", 2)
    workspaces = [await new_workspace(store) for _ in range(3)]
    first, second, third = [(owner, await new_chat(store, owner)) for owner in workspaces]
    for owner, chat in (first, second, first, third):  # `first` used again before `third`
        await access.chat(owner.user_id, chat.chat_id)
    store.lookups = 0

    for owner, chat in (first, third):
        await access.chat(owner.user_id, chat.chat_id)
    assert store.lookups == 0
    await access.chat(second[0].user_id, second[1].chat_id)
    assert store.lookups == 1
