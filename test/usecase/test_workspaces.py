import asyncio
from uuid import UUID

import pytest

from domain.errors import WorkspaceNotFoundError
from domain.workspace import Workspace, WorkspaceUsage
from repository.memory import InMemoryWorkspaceRepository
from test.fakes import FakeClock, SequentialIds
from test.usecase.service import OTHER_USER, T0, USER, Service
from usecase.workspaces import EnsureWorkspace

pytestmark = pytest.mark.anyio


class SlowLookupWorkspaces(InMemoryWorkspaceRepository):
    """Lets other tasks run between a caller's lookup and its insert, as a real database
    round trip would, so that racing callers all see "no workspace yet"."""

    async def get_by_user_id(self, user_id: UUID) -> Workspace | None:
        found = await super().get_by_user_id(user_id)
        await asyncio.sleep(0)
        return found


async def test_ensure_workspace_creates_it_the_first_time(service: Service) -> None:
    workspace, created = await service.run.ensure_workspace(USER)

    assert created
    assert (workspace.user_id, workspace.created_at) == (USER, T0)
    assert await service.run.get_workspace(USER) == workspace


async def test_ensure_workspace_again_returns_the_same_one_unchanged(service: Service) -> None:
    first, _ = await service.run.ensure_workspace(USER)
    service.clock.advance(60)

    again, created = await service.run.ensure_workspace(USER)

    assert not created
    assert again == first


async def test_racing_ensure_workspace_calls_create_exactly_one() -> None:
    workspaces = SlowLookupWorkspaces()
    ensure = EnsureWorkspace(workspaces=workspaces, ids=SequentialIds(), clock=FakeClock(T0))

    results = await asyncio.gather(*(ensure(USER) for _ in range(8)))

    assert [created for _, created in results].count(True) == 1
    assert len({workspace for workspace, _ in results}) == 1
    assert await workspaces.get_by_user_id(USER) == results[0][0]


async def test_each_user_gets_a_workspace_of_their_own(service: Service) -> None:
    mine, _ = await service.run.ensure_workspace(USER)
    theirs, _ = await service.run.ensure_workspace(OTHER_USER)

    assert mine.workspace_id != theirs.workspace_id
    assert await service.run.get_workspace(OTHER_USER) == theirs


async def test_get_workspace_without_one_is_workspace_not_found(service: Service) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.get_workspace(USER)


async def test_usage_of_a_new_workspace_is_zero_of_the_quota(service: Service) -> None:
    workspace, _ = await service.run.ensure_workspace(USER)

    usage = await service.run.get_workspace_usage(USER)

    assert usage == WorkspaceUsage(workspace.workspace_id, 0, 0, service.limits.quota_bytes)


async def test_usage_answers_revision_bytes_beside_used_bytes(service: Service) -> None:
    chat = await service.new_chat()
    await service.metadata.usage.set_chat_bytes(chat.workspace_id, chat.chat_id, 30, 10, 25)

    usage = await service.run.get_workspace_usage(USER)

    assert usage == WorkspaceUsage(chat.workspace_id, 30, 25, service.limits.quota_bytes)


async def test_usage_without_a_workspace_is_workspace_not_found(service: Service) -> None:
    with pytest.raises(WorkspaceNotFoundError):
        await service.run.get_workspace_usage(USER)
