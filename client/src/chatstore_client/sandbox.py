"""A sandbox session held for the length of a `with` block: started on entry, kept alive by
heartbeats at a fraction of its ttl (a thread for `Client`, a task for `AsyncClient`), and
ended on exit, also when the block raises."""

import logging
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import anyio

from chatstore_client.errors import ChatstoreError, SandboxSessionNotFoundError
from chatstore_client.models import SandboxSession

logger = logging.getLogger("chatstore_client")

# A heartbeat every third of the ttl leaves two more chances before the lease expires.
HEARTBEAT_FRACTION = 1 / 3


def heartbeat_interval(session: SandboxSession, every: float | None) -> float:
    if every is not None:
        if every <= 0:
            raise ValueError("heartbeat_every is a positive number of seconds")
        return every
    ttl = (session.expires_at - session.started_at).total_seconds()
    return max(ttl * HEARTBEAT_FRACTION, 0.01)


class _LeaseState:
    """What both leases report: the session as last seen, and how its heartbeats went."""

    session: SandboxSession
    heartbeats: int = 0
    # The last heartbeat's error, cleared by the next heartbeat that succeeds.
    heartbeat_error: ChatstoreError | None = None
    # True once a heartbeat found the session gone (ended or expired): nothing holds the
    # chat any more, and no more heartbeats are sent.
    lost: bool = False

    def _record(self, outcome: SandboxSession | ChatstoreError) -> None:
        if isinstance(outcome, SandboxSession):
            self.session = outcome
            self.heartbeats += 1
            self.heartbeat_error = None
            return
        self.heartbeat_error = outcome
        self.lost = isinstance(outcome, SandboxSessionNotFoundError)
        logger.warning("sandbox session heartbeat failed: %s", outcome)

    def _end_failed(self, error: ChatstoreError, block_error: BaseException | None) -> None:
        if block_error is None:
            raise error
        # The block's own exception is the one to see; that ending the session failed too
        # is noted on it, not raised over it.
        block_error.add_note(f"ending sandbox session {self.session.session_id} failed: {error}")
        logger.warning("could not end sandbox session: %s", error)


class SandboxLease(_LeaseState):
    """`with client.sandbox_session(...) as lease:`; heartbeats from a daemon thread."""

    def __init__(
        self,
        start: Callable[[], SandboxSession],
        heartbeat: Callable[[SandboxSession], SandboxSession],
        end: Callable[[SandboxSession], None],
        heartbeat_every: float | None,
    ) -> None:
        self._start, self._heartbeat, self._end = start, heartbeat, end
        self._every = heartbeat_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.session = self._start()
        interval = heartbeat_interval(self.session, self._every)
        self._thread = threading.Thread(
            target=self._beat, args=(interval,), name="chatstore-heartbeat", daemon=True
        )
        self._thread.start()
        return self

    def _beat(self, interval: float) -> None:
        while not self.lost and not self._stop.wait(interval):
            try:
                outcome: SandboxSession | ChatstoreError = self._heartbeat(self.session)
            except ChatstoreError as error:
                outcome = error
            self._record(outcome)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self._end(self.session)
        except ChatstoreError as error:
            self._end_failed(error, exc)


class AsyncSandboxLease(_LeaseState):
    """`async with client.sandbox_session(...) as lease:`; heartbeats from a task."""

    def __init__(
        self,
        start: Callable[[], Awaitable[SandboxSession]],
        heartbeat: Callable[[SandboxSession], Awaitable[SandboxSession]],
        end: Callable[[SandboxSession], Awaitable[None]],
        heartbeat_every: float | None,
    ) -> None:
        self._start, self._heartbeat, self._end = start, heartbeat, end
        self._every = heartbeat_every
        self._group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        self.session = await self._start()
        interval = heartbeat_interval(self.session, self._every)
        group = anyio.create_task_group()
        await group.__aenter__()
        group.start_soon(self._beat, interval)
        self._group = group
        return self

    async def _beat(self, interval: float) -> None:
        while not self.lost:
            await anyio.sleep(interval)
            try:
                outcome: SandboxSession | ChatstoreError = await self._heartbeat(self.session)
            except ChatstoreError as error:
                outcome = error
            self._record(outcome)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        block_error = exc
        try:
            if self._group is not None:
                self._group.cancel_scope.cancel()
                # Raises the cancellation when the block was cancelled from outside.
                await self._group.__aexit__(None, None, None)
        except BaseException as cancelled:
            block_error = cancelled
            raise
        finally:
            # Shielded, so that a block left by cancellation still ends its session.
            with anyio.CancelScope(shield=True):
                try:
                    await self._end(self.session)
                except ChatstoreError as error:
                    self._end_failed(error, block_error)
