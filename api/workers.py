"""Several server processes on one listening socket, data directory and metadata store
(`CHATSTORE_WORKERS`, ADR 0033).

The supervisor, in the process `python -m api` started, binds the socket once and spawns
each worker as a fresh interpreter (multiprocessing's `spawn`: nothing of the supervisor's
state, threads, descriptors or flocks is inherited, so each worker takes its own chat
locks and its own staging area as a second instance on the data directory would). Each
worker serves the shared socket with `WorkerServer`, the graceful server of ADR 0029, and
tells the supervisor once it serves.

- The first worker starts alone, so that it alone settles what a previous run's crash left
  (ADR 0011); the others start once it serves. A worker that cannot start then stops the
  others, and the supervisor exits with 3.
- A worker that dies is replaced at once; a replacement that dies before it serves is
  tried again after 1 s, then 2 s, ... up to 30 s, while its siblings serve on. Its
  start-up settles only what dead processes left: a live sibling's change holds the
  chat's lock across processes, and its staging area's flock (ADR 0010).
- SIGTERM or SIGINT: the supervisor closes its copy of the socket and sends each worker
  SIGTERM, whose shutdown then runs as ADR 0029 says; the supervisor waits for them (then
  kills what still runs after the deadline, the unwinding and a margin for closing) and
  exits with 0 if every worker stopped cleanly, else 1. A second SIGINT is passed on, to
  force the exit as it does for one server.
- A worker whose supervisor is gone (killed, say) shuts down as on SIGTERM: it notices
  its end of their pipe closing.
"""

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn

from api.app import create_app
from api.server_config import server_config
from api.settings import Settings, load_settings
from api.shutdown import UNWIND_SECONDS, GracefulServer

STARTUP_FAILURE = 3
# Beyond the requests' deadline and their unwinding: the lifespan shutdown (closing the
# metadata store) and the process's exit.
CLOSE_SECONDS = 10.0
FIRST_RETRY_SECONDS = 1.0
LAST_RETRY_SECONDS = 30.0
# uvicorn re-raises the SIGTERM it handled once it has shut down.
CLEAN_EXIT_CODES = (0, -signal.SIGTERM, -signal.SIGINT)
# What a worker writes on its pipe once it serves.
SERVING = b"serving"

_log = logging.getLogger("chatstore")
_spawn = multiprocessing.get_context("spawn")


class WorkerServer(GracefulServer):
    """A worker's server: the graceful one, which tells the supervisor once it serves and
    shuts down if the supervisor goes away."""

    def __init__(
        self, config: uvicorn.Config, deadline_seconds: float, supervisor: Connection
    ) -> None:
        super().__init__(config, deadline_seconds)
        self.supervisor = supervisor

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.supervisor.send_bytes(SERVING)

    def watch_supervisor(self) -> None:
        """Block until the supervisor's end of the pipe closes, then shut down as on
        SIGTERM (run in a daemon thread; the supervisor never writes to the pipe)."""
        try:
            while True:
                self.supervisor.recv_bytes()
        except (EOFError, OSError):
            pass
        if not self.should_exit:
            _log.warning("the supervisor is gone: shutting down")
            self.should_exit = True


def serve_worker(listener: socket.socket, supervisor: Connection) -> None:
    """A worker process's body: serve `listener` with the settings from the environment
    (which the supervisor has already checked), exiting with 3 if it never served."""
    settings = load_settings()
    config = server_config(create_app(settings), settings)
    server = WorkerServer(config, settings.shutdown_seconds, supervisor)
    threading.Thread(target=server.watch_supervisor, name="supervisor", daemon=True).start()
    server.run(sockets=[listener])
    sys.exit(0 if server.started else STARTUP_FAILURE)


def listen(settings: Settings, backlog: int) -> socket.socket:
    """The socket every worker accepts on (OSError if it cannot be bound)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((settings.host, settings.port))
        listener.listen(backlog)
    except OSError:
        listener.close()
        raise
    return listener


@dataclass
class _Worker:
    number: int
    process: SpawnProcess
    pipe: Connection
    serving: bool = False
    hung_up: bool = False  # its end of the pipe closed: it is exiting
    failures: int = 0  # times in a row it died before serving

    @property
    def pid(self) -> int:
        pid = self.process.pid
        assert pid is not None  # started
        return pid


@dataclass
class Supervisor:
    """Runs `settings.workers` workers on `listener` until SIGTERM or SIGINT (see the
    module's docstring); `target(listener, pipe)` is a worker's body."""

    settings: Settings
    listener: socket.socket
    target: Callable[[socket.socket, Connection], None] = serve_worker
    _workers: list[_Worker] = field(default_factory=list)
    _stopping: list[int] = field(default_factory=list)
    _wakeup: tuple[socket.socket, socket.socket] = field(default_factory=socket.socketpair)
    # When each worker waiting to be tried again may start: number -> monotonic time.
    _retry_at: dict[int, float] = field(default_factory=dict)

    def run(self) -> int:
        """Serve until a signal; the process's exit code."""
        previous = self._catch_signals()
        try:
            _log.info(
                "serving on %s:%d with %d workers",
                self.settings.host,
                self.settings.port,
                self.settings.workers,
            )
            if not self._start_all():
                stopped_cleanly = self._stop_all()
                # A signal during start-up is a stop, not a failure to start.
                if not self._stopping:
                    return STARTUP_FAILURE
                return 0 if stopped_cleanly else 1
            while not self._stopping:
                self._tend()
            return 0 if self._stop_all() else 1
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            signal.set_wakeup_fd(-1)
            for end in self._wakeup:
                end.close()
            self.listener.close()

    def _catch_signals(self) -> dict[int, Callable[[int, FrameType | None], object] | int]:
        reader, writer = self._wakeup
        reader.setblocking(False)
        writer.setblocking(False)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)

        def note(signum: int, _: FrameType | None) -> None:
            self._stopping.append(signum)

        previous: dict[int, Callable[[int, FrameType | None], object] | int] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            handler = signal.getsignal(signum)
            previous[signum] = handler if handler is not None else signal.SIG_DFL
            signal.signal(signum, note)
        return previous

    def _start_all(self) -> bool:
        """The first worker, then the others once it serves; whether all came to serve."""
        for number in range(self.settings.workers):
            self._workers.append(self._spawn(number))
            if number == 0 and not self._until_serving(self._workers[:1]):
                return False
        return self._until_serving(self._workers)

    def _spawn(self, number: int, failures: int = 0) -> _Worker:
        ours, theirs = _spawn.Pipe()
        process = _spawn.Process(
            target=self.target, args=(self.listener, theirs), name=f"chatstore-worker-{number}"
        )
        process.start()
        theirs.close()
        worker = _Worker(number, process, ours, failures=failures)
        _log.info("started worker %d (pid %d)", number, worker.pid)
        return worker

    def _until_serving(self, workers: list[_Worker]) -> bool:
        """Wait until every one of `workers` serves (True), or one dies first or a signal
        comes (False)."""
        while not all(worker.serving for worker in workers):
            if self._stopping:
                return False
            self._wait(workers, timeout=None)
            for worker in workers:
                if not worker.process.is_alive():
                    when = "while the others started" if worker.serving else "before it served"
                    _log.error(
                        "worker %d (pid %d) exited with %s %s",
                        worker.number,
                        worker.pid,
                        worker.process.exitcode,
                        when,
                    )
                    return False
        return True

    def _wait(self, workers: list[_Worker], timeout: float | None) -> None:
        """Until one of `workers` dies or reports it serves, a signal comes, or `timeout`."""
        waiting: list[object] = [self._wakeup[0]]
        for worker in workers:
            waiting.append(worker.process.sentinel)
            if not (worker.serving or worker.hung_up):
                waiting.append(worker.pipe)
        for ready in wait(waiting, timeout):  # type: ignore[arg-type]
            if ready is self._wakeup[0]:
                self._drain_wakeup()
        for worker in workers:
            if not (worker.serving or worker.hung_up) and worker.pipe.poll():
                try:
                    worker.serving = worker.pipe.recv_bytes() == SERVING
                except (EOFError, OSError):
                    worker.hung_up = True  # it is exiting: its sentinel says so next
                    continue
                if worker.serving:
                    worker.failures = 0
                    _log.info("worker %d (pid %d) serves", worker.number, worker.pid)

    def _drain_wakeup(self) -> None:
        try:
            while self._wakeup[0].recv(64):
                pass
        except BlockingIOError:
            pass

    def _tend(self) -> None:
        """Wait for a worker to die, a replacement to serve, a retry to fall due or a
        signal; replace the dead ones."""
        now = time.monotonic()
        timeout = min((at - now for at in self._retry_at.values()), default=None)
        waiting = [worker for worker in self._workers if worker.number not in self._retry_at]
        self._wait(waiting, timeout=None if timeout is None else max(timeout, 0.0))
        if self._stopping:
            return
        for index, worker in enumerate(self._workers):
            if worker.number in self._retry_at or worker.process.is_alive():
                continue
            worker.process.join()
            worker.pipe.close()
            if worker.serving:
                _log.error(
                    "worker %d (pid %d) died (exit %s); starting a replacement",
                    worker.number,
                    worker.pid,
                    worker.process.exitcode,
                )
                self._workers[index] = self._spawn(worker.number)
            else:
                delay = min(FIRST_RETRY_SECONDS * 2**worker.failures, LAST_RETRY_SECONDS)
                _log.error(
                    "worker %d (pid %d) exited with %s before it served; trying again in %gs",
                    worker.number,
                    worker.pid,
                    worker.process.exitcode,
                    delay,
                )
                self._retry_at[worker.number] = time.monotonic() + delay
        now = time.monotonic()
        for index, worker in enumerate(self._workers):
            due = self._retry_at.get(worker.number)
            if due is not None and due <= now:
                del self._retry_at[worker.number]
                self._workers[index] = self._spawn(worker.number, worker.failures + 1)

    def _stop_all(self) -> bool:
        """SIGTERM to every worker, and wait for them; whether all stopped cleanly."""
        self.listener.close()  # with the workers' copies closed, connections are refused
        live = [worker for worker in self._workers if worker.process.is_alive()]
        _log.info("stopping %d worker(s)", len(live))
        for worker in live:
            worker.process.terminate()
        deadline = time.monotonic() + self.settings.shutdown_seconds + UNWIND_SECONDS
        deadline += CLOSE_SECONDS
        signals_seen = len(self._stopping)
        while running := [worker for worker in live if worker.process.is_alive()]:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._wait(running, timeout=left)
            if len(self._stopping) > signals_seen:
                signals_seen = len(self._stopping)
                if self._stopping[-1] == signal.SIGINT:
                    for worker in running:
                        _signal(worker, signal.SIGINT)
        clean = True
        for worker in live:
            if worker.process.is_alive():
                _log.error(
                    "worker %d (pid %d) did not stop in time: killed", worker.number, worker.pid
                )
                worker.process.kill()
                clean = False
            worker.process.join()
            worker.pipe.close()
            if worker.process.exitcode not in CLEAN_EXIT_CODES:
                clean = False
        return clean


def _signal(worker: _Worker, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(worker.pid, signum)
