from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StorageLimits:
    """The limits a deployment enforces; every write checks the byte limits while bytes
    arrive. `history_revisions`: the revisions of each chat's history kept (at least the
    current one)."""

    quota_bytes: int
    max_file_bytes: int
    max_history_bytes: int
    history_revisions: int = 50

    def __post_init__(self) -> None:
        if self.history_revisions < 1:
            raise ValueError("at least the current history revision is kept")
