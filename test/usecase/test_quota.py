"""The quota's one home (usecase/quota.py), on the in-memory usage figures."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.chat import Chat
from domain.errors import QuotaExceededError
from repository.memory import InMemoryMetadataStore
from usecase.quota import QuotaLedger

pytestmark = pytest.mark.anyio

QUOTA = 1000
WORKSPACE = uuid4()


def chat() -> Chat:
    at = datetime(2026, 4, 1, tzinfo=UTC)
    return Chat(uuid4(), WORKSPACE, at, at)


@pytest.fixture
def ledger() -> QuotaLedger:
    return QuotaLedger(InMemoryMetadataStore().usage, QUOTA)


async def test_a_reservation_within_the_quota_counts_and_shrinks_the_budget(
    ledger: QuotaLedger,
) -> None:
    await ledger.reserve(chat(), 600)

    assert await ledger.usage.charged_bytes(WORKSPACE) == 600
    assert await ledger.budget(WORKSPACE) == 400
    assert await ledger.budget(WORKSPACE, replaced_bytes=600) == 1000


async def test_a_reservation_past_the_quota_counts_nothing(ledger: QuotaLedger) -> None:
    first, second = chat(), chat()
    await ledger.reserve(first, 600)

    with pytest.raises(QuotaExceededError, match="the upload would take"):
        await ledger.reserve(second, 401, "the upload")

    assert await ledger.usage.charged_bytes(WORKSPACE) == 600


@pytest.mark.parametrize("count_less", [QuotaLedger.refund, QuotaLedger.release])
async def test_bytes_given_back_always_apply_and_never_go_below_zero(
    ledger: QuotaLedger, count_less: Callable[[QuotaLedger, Chat, int], Awaitable[None]]
) -> None:
    one = chat()
    await ledger.reserve(one, 300)

    await count_less(ledger, one, 200)
    assert await ledger.usage.charged_bytes(WORKSPACE) == 100
    await count_less(ledger, one, 500)
    assert await ledger.usage.charged_bytes(WORKSPACE) == 0


async def test_a_history_is_counted_in_place_of_the_last_unless_over_the_quota(
    ledger: QuotaLedger,
) -> None:
    one, other = chat(), chat()
    await ledger.reserve(other, 500)

    assert await ledger.try_count_history(one, 400)
    assert not await ledger.try_count_history(one, 501)
    assert await ledger.usage.charged_bytes(WORKSPACE) == 900
    await ledger.restore_history(one, 700)  # past the quota: a restore always applies
    assert await ledger.usage.charged_bytes(WORKSPACE) == 1200


async def test_revision_bytes_count_against_the_budget_and_the_reservations(
    ledger: QuotaLedger,
) -> None:
    one, other = chat(), chat()
    await ledger.usage.set_chat_bytes(WORKSPACE, one.chat_id, 100, 100, 500)

    assert await ledger.budget(WORKSPACE) == 400
    with pytest.raises(QuotaExceededError):
        await ledger.reserve(other, 401)
    await ledger.reserve(other, 400)
    assert await ledger.usage.charged_bytes(WORKSPACE) == QUOTA


async def test_a_history_counted_with_its_revision_bytes_is_checked_as_one_growth(
    ledger: QuotaLedger,
) -> None:
    one = chat()
    await ledger.usage.set_chat_bytes(WORKSPACE, one.chat_id, 300, 300, 0)

    assert not await ledger.try_count_history(one, 600, 401)  # +300 and +401
    assert await ledger.try_count_history(one, 600, 400)
    assert await ledger.usage.revision_bytes(one.chat_id) == 400
    assert await ledger.try_count_history(one, 500)  # revisions as counted
    assert await ledger.usage.revision_bytes(one.chat_id) == 400
    await ledger.restore_history(one, 300, 0)
    assert await ledger.usage.charged_bytes(WORKSPACE) == 300
