"""ChatAccess remembers the workspaces it has found: they never change or go away."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

import usecase.access
from domain.errors import WorkspaceNotFoundError
from domain.workspace import Workspace
from repository.memory import InMemoryMetadataStore
from usecase.access import ChatAccess

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


async def new_workspace(store: InMemoryMetadataStore) -> Workspace:
    workspace = Workspace(uuid4(), uuid4(), NOW)
    await store.workspaces.save(workspace)
    return workspace


async def test_a_found_workspace_is_remembered() -> None:
    store = CountingStore()
    access = ChatAccess(store.workspaces, store.chats)
    workspace = await new_workspace(store)

    assert await access.workspace(workspace.user_id) == workspace
    assert await access.workspace(workspace.user_id) == workspace
    assert store.lookups == 1


async def test_a_missing_workspace_is_looked_up_again_until_it_exists() -> None:
    store = CountingStore()
    access = ChatAccess(store.workspaces, store.chats)
    user_id = uuid4()
    with pytest.raises(WorkspaceNotFoundError):
        await access.workspace(user_id)

    workspace = Workspace(uuid4(), user_id, NOW)
    await store.workspaces.save(workspace)

    assert await access.workspace(user_id) == workspace
    assert store.lookups == 2


async def test_the_least_recently_used_workspace_is_forgotten_past_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(usecase.access, "KNOWN_WORKSPACES", 2)
    store = CountingStore()
    access = ChatAccess(store.workspaces, store.chats)
    first, second, third = [await new_workspace(store) for _ in range(3)]
    await access.workspace(first.user_id)
    await access.workspace(second.user_id)
    await access.workspace(first.user_id)  # now the most recently used
    await access.workspace(third.user_id)  # forgets `second`
    store.lookups = 0

    await access.workspace(first.user_id)
    await access.workspace(third.user_id)
    assert store.lookups == 0
    await access.workspace(second.user_id)
    assert store.lookups == 1
