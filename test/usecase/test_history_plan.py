import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.errors import PreconditionFailedError, QuotaExceededError
from domain.history import HistoryVersion
from domain.history_revision import RevisionSource
from domain.revision_log import RevisionLog
from domain.revision_log import version_of as revision_version
from usecase.history_plan import (
    Accepted,
    BatchPlan,
    Outcome,
    OverQuota,
    PreconditionFailed,
    plan_batch,
    precondition,
)

QUOTA = 100
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


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


def ok(body: bytes) -> tuple[str, HistoryVersion]:
    return ("accepted", version_of(body))


def seen(outcome: Outcome) -> object:
    """An outcome as the tables name it: an accepted write by the version it made."""
    if isinstance(outcome, Accepted):
        return ("accepted", revision_version(outcome.revision))
    return outcome


def log_at(base: HistoryVersion, limit: int) -> RevisionLog:
    """A chat whose history is `base`, made by a PUT after its empty revision 0."""
    created = RevisionLog.created(uuid4(), T0, limit)
    return created.made(RevisionSource.PUT, base, T0, continues=False)


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
    # One revision kept: nothing is kept beside the history, as before revisions.
    made = plan(writes, log_at(BASE, limit=1), others_bytes)

    assert tuple(seen(outcome) for outcome in made.outcomes) == outcomes
    assert made.winner is (None if winner is None else writes[winner])


def plan(writes: list[Write], log: RevisionLog, others_bytes: int) -> BatchPlan[Write]:
    return plan_batch(writes, log=log, others_bytes=others_bytes, quota_bytes=QUOTA, at=T0)


def test_each_accepted_write_makes_the_next_revision_a_run_of_its_own() -> None:
    writes = [Write(A), Write(B, BASE.etag), Write(C)]

    made = plan(writes, log_at(BASE, limit=50), 0)

    revisions = [outcome.revision for outcome in made.outcomes if isinstance(outcome, Accepted)]
    assert [(revision.revision, revision.run) for revision in revisions] == [(2, 2), (3, 3)]
    assert made.log.latest == revisions[-1]
    assert made.log.runs_kept_apart() == {1: len(b"# base"), 2: len(A)}
    assert made.kept_bodies(writes) == [(2, writes[0])]


def test_the_quota_counts_what_the_revisions_keep_beside_the_history() -> None:
    # Accepting BIG keeps BASE's run apart: 80 + 6 over what 20 leave; with one revision
    # kept nothing is kept apart and it fits exactly.
    assert seen(plan([Write(BIG)], log_at(BASE, limit=50), 20).outcomes[0]) == OverQuota()
    assert seen(plan([Write(BIG)], log_at(BASE, limit=1), 20).outcomes[0]) == ok(BIG)


def test_a_body_pruned_within_its_own_batch_is_not_kept() -> None:
    writes = [Write(A), Write(B), Write(C)]

    made = plan(writes, log_at(BASE, limit=2), 0)

    assert [kept.revision for kept in made.log.kept] == [3, 4]
    assert made.kept_bodies(writes) == [(3, writes[1])]


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
