import asyncio
from uuid import uuid4

import pytest

from domain.workspace import Workspace
from test.repository.records import save_all, workspace
from usecase.ports.metadata import MetadataStore
from usecase.ports.records import WorkspaceRepository

pytestmark = pytest.mark.anyio


@pytest.fixture
def workspaces(store: MetadataStore) -> WorkspaceRepository:
    return store.workspaces


RACERS = 30


async def assert_found_by_id_and_by_user(
    workspaces: WorkspaceRepository, expected: Workspace
) -> None:
    assert await workspaces.get(expected.workspace_id) == expected
    assert await workspaces.get_by_user_id(expected.user_id) == expected


async def test_unknown_workspace_is_not_found(workspaces: WorkspaceRepository) -> None:
    assert await workspaces.get(uuid4()) is None
    assert await workspaces.get_by_user_id(uuid4()) is None


async def test_saved_workspace_is_found_by_id_and_by_user(
    workspaces: WorkspaceRepository,
) -> None:
    saved = workspace()

    await workspaces.save(saved)

    await assert_found_by_id_and_by_user(workspaces, saved)


async def test_saving_a_workspace_again_keeps_one_record(workspaces: WorkspaceRepository) -> None:
    saved = workspace()

    await save_all(workspaces.save, [saved, saved])

    await assert_found_by_id_and_by_user(workspaces, saved)


async def test_saving_second_workspace_for_user_replaces_first(
    workspaces: WorkspaceRepository,
) -> None:
    first = workspace()
    second = workspace(user_id=first.user_id)

    await save_all(workspaces.save, [first, second])

    assert await workspaces.get_by_user_id(first.user_id) == second
    assert await workspaces.get(second.workspace_id) == second
    assert await workspaces.get(first.workspace_id) is None


async def test_workspaces_of_different_users_are_independent(
    workspaces: WorkspaceRepository,
) -> None:
    alice, bob = workspace(), workspace()

    await save_all(workspaces.save, [alice, bob])

    assert await workspaces.get_by_user_id(alice.user_id) == alice
    assert await workspaces.get_by_user_id(bob.user_id) == bob


async def test_add_if_absent_creates_the_users_first_workspace(
    workspaces: WorkspaceRepository,
) -> None:
    new = workspace()

    assert await workspaces.add_if_absent(new) == (new, True)
    await assert_found_by_id_and_by_user(workspaces, new)


async def test_add_if_absent_returns_the_existing_workspace_and_stores_nothing(
    workspaces: WorkspaceRepository,
) -> None:
    existing = workspace()
    await workspaces.save(existing)
    other = workspace(user_id=existing.user_id)

    assert await workspaces.add_if_absent(other) == (existing, False)
    assert await workspaces.get(other.workspace_id) is None
    assert await workspaces.get_by_user_id(existing.user_id) == existing


async def test_concurrent_add_if_absent_creates_exactly_one_workspace(
    workspaces: WorkspaceRepository,
) -> None:
    user_id = uuid4()
    candidates = [workspace(user_id=user_id) for _ in range(RACERS)]

    results = await asyncio.gather(*(workspaces.add_if_absent(item) for item in candidates))

    winners: list[Workspace] = [item for item, created in results if created]
    assert len(winners) == 1
    assert winners[0] in candidates
    assert {item for item, _ in results} == set(winners)
    assert await workspaces.get_by_user_id(user_id) == winners[0]
    assert [await workspaces.get(item.workspace_id) for item in candidates].count(None) == (
        RACERS - 1
    )
