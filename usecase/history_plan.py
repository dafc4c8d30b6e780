"""The plan of a batch of history writes (ADR 0012): what each write's outcome is in the
serial order of the batch, decided from figures alone, without I/O.

Each write is checked in arrival order: its `If-Match` against the version the writes
before it left (the history as it is, until one is accepted), then what it would charge
the quota (its history and the revisions kept then, ADR 0022) given the bytes the rest of
the workspace uses. Each accepted write makes a revision; only the last accepted write,
the winner, needs to reach the disk as the history: the serial order would replace every
other accepted one with it at once, and their bodies are kept as their revisions.

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
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from domain.errors import PreconditionFailedError, QuotaExceededError
from domain.history import HistoryVersion
from domain.history_revision import HistoryRevision, RevisionSource
from domain.revision_log import RevisionLog
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
    """The write replaces the history, making `revision`."""

    revision: HistoryRevision


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
    """One outcome per write, in order, the last accepted write (None if none was), and
    the chat's revisions once the accepted ones are made."""

    outcomes: tuple[Outcome, ...]
    winner: W | None
    log: RevisionLog

    def kept_bodies(self, writes: Sequence[W]) -> list[tuple[int, W]]:
        """Each accepted write but the winner whose revision is still kept once the batch
        is made, with its run: its body must be kept as that run's content."""
        needed = self.log.runs_kept_apart()
        return [
            (outcome.revision.run, write)
            for write, outcome in zip(writes, self.outcomes, strict=True)
            if isinstance(outcome, Accepted)
            and write is not self.winner
            and outcome.revision.run in needed
        ]


def precondition(current: HistoryVersion, if_match: str | None) -> PreconditionFailed | None:
    """Why a write with `if_match` may not replace `current`, or None if it may."""
    if if_match is None or current.matches(if_match):
        return None
    return PreconditionFailed(current, if_match)


def plan_batch(
    writes: Sequence[W],
    *,
    log: RevisionLog,
    others_bytes: int,
    quota_bytes: int,
    at: datetime,
) -> BatchPlan[W]:
    """Each write's outcome in the serial order of `writes`, given the chat's revisions
    (whose latest is the history as it is) and the bytes the rest of the workspace uses."""
    outcomes: list[Outcome] = []
    winner: W | None = None
    for write in writes:
        refused = precondition(log.version, write.if_match)
        made = log.made(RevisionSource.PUT, write.version, at, continues=False)
        outcome: Outcome
        if refused is not None:
            outcome = refused
        elif not fits_beside(others_bytes, made.charged_bytes, quota_bytes):
            outcome = OverQuota()
        else:
            outcome = Accepted(made.latest)
            log, winner = made, write
        outcomes.append(outcome)
    return BatchPlan(tuple(outcomes), winner, log)
