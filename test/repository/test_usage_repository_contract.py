import asyncio
from uuid import uuid4

import pytest

from usecase.ports.metadata import MetadataStore
from usecase.ports.usage import ChatStanding, UsageRepository, WorkspaceBytes

pytestmark = pytest.mark.anyio


@pytest.fixture
def usage(store: MetadataStore) -> UsageRepository:
    return store.usage


QUOTA = 1_000


async def test_workspace_without_recorded_chats_uses_nothing(usage: UsageRepository) -> None:
    workspace_id = uuid4()

    assert await usage.charged_bytes(workspace_id) == 0
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(0, 0)
    assert await usage.revision_bytes(uuid4()) == 0


async def test_delta_within_quota_applies(usage: UsageRepository) -> None:
    workspace_id = uuid4()

    assert await usage.try_add(workspace_id, uuid4(), 400, QUOTA) is True

    assert await usage.charged_bytes(workspace_id) == 400


async def test_used_bytes_sums_the_workspaces_chats(usage: UsageRepository) -> None:
    workspace_id, chat_a, chat_b = uuid4(), uuid4(), uuid4()

    await usage.try_add(workspace_id, chat_a, 100, QUOTA)
    await usage.try_add(workspace_id, chat_a, 50, QUOTA)
    await usage.try_add(workspace_id, chat_b, 200, QUOTA)

    assert await usage.charged_bytes(workspace_id) == 350


async def test_workspaces_are_counted_apart(usage: UsageRepository) -> None:
    mine, theirs = uuid4(), uuid4()

    await usage.try_add(mine, uuid4(), 600, QUOTA)

    assert await usage.try_add(theirs, uuid4(), 600, QUOTA) is True
    assert await usage.charged_bytes(mine) == 600
    assert await usage.charged_bytes(theirs) == 600


async def test_delta_reaching_the_quota_exactly_applies(usage: UsageRepository) -> None:
    workspace_id = uuid4()
    await usage.try_add(workspace_id, uuid4(), 400, QUOTA)

    assert await usage.try_add(workspace_id, uuid4(), 600, QUOTA) is True

    assert await usage.charged_bytes(workspace_id) == QUOTA


async def test_delta_one_byte_over_the_quota_is_refused(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.try_add(workspace_id, chat_id, 400, QUOTA)

    assert await usage.try_add(workspace_id, chat_id, 601, QUOTA) is False

    assert await usage.charged_bytes(workspace_id) == 400


async def test_other_chats_of_the_workspace_count_against_the_quota(
    usage: UsageRepository,
) -> None:
    workspace_id = uuid4()
    await usage.try_add(workspace_id, uuid4(), 700, QUOTA)

    assert await usage.try_add(workspace_id, uuid4(), 301, QUOTA) is False

    assert await usage.charged_bytes(workspace_id) == 700


async def test_concurrent_deltas_never_take_the_workspace_over_quota(
    usage: UsageRepository,
) -> None:
    workspace_id = uuid4()

    applied = await asyncio.gather(
        *(usage.try_add(workspace_id, uuid4(), 100, QUOTA) for _ in range(15))
    )

    assert applied.count(True) == 10
    assert await usage.charged_bytes(workspace_id) == QUOTA


async def test_concurrent_deltas_of_different_sizes_apply_only_within_the_quota(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_ids = uuid4(), [uuid4() for _ in range(3)]
    deltas = [1 + (index * 37) % 150 for index in range(40)]
    assert sum(deltas) > QUOTA

    applied = await asyncio.gather(
        *(
            usage.try_add(workspace_id, chat_ids[index % 3], delta, QUOTA)
            for index, delta in enumerate(deltas)
        )
    )

    applied_sum = sum(delta for delta, ok in zip(deltas, applied, strict=True) if ok)
    refused = [delta for delta, ok in zip(deltas, applied, strict=True) if not ok]
    assert applied_sum <= QUOTA
    assert await usage.charged_bytes(workspace_id) == applied_sum
    # Usage only grew, so a delta that fits now would have fitted when it was refused.
    assert all(applied_sum + delta > QUOTA for delta in refused)


async def test_negative_delta_applies_even_over_the_quota(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, QUOTA + 500, 0)

    assert await usage.try_add(workspace_id, chat_id, -100, QUOTA) is True

    assert await usage.charged_bytes(workspace_id) == QUOTA + 400


async def test_zero_delta_applies_even_over_the_quota(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, QUOTA + 500, 0)

    assert await usage.try_add(workspace_id, chat_id, 0, QUOTA) is True

    assert await usage.charged_bytes(workspace_id) == QUOTA + 500


async def test_chat_figure_never_goes_below_zero(usage: UsageRepository) -> None:
    workspace_id, shrinking, other = uuid4(), uuid4(), uuid4()
    await usage.try_add(workspace_id, shrinking, 100, QUOTA)
    await usage.try_add(workspace_id, other, 300, QUOTA)

    assert await usage.try_add(workspace_id, shrinking, -250, QUOTA) is True

    assert await usage.charged_bytes(workspace_id) == 300
    assert await usage.try_add(workspace_id, shrinking, 50, QUOTA) is True
    assert await usage.charged_bytes(workspace_id) == 350


async def test_set_chat_bytes_replaces_the_chats_figure(usage: UsageRepository) -> None:
    workspace_id, measured, other = uuid4(), uuid4(), uuid4()
    await usage.try_add(workspace_id, measured, 500, QUOTA)
    await usage.try_add(workspace_id, other, 100, QUOTA)

    await usage.set_chat_bytes(workspace_id, measured, 200, 0)

    assert await usage.charged_bytes(workspace_id) == 300


async def test_set_chat_bytes_ignores_the_quota(usage: UsageRepository) -> None:
    workspace_id = uuid4()

    await usage.set_chat_bytes(workspace_id, uuid4(), QUOTA * 3, 0)

    assert await usage.charged_bytes(workspace_id) == QUOTA * 3
    assert await usage.try_add(workspace_id, uuid4(), 1, QUOTA) is False


async def test_deleted_chat_no_longer_counts(usage: UsageRepository) -> None:
    workspace_id, deleted, kept = uuid4(), uuid4(), uuid4()
    await usage.try_add(workspace_id, deleted, 400, QUOTA)
    await usage.try_add(workspace_id, kept, 100, QUOTA)

    await usage.delete_chat(deleted)

    assert await usage.charged_bytes(workspace_id) == 100
    assert await usage.try_add(workspace_id, uuid4(), 900, QUOTA) is True


async def test_deleted_chat_starts_again_from_zero(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.try_add(workspace_id, chat_id, 400, QUOTA)
    await usage.delete_chat(chat_id)

    await usage.try_add(workspace_id, chat_id, 10, QUOTA)

    assert await usage.charged_bytes(workspace_id) == 10


async def test_deleting_an_unknown_chat_changes_nothing(usage: UsageRepository) -> None:
    workspace_id = uuid4()
    await usage.try_add(workspace_id, uuid4(), 400, QUOTA)

    await usage.delete_chat(uuid4())

    assert await usage.charged_bytes(workspace_id) == 400


async def test_try_set_history_counts_the_difference_from_the_counted_history(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 300, 100)

    assert await usage.try_set_history(workspace_id, chat_id, 250, QUOTA) is True

    assert await usage.history_bytes(chat_id) == 250
    assert await usage.charged_bytes(workspace_id) == 450


async def test_try_set_history_refuses_growth_past_the_quota_and_changes_nothing(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, QUOTA - 10, 100)

    assert await usage.try_set_history(workspace_id, chat_id, 111, QUOTA) is False

    assert await usage.history_bytes(chat_id) == 100
    assert await usage.charged_bytes(workspace_id) == QUOTA - 10
    assert await usage.try_set_history(workspace_id, chat_id, 110, QUOTA) is True


async def test_try_set_history_without_a_quota_always_applies(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, QUOTA, 0)

    assert await usage.try_set_history(workspace_id, chat_id, 500, None) is True

    assert await usage.charged_bytes(workspace_id) == QUOTA + 500


async def test_history_is_forgotten_with_its_chat(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 300, 100)

    await usage.delete_chat(chat_id)

    assert await usage.history_bytes(chat_id) == 0
    assert await usage.charged_bytes(workspace_id) == 0


# Revision bytes: what a chat's history revisions keep beyond its history, counted beside its
# used bytes; the quota bounds the two together.


async def test_workspace_bytes_sum_each_figure_over_the_workspaces_chats(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_a, chat_b = uuid4(), uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_a, 300, 100, 40)
    await usage.set_chat_bytes(workspace_id, chat_b, 200, 50, 60)
    await usage.set_chat_bytes(uuid4(), uuid4(), 900, 0, 90)

    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(500, 100)
    assert await usage.charged_bytes(workspace_id) == 600
    assert await usage.revision_bytes(chat_a) == 40
    assert await usage.revision_bytes(chat_b) == 60


async def test_try_set_history_sets_the_revision_figure_with_the_history(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 300, 100)

    assert await usage.try_set_history(workspace_id, chat_id, 150, QUOTA, 40) is True

    assert await usage.history_bytes(chat_id) == 150
    assert await usage.revision_bytes(chat_id) == 40
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(350, 40)
    assert await usage.charged_bytes(workspace_id) == 390


async def test_try_set_history_without_revision_bytes_keeps_the_revision_figure(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 300, 100, 40)

    assert await usage.try_set_history(workspace_id, chat_id, 150, QUOTA) is True

    assert await usage.revision_bytes(chat_id) == 40
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(350, 40)


async def test_revision_bytes_filling_the_quota_refuse_a_write(usage: UsageRepository) -> None:
    workspace_id, with_revisions, written = uuid4(), uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, with_revisions, 100, 100, QUOTA - 100)

    assert await usage.try_add(workspace_id, written, 1, QUOTA) is False
    assert await usage.try_set_history(workspace_id, written, 1, QUOTA) is False

    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(100, QUOTA - 100)
    assert await usage.history_bytes(written) == 0


async def test_try_add_leaves_the_revision_figure_as_it_is(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 100, 0, 300)

    assert await usage.try_add(workspace_id, chat_id, 600, QUOTA) is True

    assert await usage.revision_bytes(chat_id) == 300
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(700, 300)


async def test_try_set_history_checks_history_and_revision_growth_together(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 500, 100, 200)

    # History +100 and revisions +201 would take 700 charged bytes to 1001.
    assert await usage.try_set_history(workspace_id, chat_id, 200, QUOTA, 401) is False

    assert await usage.history_bytes(chat_id) == 100
    assert await usage.revision_bytes(chat_id) == 200
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(500, 200)
    assert await usage.try_set_history(workspace_id, chat_id, 200, QUOTA, 400) is True
    assert await usage.charged_bytes(workspace_id) == QUOTA


@pytest.mark.parametrize(
    ("history_bytes", "revision_bytes", "expected"),
    [
        pytest.param(100, 200, WorkspaceBytes(QUOTA, 200), id="revisions-shrink"),
        pytest.param(300, 100, WorkspaceBytes(QUOTA + 200, 100), id="history-grows-by-less"),
        pytest.param(500, 100, WorkspaceBytes(QUOTA + 400, 100), id="nothing-in-all"),
    ],
)
async def test_try_set_history_whose_changes_together_do_not_grow_applies_over_the_quota(
    usage: UsageRepository, history_bytes: int, revision_bytes: int, expected: WorkspaceBytes
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, QUOTA, 100, 500)

    assert (
        await usage.try_set_history(workspace_id, chat_id, history_bytes, QUOTA, revision_bytes)
        is True
    )

    assert await usage.workspace_bytes(workspace_id) == expected
    assert await usage.revision_bytes(chat_id) == revision_bytes


async def test_revision_figure_never_goes_below_zero(usage: UsageRepository) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 100, 100, 50)

    assert await usage.try_set_history(workspace_id, chat_id, 100, QUOTA, -10) is True

    assert await usage.revision_bytes(chat_id) == 0
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(100, 0)


async def test_set_chat_bytes_without_revision_bytes_keeps_the_revision_figure(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 300, 100, 40)

    await usage.set_chat_bytes(workspace_id, chat_id, 200, 50)

    assert await usage.revision_bytes(chat_id) == 40
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(200, 40)


async def test_set_chat_bytes_with_revision_bytes_replaces_the_revision_figure(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id = uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 300, 100, 40)

    await usage.set_chat_bytes(workspace_id, chat_id, 300, 100, QUOTA * 2)

    assert await usage.revision_bytes(chat_id) == QUOTA * 2
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(300, QUOTA * 2)


async def test_deleted_chat_frees_its_used_and_revision_bytes(usage: UsageRepository) -> None:
    workspace_id, deleted, kept = uuid4(), uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, deleted, 300, 100, 400)
    await usage.set_chat_bytes(workspace_id, kept, 100, 0, 50)

    await usage.delete_chat(deleted)

    assert await usage.revision_bytes(deleted) == 0
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(100, 50)
    assert await usage.try_add(workspace_id, uuid4(), QUOTA - 150, QUOTA) is True


async def test_concurrent_history_counts_never_take_used_and_revision_bytes_over_quota(
    usage: UsageRepository,
) -> None:
    workspace_id = uuid4()

    applied = await asyncio.gather(
        *(usage.try_set_history(workspace_id, uuid4(), 60, QUOTA, 40) for _ in range(15))
    )

    assert applied.count(True) == 10
    assert await usage.workspace_bytes(workspace_id) == WorkspaceBytes(600, 400)


async def test_chat_standing_reads_the_chats_figures_and_its_workspaces_sums_together(
    usage: UsageRepository,
) -> None:
    workspace_id, chat_id, other_id = uuid4(), uuid4(), uuid4()
    await usage.set_chat_bytes(workspace_id, chat_id, 500, 100, 200)
    await usage.set_chat_bytes(workspace_id, other_id, 50, 0, 7)

    standing = await usage.chat_standing(workspace_id, chat_id)

    assert standing == ChatStanding(100, 200, WorkspaceBytes(550, 207))
    assert standing.others_bytes == 757 - 300


async def test_chat_standing_of_a_chat_with_nothing_recorded_is_zero(
    usage: UsageRepository,
) -> None:
    workspace_id = uuid4()
    await usage.set_chat_bytes(workspace_id, uuid4(), 40, 0, 2)

    assert await usage.chat_standing(workspace_id, uuid4()) == ChatStanding(
        0, 0, WorkspaceBytes(40, 2)
    )
    assert await usage.chat_standing(uuid4(), uuid4()) == ChatStanding(0, 0, WorkspaceBytes(0, 0))
