import hashlib
from dataclasses import dataclass

import pytest

from domain.errors import PreconditionFailedError, QuotaExceededError
from domain.history import HistoryVersion
from usecase.history_plan import (
    Accepted,
    OverQuota,
    PreconditionFailed,
    needs_current,
    plan_batch,
    precondition,
)

QUOTA = 100


def version_of(body: bytes) -> HistoryVersion:
    return HistoryVersion(hashlib.sha256(body).hexdigest(), len(body))


@dataclass(frozen=True, slots=True)
class Write:
    body: bytes
    if_match: str | None = None

    @property
    def version(self) -> HistoryVersion:
        return version_of(self.body)


BASE = version_of(b"# base")  # the history as it is before the batch
A, B, C = b"# a", b"# b", b"# c"
BIG = b"x" * 80


def ok(body: bytes) -> Accepted:
    return Accepted(version_of(body))


# writes, bytes the rest of the workspace uses, each write's outcome, index of the winner
PLANS = [
    pytest.param([], 0, (), None, id="empty"),
    pytest.param([Write(A)], 0, (ok(A),), 0, id="unconditional"),
    pytest.param([Write(A, BASE.etag)], 0, (ok(A),), 0, id="if-match-current"),
    pytest.param([Write(A, "*")], 0, (ok(A),), 0, id="if-match-star"),
    pytest.param(
        [Write(A, f'"{"0" * 64}", {BASE.etag}')], 0, (ok(A),), 0, id="if-match-current-in-list"
    ),
    pytest.param(
        [Write(A, f'"{"0" * 64}"')],
        0,
        (PreconditionFailed(BASE, f'"{"0" * 64}"'),),
        None,
        id="if-match-stale",
    ),
    pytest.param(
        [Write(A, f"W/{BASE.etag}")],
        0,
        (PreconditionFailed(BASE, f"W/{BASE.etag}"),),
        None,
        id="if-match-weak-never-matches",
    ),
    pytest.param(
        [Write(A, BASE.etag), Write(B, BASE.etag), Write(C)],
        0,
        (ok(A), PreconditionFailed(version_of(A), BASE.etag), ok(C)),
        2,
        id="if-match-against-the-write-before-it",
    ),
    pytest.param(
        [Write(A), Write(B, version_of(A).etag)],
        0,
        (ok(A), ok(B)),
        1,
        id="if-match-naming-the-write-before-it",
    ),
    pytest.param(
        [Write(A), Write(B, BASE.etag)],
        0,
        (ok(A), PreconditionFailed(version_of(A), BASE.etag)),
        0,
        id="winner-is-the-last-accepted-not-the-last",
    ),
    pytest.param([Write(BIG)], 30, (OverQuota(),), None, id="over-quota"),
    pytest.param([Write(BIG)], 20, (ok(BIG),), 0, id="exactly-the-quota"),
    pytest.param(
        [Write(A), Write(BIG), Write(C, version_of(A).etag)],
        30,
        (ok(A), OverQuota(), ok(C)),
        2,
        id="over-quota-leaves-the-version-before-it",
    ),
    pytest.param(
        [Write(BIG, f'"{"0" * 64}"')],
        30,
        (PreconditionFailed(BASE, f'"{"0" * 64}"'),),
        None,
        id="precondition-before-quota",
    ),
    pytest.param(
        [Write(BIG), Write(A)],
        30,
        (OverQuota(), ok(A)),
        1,
        id="a-smaller-write-after-a-refused-one",
    ),
]


@pytest.mark.parametrize(("writes", "others_bytes", "outcomes", "winner"), PLANS)
def test_each_write_gets_the_outcome_of_the_serial_order_of_the_batch(
    writes: list[Write], others_bytes: int, outcomes: tuple[object, ...], winner: int | None
) -> None:
    plan = plan_batch(writes, current=BASE, others_bytes=others_bytes, quota_bytes=QUOTA)

    assert plan.outcomes == outcomes
    assert plan.winner is (None if winner is None else writes[winner])


@pytest.mark.parametrize(("writes", "others_bytes", "outcomes", "winner"), PLANS)
def test_a_plan_given_the_history_only_when_it_needs_it_is_the_same(
    writes: list[Write], others_bytes: int, outcomes: tuple[object, ...], winner: int | None
) -> None:
    current = BASE if needs_current(writes, others_bytes, QUOTA) else None

    plan = plan_batch(writes, current=current, others_bytes=others_bytes, quota_bytes=QUOTA)

    assert plan.outcomes == outcomes
    assert plan.winner is (None if winner is None else writes[winner])


NEEDS_CURRENT = [
    pytest.param([], 0, False, id="empty"),
    pytest.param([Write(A), Write(B)], 0, False, id="unconditional"),
    pytest.param([Write(A, BASE.etag)], 0, True, id="if-match-first"),
    pytest.param([Write(A), Write(B, BASE.etag)], 0, False, id="if-match-after-an-accepted-write"),
    pytest.param([Write(BIG), Write(B, BASE.etag)], 30, True, id="if-match-after-a-refused-write"),
]


@pytest.mark.parametrize(("writes", "others_bytes", "needed"), NEEDS_CURRENT)
def test_the_history_is_needed_only_for_an_if_match_before_any_accepted_write(
    writes: list[Write], others_bytes: int, needed: bool
) -> None:
    assert needs_current(writes, others_bytes, QUOTA) is needed


def test_a_plan_refuses_to_guess_the_history_an_if_match_needs() -> None:
    with pytest.raises(ValueError, match="If-Match"):
        plan_batch([Write(A, BASE.etag)], current=None, others_bytes=0, quota_bytes=QUOTA)


PRECONDITIONS = [
    pytest.param(None, None, id="absent"),
    pytest.param(BASE.etag, None, id="current"),
    pytest.param("*", None, id="star"),
    pytest.param(f'"{"0" * 64}"', PreconditionFailed(BASE, f'"{"0" * 64}"'), id="stale"),
]


@pytest.mark.parametrize(("if_match", "refused"), PRECONDITIONS)
def test_precondition_refuses_only_an_if_match_that_does_not_name_the_history(
    if_match: str | None, refused: PreconditionFailed | None
) -> None:
    assert precondition(BASE, if_match) == refused


def test_refusals_name_their_domain_errors() -> None:
    stale = PreconditionFailed(BASE, '"stale"')

    assert isinstance(stale.error(), PreconditionFailedError)
    assert str(stale.error()) == f'history is at {BASE.etag}, not "stale"'
    assert isinstance(OverQuota().error(), QuotaExceededError)
