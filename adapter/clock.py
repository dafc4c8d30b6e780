from datetime import UTC, datetime

from usecase.ports.runtime import Clock


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)
