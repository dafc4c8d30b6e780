"""The server under soak: `python -m api` as `make run` starts it, on one data directory
and port for all its lives, killed with SIGKILL or stopped with SIGTERM, then started again."""

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Fleet, Server, free_port
from bench.servers import REPO

# uvicorn re-raises the SIGTERM it handled once it has shut down: -15 is graceful too.
GRACEFUL_EXIT_CODES = (0, -signal.SIGTERM)


@dataclass
class SoakServer:
    data_dir: Path
    work_dir: Path  # logs go here
    metadata_url: str | None  # None: SQLite in the data directory, as `make run` has it
    shutdown_seconds: float
    port: int = field(default_factory=free_port)
    fleet: Fleet = field(default_factory=Fleet)
    life: int = 0
    current: Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The settings every life of the server (and the admin command) runs with."""
        env = {
            "CHATSTORE_DATA_DIR": str(self.data_dir),
            "CHATSTORE_HOST": "127.0.0.1",
            "CHATSTORE_PORT": str(self.port),
            "CHATSTORE_SHUTDOWN_SECONDS": f"{self.shutdown_seconds:g}",
        }
        if self.metadata_url is not None:
            env["CHATSTORE_METADATA_URL"] = self.metadata_url
        return env

    def admin_env(self) -> dict[str, str]:
        """The environment of `python -m api.admin` on this server's data: this process's
        less any CHATSTORE_* variable, plus the server's settings."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CHATSTORE_")}
        return {**inherited, **self.env()}

    def start(self) -> Server:
        self.life += 1
        self.current = self.fleet.start(
            f"chatstore-life-{self.life}",
            [sys.executable, "-m", "api"],
            base_url=self.base_url,
            ready=lambda client: client.get(f"{self.base_url}/readyz").status_code == 200,
            log_path=self.work_dir / f"server-life-{self.life}.log",
            env=self.env(),
            cwd=REPO,
        )
        return self.current

    def pids(self) -> list[int]:
        return self.current.group_pids() if self.current is not None else []

    def kill(self) -> int:
        """SIGKILL the whole process group; its exit code."""
        server = self._take()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        return server.process.wait(10)

    def terminate(self) -> None:
        """SIGTERM the server (as a supervisor would), without waiting."""
        if self.current is not None:
            self.current.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> int | None:
        """Wait for the process to exit after `terminate`: its exit code, or None if it
        had to be killed after `timeout` seconds."""
        server = self._take()
        try:
            return server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            server.stop()
            return None

    def stop_all(self) -> None:
        self.fleet.stop_all()
        self.current = None

    def log_tail(self, life: int, chars: int = 3000) -> str:
        path = self.work_dir / f"server-life-{life}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def _take(self) -> Server:
        if self.current is None:
            raise RuntimeError("no server is running")
        server, self.current = self.current, None
        if server in self.fleet.servers:
            self.fleet.servers.remove(server)
        return server
