"""Processes the bench starts: each in its own session, pinned to a core, stopped by PID."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cores() -> tuple[int, int]:
    """(server core, client core): 0 and 1, or 0 and 0 on a one-core machine."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return available[0], available[0]
    return available[0], available[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _inherited_env() -> dict[str, str]:
    """The bench's environment less any CHATSTORE_* setting, which would skew the servers."""
    return {key: value for key, value in os.environ.items() if not key.startswith("CHATSTORE_")}


def pinned(core: int, argv: Sequence[str | Path]) -> list[str]:
    return ["taskset", "-c", str(core), *(str(arg) for arg in argv)]


@dataclass
class Server:
    """A server process group started by the bench; `stop` ends it by its PID."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def group_pids(self) -> list[int]:
        """Every live process of the server's process group (nginx: master and worker)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == self.pid:
                pids.append(int(entry.name))
        return pids

    def cpu_times(self) -> tuple[float, float]:
        """(user, system) CPU seconds of the whole group, all threads, so far."""
        user = system = 0
        for pid in self.group_pids():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            user += int(fields[11])
            system += int(fields[12])
        return user / CLK_TCK, system / CLK_TCK

    def wait_idle(self, timeout: float = 15.0, window: float = 0.25) -> bool:
        """Wait until the server uses under 5% of a core over `window` (it has finished
        what clients left in flight); False if it is still busy after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = sum(self.cpu_times())
            time.sleep(window)
            if sum(self.cpu_times()) - before < 0.05 * window:
                return True
        return False

    def meter(self) -> "CpuMeter":
        return CpuMeter(self)

    def status_kib(self, key: str) -> int:
        """A `VmRSS`/`VmHWM`-style line of /proc/PID/status, in KiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise KeyError(key)

    def reset_peak_rss(self) -> int:
        """Reset VmHWM to the current RSS; returns that RSS in KiB."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return self.status_kib("VmRSS")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after `timeout`."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(5)
        # A group member that outlived its leader (none is expected) goes too.
        for _ in range(50):
            if not self.group_pids():
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            time.sleep(0.1)


@dataclass
class Fleet:
    """Every server the bench started; `stop_all` ends them all, newest first."""

    servers: list[Server] = field(default_factory=list)
    retired_cpu_seconds: float = 0.0  # what stopped servers used, for `bench_cpu_seconds`

    def bench_cpu_seconds(self) -> float:
        """CPU time the bench used so far: its servers, this driver and its clients."""
        own = os.times()
        total = own.user + own.system + own.children_user + own.children_system
        return total + self.retired_cpu_seconds + sum(sum(s.cpu_times()) for s in self.servers)

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        base_url: str,
        ready: Callable[[httpx.Client], bool],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 60.0,
    ) -> Server:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**_inherited_env(), **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        server = Server(name, process, base_url, log_path)
        self.servers.append(server)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not server.alive():
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited at start-up:\n{tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if ready(client):
                        return server
                time.sleep(0.1)
        raise RuntimeError(f"{name} was not ready within {timeout:.0f} s; see {log_path}")

    def stop(self, server: Server) -> None:
        self.retired_cpu_seconds += sum(server.cpu_times())
        server.stop()
        if server in self.servers:
            self.servers.remove(server)

    def stop_all(self) -> None:
        while self.servers:
            self.servers.pop().stop()


class CpuMeter:
    """The share of one core a server used, user and system, since the meter was made."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._start = time.monotonic()
        self._user, self._system = server.cpu_times()

    def shares(self) -> tuple[float, float]:
        wall = time.monotonic() - self._start
        user, system = self._server.cpu_times()
        return (user - self._user) / wall, (system - self._system) / wall


def _machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


class ForeignLoad:
    """How many cores' worth of CPU others used while the bench ran a job: the machine's
    busy time less the bench's own (servers, driver, clients). Kernel work done for the
    bench outside its processes (writeback, some softirq) counts as foreign, so a quiet
    machine shows a few hundredths, not zero."""

    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet
        self._start = time.monotonic()
        self._busy = _machine_busy_seconds()
        self._bench = fleet.bench_cpu_seconds()

    def cores(self) -> float:
        wall = time.monotonic() - self._start
        if wall < 2.0:
            return 0.0  # too short a window to tell anything from clock-tick counters
        busy = _machine_busy_seconds() - self._busy
        bench = self._fleet.bench_cpu_seconds() - self._bench
        return max(0.0, busy - bench) / wall
