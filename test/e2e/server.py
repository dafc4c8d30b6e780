"""A real chatstore server process on a free loopback port, for end-to-end tests."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

_START_TIMEOUT_SECONDS = 30.0
_STOP_TIMEOUT_SECONDS = 10.0
_STDERR_TAIL_CHARS = 4000
# uvicorn re-raises the SIGTERM it handled once it has shut down, so -SIGTERM is graceful too.
GRACEFUL_EXIT_CODES = (0, -signal.SIGTERM)
SHUTDOWN_COMPLETE = "Application shutdown complete."
# The arguments of `python` that serve chatstore.
SERVE = ("-m", "api")


@dataclass(frozen=True)
class RunningServer:
    base_url: str
    pid: int
    data_dir: Path
    stderr: IO[bytes]

    def log(self) -> str:
        """Everything the server has written to stderr so far."""
        self.stderr.flush()
        with Path(f"/proc/self/fd/{self.stderr.fileno()}").open("rb") as again:
            return again.read().decode(errors="replace")

    def peak_rss_bytes(self) -> int:
        """The process's peak resident set size so far (VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("VmHWM not reported")

    def reset_peak_rss(self) -> None:
        """Make VmHWM restart from the current RSS (Linux: write 5 to clear_refs)."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(data_dir: Path, **settings: str) -> Iterator[RunningServer]:
    """Run `python -m api` on `data_dir` with `CHATSTORE_<KEY>=value` for each setting.

    On leaving the block the server gets SIGTERM. If the block itself succeeded, the server
    must then have shut down gracefully (its lifespan shutdown, which closes the metadata
    store, completed; uvicorn then exits with 0 or re-raises the SIGTERM): a server that died
    during the block, or did not stop cleanly, raises RuntimeError with the tail of its
    stderr. Its stderr goes to a temporary file, so a chatty server can never block on a
    full pipe.
    """
    with _launched(data_dir, settings) as launched:
        yield launched.wait_until_healthy()


@contextmanager
def running_servers(data_dir: Path, count: int, **settings: str) -> Iterator[list[RunningServer]]:
    """`count` servers on one data directory (and so, by default, one metadata store), each
    as in `running_server`. They are launched together, so they also start up (and bring a
    new metadata store's schema up to date) at the same time, as replicas deployed at once
    would."""
    with running_servers_on([data_dir] * count, **settings) as servers:
        yield servers


@contextmanager
def running_servers_on(data_dirs: Sequence[Path], **settings: str) -> Iterator[list[RunningServer]]:
    """One server on each of `data_dirs`, launched together as in `running_servers`: the
    one directory of a shared filesystem as each host mounts it, say."""
    with ExitStack() as stack:
        launched = [stack.enter_context(_launched(data_dir, settings)) for data_dir in data_dirs]
        yield [each.wait_until_healthy() for each in launched]


@contextmanager
def server_to_kill(
    data_dir: Path, *, command: Sequence[str] = SERVE, **settings: str
) -> Iterator[RunningServer]:
    """Like `running_server`, for a test that kills the server with SIGKILL inside the
    block: on leaving it, the server is killed if it still runs, and nothing more is
    checked. `command`: the arguments of `python` that run it, `-m api` unless told."""
    with tempfile.TemporaryFile() as stderr:
        launched = _spawn(data_dir, settings, stderr, command)
        try:
            yield launched.wait_until_healthy()
        finally:
            launched.process.kill()
            launched.process.wait(timeout=_STOP_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class TerminableServer:
    """A running server whose test sends SIGTERM itself and watches how the process ends."""

    server: RunningServer
    process: "subprocess.Popen[bytes]"

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, seconds: float) -> int:
        """The process's exit code, once it has exited (TimeoutExpired after `seconds`)."""
        return self.process.wait(timeout=seconds)


@contextmanager
def server_to_terminate(data_dir: Path, **settings: str) -> Iterator[TerminableServer]:
    """Like `server_to_kill`, for a test that stops the server with SIGTERM inside the
    block and checks its exit itself: on leaving, the server is killed if it still runs."""
    with tempfile.TemporaryFile() as stderr:
        launched = _spawn(data_dir, settings, stderr)
        try:
            yield TerminableServer(launched.wait_until_healthy(), launched.process)
        finally:
            if launched.process.poll() is None:
                launched.process.kill()
            launched.process.wait(timeout=_STOP_TIMEOUT_SECONDS)


def _spawn(
    data_dir: Path, settings: dict[str, str], stderr: IO[bytes], command: Sequence[str] = SERVE
) -> "_Launched":
    """`python <command>` on `data_dir` and a free port, its stderr into `stderr`."""
    port = free_port()
    env = {
        **os.environ,
        "CHATSTORE_DATA_DIR": str(data_dir),
        "CHATSTORE_HOST": "127.0.0.1",
        "CHATSTORE_PORT": str(port),
        **{f"CHATSTORE_{key.upper()}": value for key, value in settings.items()},
    }
    process = subprocess.Popen(
        [sys.executable, *command], env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )
    return _Launched(process, f"http://127.0.0.1:{port}", data_dir, stderr)


@dataclass(frozen=True)
class _Launched:
    process: "subprocess.Popen[bytes]"
    base_url: str
    data_dir: Path
    stderr: IO[bytes]

    def wait_until_healthy(self) -> RunningServer:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"server exited with {code}: {_tail(self.stderr)}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return RunningServer(
                        self.base_url, self.process.pid, self.data_dir, self.stderr
                    )
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server at {self.base_url} did not become healthy")


@contextmanager
def _launched(data_dir: Path, settings: dict[str, str]) -> Iterator[_Launched]:
    """A started server process, stopped (and, if the block succeeded, checked) on exit."""
    with tempfile.TemporaryFile() as stderr:
        launched = _spawn(data_dir, settings, stderr)
        process, base_url = launched.process, launched.base_url
        try:
            yield launched
        except BaseException:
            _stop(process)
            raise
        died_early = process.poll() is not None
        exit_code = _stop(process)
        log = _tail(stderr)
        clean = exit_code in GRACEFUL_EXIT_CODES and SHUTDOWN_COMPLETE in log
        if died_early or not clean:
            how = "died while in use" if died_early else "did not stop cleanly on SIGTERM"
            raise RuntimeError(f"server {base_url} {how} (exit {exit_code}); stderr:\n{log}")


def _stop(process: "subprocess.Popen[bytes]") -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=_STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -signal.SIGKILL


def _tail(stderr: IO[bytes]) -> str:
    stderr.seek(0)
    text = stderr.read().decode(errors="replace")
    return text if len(text) <= _STDERR_TAIL_CHARS else "..." + text[-_STDERR_TAIL_CHARS:]
