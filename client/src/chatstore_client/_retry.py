"""When to send a request again, and after how long: the retry rule shared by both clients.

Only idempotent methods are retried, only after a connection error or a `503`, and only
when the body can be sent again. The delay is exponential backoff with full jitter
(a uniform draw between 0 and the capped exponential), or the service's `Retry-After`.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
RETRIED_STATUSES = frozenset({503})
# A Retry-After longer than this is not waited for: the error is raised instead.
_MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """The n-th retry (0-based) waits a uniform draw in [0, min(maximum, initial * 2**n)]."""

    initial: float = 0.5
    maximum: float = 8.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < self.initial:
            raise ValueError("backoff wants 0 <= initial <= maximum")

    def delay(self, retries_done: int, draw: float) -> float:
        """The wait before the next retry, for a `draw` uniform in [0, 1)."""
        return draw * min(self.maximum, self.initial * 2.0**retries_done)


class RetryState:
    """One call's retries: ask after each failed attempt how long to wait, None to stop."""

    def __init__(
        self,
        method: str,
        *,
        replayable: bool,
        max_retries: int,
        backoff: Backoff,
        draw: Callable[[], float] = random.random,
    ) -> None:
        retryable = method.upper() in IDEMPOTENT_METHODS and replayable
        self._left = max_retries if retryable else 0
        self._done = 0
        self._backoff = backoff
        self._draw = draw

    def after_connection_error(self) -> float | None:
        return self._next_delay(None)

    def after_response(self, response: httpx.Response) -> float | None:
        if response.status_code not in RETRIED_STATUSES:
            return None
        return self._next_delay(_retry_after(response))

    def _next_delay(self, retry_after: float | None) -> float | None:
        if self._left <= 0:
            return None
        if retry_after is not None and retry_after > _MAX_RETRY_AFTER_SECONDS:
            return None
        self._left -= 1
        delay = (
            retry_after
            if retry_after is not None
            else self._backoff.delay(self._done, self._draw())
        )
        self._done += 1
        return delay


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by chatstore and is ignored)."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
