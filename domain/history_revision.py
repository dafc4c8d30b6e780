from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.etag import strong_etag
from domain.history import HistoryVersion


class RevisionSource(StrEnum):
    """The change of a chat's history that made a revision."""

    CREATE = "create"
    PUT = "put"
    APPEND = "append"
    RESTORE = "restore"
    FORK = "fork"
    IMPORT = "import"
    SANDBOX = "sandbox"


@dataclass(frozen=True, slots=True)
class HistoryRevision:
    """One version of a chat's history, as a change of it left it.

    `revision` counts from 0 per chat; 0 is the empty history a chat starts with. `run` is
    the revision whose write began the bytes this revision's content is a prefix of: an
    append continues the run of the revision before it, and every other change starts a run
    of its own (`run == revision`).
    """

    chat_id: UUID
    revision: int
    sha256: str
    size_bytes: int
    source: RevisionSource
    created_at: datetime
    run: int

    def __post_init__(self) -> None:
        if not 0 <= self.run <= self.revision:
            raise ValueError(f"run {self.run} must be between 0 and revision {self.revision}")
        if self.size_bytes < 0:
            raise ValueError(f"size_bytes {self.size_bytes} must not be negative")

    @property
    def etag(self) -> str:
        return strong_etag(self.sha256)

    @property
    def version(self) -> HistoryVersion:
        """The history this revision holds."""
        return HistoryVersion(self.sha256, self.size_bytes)
