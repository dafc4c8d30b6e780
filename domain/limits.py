from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StorageLimits:
    """The byte limits a deployment enforces; every write checks them while bytes arrive."""

    quota_bytes: int
    max_file_bytes: int
    max_history_bytes: int
