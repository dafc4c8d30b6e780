"""A chat's kept history revisions as one value: what each change of the history makes of
them, what they keep on disk beside the history, and what that costs in the quota
(ADR 0022). Pure: the use cases read the records, ask this what to write, then write it."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.history import EMPTY_HISTORY, HistoryVersion
from domain.history_revision import HistoryRevision, RevisionSource


@dataclass(frozen=True, slots=True)
class RevisionLog:
    """The kept revisions of one chat, oldest first, never empty; at most `limit` of them
    once a change has pruned. `next_revision` is the number the next change takes: numbers
    a client may have seen are never taken again, even when their revisions are gone."""

    kept: tuple[HistoryRevision, ...]
    limit: int
    next_revision: int

    def __post_init__(self) -> None:
        if not self.kept:
            raise ValueError("a revision log keeps at least the current revision")
        if self.limit < 1:
            raise ValueError(f"limit {self.limit} must keep at least the current revision")
        if self.next_revision <= self.kept[-1].revision:
            raise ValueError(f"next revision {self.next_revision} is already taken")

    @classmethod
    def of(cls, kept: Iterable[HistoryRevision], limit: int) -> "RevisionLog":
        """The log of the records read from the store, in any order."""
        ordered = tuple(sorted(kept, key=lambda revision: revision.revision))
        return cls(ordered, limit, ordered[-1].revision + 1 if ordered else 0)

    @classmethod
    def created(cls, chat_id: UUID, at: datetime, limit: int) -> "RevisionLog":
        """The log of a new chat: revision 0, its empty history."""
        return cls((first_revision(chat_id, at),), limit, 1)

    @property
    def latest(self) -> HistoryRevision:
        return self.kept[-1]

    @property
    def version(self) -> HistoryVersion:
        """The history the latest revision says the chat holds."""
        return version_of(self.latest)

    def get(self, revision: int) -> HistoryRevision | None:
        for kept in self.kept:
            if kept.revision == revision:
                return kept
        return None

    def newest_with(self, version: HistoryVersion) -> HistoryRevision | None:
        """The newest kept revision whose content is `version`."""
        for kept in reversed(self.kept):
            if version_of(kept) == version:
                return kept
        return None

    def runs_kept_apart(self) -> dict[int, int]:
        """Each run whose bytes must be kept beside the history, and how many: every run a
        kept revision with content belongs to, but the latest's (its bytes are the history
        itself). A run's revisions are prefixes of each other, so its file is as long as
        the longest of them."""
        sizes: dict[int, int] = {}
        for kept in self.kept:
            if kept.size_bytes and kept.run != self.latest.run:
                sizes[kept.run] = max(sizes.get(kept.run, 0), kept.size_bytes)
        return sizes

    @property
    def revision_bytes(self) -> int:
        """What the revisions keep on disk beside the history (api.md `revision_bytes`)."""
        return sum(self.runs_kept_apart().values())

    @property
    def charged_bytes(self) -> int:
        """What the chat's history and revisions count in the quota together."""
        return self.latest.size_bytes + self.revision_bytes

    def made(
        self, source: RevisionSource, version: HistoryVersion, at: datetime, *, continues: bool
    ) -> "RevisionLog":
        """The log once a change made `version` the history: a new revision, continuing the
        latest's run when `continues` (its content begins with the latest's), else starting
        a run of its own; the oldest revisions pruned to `limit`."""
        number = self.next_revision
        revision = HistoryRevision(
            chat_id=self.latest.chat_id,
            revision=number,
            sha256=version.sha256,
            size_bytes=version.size_bytes,
            source=source,
            created_at=at,
            run=self.latest.run if continues else number,
        )
        kept = (*self.kept, revision)[-self.limit :]
        return RevisionLog(kept, self.limit, number + 1)

    def pruned(self) -> "RevisionLog":
        """Only the current revision kept (`DELETE .../history/revisions`)."""
        return RevisionLog((self.latest,), self.limit, self.next_revision)

    def cut_after(self, revision: HistoryRevision) -> "RevisionLog":
        """The log as it was when `revision` was the latest: the changes after it never
        reached the disk (a crash came between their records and their bytes), so nobody
        was told their numbers, which the next change takes again."""
        kept = tuple(kept for kept in self.kept if kept.revision <= revision.revision)
        return RevisionLog(kept, self.limit, revision.revision + 1)

    def without_current_run(self) -> "RevisionLog":
        """The log once the bytes of the latest's run are lost (the history was changed
        behind the service's back, not by growing): its revisions with content go, the
        latest among them too, though their numbers stay taken. The empty ones stay,
        since an empty revision needs no bytes; so does the latest when it is empty."""
        run = self.latest.run
        kept = tuple(kept for kept in self.kept if kept.run != run or not kept.size_bytes)
        if not kept:
            kept = (self.latest,)  # not reached: a run with content starts empty-free
        return RevisionLog(kept, self.limit, self.next_revision)

    def without_runs(self, runs: set[int]) -> "RevisionLog":
        """The log once the kept bytes of `runs` are found gone: their revisions with
        content go (never the latest, whose bytes are the history)."""
        kept = tuple(
            kept
            for kept in self.kept
            if kept is self.latest or kept.run not in runs or not kept.size_bytes
        )
        return RevisionLog(kept, self.limit, self.next_revision)

    def changes_to(
        self, after: "RevisionLog"
    ) -> tuple[tuple[HistoryRevision, ...], tuple[HistoryRevision, ...]]:
        """The records to remove and to add to go from this log to `after`."""
        before_numbers = {kept.revision: kept for kept in self.kept}
        after_numbers = {kept.revision: kept for kept in after.kept}
        removed = tuple(
            kept for number, kept in before_numbers.items() if after_numbers.get(number) != kept
        )
        added = tuple(
            kept for number, kept in after_numbers.items() if before_numbers.get(number) != kept
        )
        return removed, added


def first_revision(chat_id: UUID, at: datetime) -> HistoryRevision:
    """Revision 0: the empty history a chat starts with."""
    return HistoryRevision(
        chat_id=chat_id,
        revision=0,
        sha256=EMPTY_HISTORY.sha256,
        size_bytes=0,
        source=RevisionSource.CREATE,
        created_at=at,
        run=0,
    )


def version_of(revision: HistoryRevision) -> HistoryVersion:
    return revision.version
