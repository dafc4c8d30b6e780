"""The plan of a batch of history writes (ADR 0012): what each write's outcome is in the
serial order of the batch, decided from figures alone, without I/O.

Each write is checked in arrival order: its `If-Match` against the version the writes
before it left (the history as it is, until one is accepted), then its size against the
quota given the bytes the rest of the workspace uses. Only the last accepted write, the
winner, needs to reach the disk: the serial order would replace every other accepted one
with it at once.

`precondition` is the one home of the `If-Match` rule. `PutHistory` also applies it once
before it streams a body, against the history as it is then: that check is what lets a
stale write answer `412` before its body is read (RFC 9110 13.2.2 evaluates preconditions
before the content is processed, so a stale `If-Match` answers `412`, not `413`, `422` or
`507`, and a client that sent `Expect: 100-continue` never sends the doomed body). The plan
checks again under the chat's lock, since the history may have changed in between; only
that check decides a write that passed the first.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from domain.errors import PreconditionFailedError, QuotaExceededError
from domain.history import HistoryVersion
from usecase.quota import fits_beside, quota_exceeded


class PlannedWrite(Protocol):
    """What the plan reads of a write: the version it would make and its `If-Match`."""

    @property
    def version(self) -> HistoryVersion: ...

    @property
    def if_match(self) -> str | None: ...


W = TypeVar("W", bound=PlannedWrite)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The write replaces the history with `version`."""

    version: HistoryVersion


@dataclass(frozen=True, slots=True)
class PreconditionFailed:
    """The write's `If-Match` does not name the version it would replace."""

    current: HistoryVersion
    if_match: str

    def error(self) -> PreconditionFailedError:
        return PreconditionFailedError(f"history is at {self.current.etag}, not {self.if_match}")


@dataclass(frozen=True, slots=True)
class OverQuota:
    """The write would take the workspace over its quota."""

    def error(self) -> QuotaExceededError:
        return quota_exceeded()


Outcome = Accepted | PreconditionFailed | OverQuota


@dataclass(frozen=True, slots=True)
class BatchPlan(Generic[W]):
    """One outcome per write, in order, and the last accepted write (None if none was)."""

    outcomes: tuple[Outcome, ...]
    winner: W | None


def precondition(current: HistoryVersion, if_match: str | None) -> PreconditionFailed | None:
    """Why a write with `if_match` may not replace `current`, or None if it may."""
    if if_match is None or current.matches(if_match):
        return None
    return PreconditionFailed(current, if_match)


def needs_current(writes: Sequence[PlannedWrite], others_bytes: int, quota_bytes: int) -> bool:
    """Whether the plan must be given the history as it is: only if a write with an
    `If-Match` comes before every accepted write (reading it means hashing it)."""
    for write in writes:
        if write.if_match is not None:
            return True
        if _fits(write, others_bytes, quota_bytes):
            return False  # accepted: the writes after it are checked against it
    return False


def plan_batch(
    writes: Sequence[W],
    *,
    current: HistoryVersion | None,
    others_bytes: int,
    quota_bytes: int,
) -> BatchPlan[W]:
    """Each write's outcome in the serial order of `writes`, given the history as it is
    (`current`, which may be None only if `needs_current` says so) and the bytes the rest of
    the workspace uses."""
    outcomes: list[Outcome] = []
    winner: W | None = None
    for write in writes:
        outcome = _outcome(write, current, others_bytes, quota_bytes)
        if isinstance(outcome, Accepted):
            current, winner = outcome.version, write
        outcomes.append(outcome)
    return BatchPlan(tuple(outcomes), winner)


def _outcome(
    write: PlannedWrite, current: HistoryVersion | None, others_bytes: int, quota_bytes: int
) -> Outcome:
    if write.if_match is not None:
        if current is None:
            raise ValueError("a write has an If-Match: the plan needs the history as it is")
        refused = precondition(current, write.if_match)
        if refused is not None:
            return refused
    if not _fits(write, others_bytes, quota_bytes):
        return OverQuota()
    return Accepted(write.version)


def _fits(write: PlannedWrite, others_bytes: int, quota_bytes: int) -> bool:
    return fits_beside(others_bytes, write.version.size_bytes, quota_bytes)
