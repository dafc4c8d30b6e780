"""A real PostgreSQL server for the tests: found or installed, started on a free port, stopped.

Debian's layout is assumed: servers live in /usr/lib/postgresql/<version>/bin, and root with
apt-get can install one. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` system user.
"""

import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote, urlsplit

from test.e2e.server import free_port

POSTGRES_LIB_DIR = Path("/usr/lib/postgresql")
PROGRAMS_USED = ("initdb", "postgres", "pg_isready", "psql")
SERVER_USER = "postgres"
CREATECLUSTER_CONF = Path("/etc/postgresql-common/createcluster.conf")
NO_MAIN_CLUSTER_CONF = """\
# Written by chatstore's test setup before it installed PostgreSQL: the tests start their own
# throwaway server, so the package must not create (and start) a "main" cluster on port 5432.
create_main_cluster = false
"""
INSTALL_TIMEOUT_SECONDS = 600.0
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
COMMAND_TIMEOUT_SECONDS = 60.0
READY_POLL_SECONDS = 0.02
ERROR_TAIL_CHARS = 3000
# Durability is worth nothing in a server that is deleted after the run.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
CREATE_DATABASE_IF_MISSING = """\
SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') AS missing \\gset
\\if :missing
CREATE DATABASE :"name";
\\echo created
\\endif
"""


class PostgresError(RuntimeError):
    """A PostgreSQL program failed, or no server could be found, installed or started."""


def find_or_install_postgres() -> Path:
    """The bin dir of the newest installed PostgreSQL; installs Debian's package if none is."""
    bin_dir = _newest_bin_dir()
    if bin_dir is not None:
        return bin_dir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresError(
            f"no PostgreSQL server in {POSTGRES_LIB_DIR}/*/bin, and installing one needs root"
            " and apt-get"
        )
    _install_with_apt()
    bin_dir = _newest_bin_dir()
    if bin_dir is None:
        raise PostgresError(f"apt-get installed postgresql, yet {POSTGRES_LIB_DIR}/*/bin lacks it")
    return bin_dir


def _newest_bin_dir() -> Path | None:
    """/usr/lib/postgresql/<version>/bin of the highest version holding every program used."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for bin_dir in POSTGRES_LIB_DIR.glob("*/bin"):
        version_parts = bin_dir.parent.name.split(".")
        if not all(part.isdigit() for part in version_parts):
            continue
        if all(os.access(bin_dir / program, os.X_OK) for program in PROGRAMS_USED):
            found.append((tuple(int(part) for part in version_parts), bin_dir))
    return max(found)[1] if found else None


def _install_with_apt() -> None:
    """apt-get install postgresql, leaving no Debian cluster behind that was not there before.

    The package's postinst creates and starts a "main" cluster unless createcluster.conf says
    `create_main_cluster = false`, so that file is written first when it does not exist yet
    (postgresql-common installs it through ucf, and UCF_FORCE_CONFFOLD keeps ours). Any new
    cluster that appears anyway, say because the file already existed, is stopped and dropped.
    """
    clusters_before = _debian_clusters()
    if not CREATECLUSTER_CONF.exists():
        CREATECLUSTER_CONF.parent.mkdir(parents=True, exist_ok=True)
        CREATECLUSTER_CONF.write_text(NO_MAIN_CLUSTER_CONF)
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "UCF_FORCE_CONFFOLD": "1"}
    deadline = time.monotonic() + INSTALL_TIMEOUT_SECONDS
    _run(["apt-get", "update"], timeout=deadline - time.monotonic(), env=apt_env)
    _run(
        [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "-o",
            "Dpkg::Options::=--force-confold",
            "postgresql",
        ],
        timeout=deadline - time.monotonic(),
        env=apt_env,
    )
    for version, name in sorted(_debian_clusters() - clusters_before):
        _run(["pg_dropcluster", "--stop", version, name], timeout=COMMAND_TIMEOUT_SECONDS)


def _debian_clusters() -> set[tuple[str, str]]:
    """(version, name) of each cluster postgresql-common knows, if it is installed."""
    if shutil.which("pg_lsclusters") is None:
        return set()
    listing = _run(["pg_lsclusters", "--no-header"], timeout=COMMAND_TIMEOUT_SECONDS)
    rows = [line.split() for line in listing.splitlines() if line.strip()]
    return {(row[0], row[1]) for row in rows}


def _server_account() -> pwd.struct_passwd | None:
    """The account to run the server as when we are root (created if missing), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        _run(
            ["useradd", "--system", "--user-group", "--no-create-home", SERVER_USER],
            timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return pwd.getpwnam(SERVER_USER)


def _run(
    command: list[str],
    *,
    timeout: float,
    input_text: str = "",
    env: dict[str, str] | None = None,
    account: pwd.struct_passwd | None = None,
) -> str:
    """Run command to completion and return its stdout; any failure raises PostgresError."""
    try:
        completed = subprocess.run(
            command,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=max(timeout, 0.0),
            check=False,
            env=env,
            user=account.pw_uid if account is not None else None,
            group=account.pw_gid if account is not None else None,
            extra_groups=[] if account is not None else None,
        )
    except subprocess.TimeoutExpired as error:
        raise PostgresError(f"{_name(command)} did not finish within {timeout:.0f} s") from error
    except OSError as error:
        raise PostgresError(f"{_name(command)}: {error}") from error
    if completed.returncode != 0:
        output = _tail(completed.stdout + completed.stderr)
        raise PostgresError(f"{_name(command)} exited with {completed.returncode}:\n{output}")
    return completed.stdout


def _name(command: list[str]) -> str:
    """The program and the words before its first option: never a DSN, which may hold a password."""
    words = itertools.takewhile(lambda argument: not argument.startswith("-"), command[1:])
    return " ".join([Path(command[0]).name, *words])


def _tail(text: str) -> str:
    return text if len(text) <= ERROR_TAIL_CHARS else "..." + text[-ERROR_TAIL_CHARS:]


@dataclass(frozen=True)
class _OwnedServer:
    """The process and scratch directory of a server that start() launched."""

    process: "subprocess.Popen[bytes]"
    directory: Path


class PostgresServer:
    """A PostgreSQL server the tests create databases on, reached through its admin DSN.

    `start()` launches a throwaway server that `stop()` ends and deletes; `connect()` uses an
    existing server, and its `stop()` drops the databases this object created there.
    """

    def __init__(self, admin_dsn: str, psql: Path, owned: _OwnedServer | None = None) -> None:
        self._admin_dsn = admin_dsn
        self._psql = psql
        self._owned = owned
        self._created_databases: list[str] = []

    @classmethod
    def start(cls, bin_dir: Path | None = None) -> Self:
        """Initialise a cluster in a fresh temporary directory and run it on a free port."""
        bin_dir = bin_dir or find_or_install_postgres()
        account = _server_account()
        directory = Path(tempfile.mkdtemp(prefix="chatstore-postgres-"))
        process: subprocess.Popen[bytes] | None = None
        try:
            if account is not None:
                os.chown(directory, account.pw_uid, account.pw_gid)
            data_dir = directory / "data"
            _run(
                [
                    str(bin_dir / "initdb"),
                    f"--pgdata={data_dir}",
                    "--auth=trust",
                    f"--username={SERVER_USER}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                timeout=COMMAND_TIMEOUT_SECONDS,
                account=account,
            )
            port = free_port()
            settings = [f"--{name}={value}" for name, value in SERVER_SETTINGS.items()]
            log_path = directory / "postgres.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    [
                        str(bin_dir / "postgres"),
                        "-D",
                        str(data_dir),
                        "-p",
                        str(port),
                        "-k",
                        str(directory),
                        *settings,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    user=account.pw_uid if account is not None else None,
                    group=account.pw_gid if account is not None else None,
                    extra_groups=[] if account is not None else None,
                )
            _wait_until_ready(bin_dir, port, process, log_path)
        except BaseException:
            if process is not None:
                _end(process)
            shutil.rmtree(directory, ignore_errors=True)
            raise
        admin_dsn = f"postgresql://{SERVER_USER}@127.0.0.1:{port}/postgres"
        return cls(admin_dsn, bin_dir / "psql", _OwnedServer(process, directory))

    @classmethod
    def connect(cls, admin_dsn: str) -> Self:
        """Use the existing server at admin_dsn; needs a psql client."""
        bin_dir = _newest_bin_dir()
        psql = bin_dir / "psql" if bin_dir else shutil.which("psql")
        if psql is None:
            raise PostgresError(f"no psql in {POSTGRES_LIB_DIR}/*/bin or on PATH")
        server = cls(admin_dsn, Path(psql))
        server.run_sql(admin_dsn, "SELECT 1")
        return server

    def dsn(self, database: str = "postgres") -> str:
        """The URL that connects to database on this server as its admin."""
        return urlsplit(self._admin_dsn)._replace(path="/" + quote(database, safe="")).geturl()

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a new unique one when name is None) and return its DSN.

        A database that already exists is left as it is, so a test can reopen one by name.
        """
        name = name or f"test_{uuid.uuid4().hex}"
        if self.run_sql(self._admin_dsn, CREATE_DATABASE_IF_MISSING, name=name):
            self._created_databases.append(name)
        return self.dsn(name)

    def run_sql(self, dsn: str, sql: str, **variables: str) -> str:
        """Run a psql script against dsn and return its rows, unaligned, without the last newline.

        Each keyword becomes a psql variable: `:'name'` quotes it as a literal, `:"name"` as an
        identifier.
        """
        command = [str(self._psql), "--no-psqlrc", "--no-password", "--quiet", "--no-align"]
        command += ["--tuples-only", "--set=ON_ERROR_STOP=1", f"--dbname={dsn}", "--file=-"]
        command += [f"--set={name}={value}" for name, value in variables.items()]
        return _run(command, timeout=COMMAND_TIMEOUT_SECONDS, input_text=sql).removesuffix("\n")

    def stop(self) -> None:
        """End and delete a server start() launched; on a connect()ed one, drop our databases."""
        if self._owned is not None:
            _end(self._owned.process)
            shutil.rmtree(self._owned.directory)
            self._owned = None
        elif self._created_databases:
            names = {f"name{index}": name for index, name in enumerate(self._created_databases)}
            drops = "".join(f'DROP DATABASE IF EXISTS :"{key}" WITH (FORCE);\n' for key in names)
            self.run_sql(self._admin_dsn, drops, **names)
        self._created_databases.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_until_ready(
    bin_dir: Path, port: int, process: "subprocess.Popen[bytes]", log_path: Path
) -> None:
    """Return once the server accepts connections; raise with its log if it never does."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    probe = [str(bin_dir / "pg_isready"), "--host=127.0.0.1", f"--port={port}", "--timeout=1"]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            problem = f"postgres exited with {process.returncode}"
            break
        if _accepts_connections(probe):
            return
        time.sleep(READY_POLL_SECONDS)
    else:
        problem = f"postgres did not accept connections within {START_TIMEOUT_SECONDS:.0f} s"
    log = log_path.read_text(errors="replace")
    raise PostgresError(f"{problem}; its log:\n{_tail(log)}")


def _accepts_connections(probe: list[str]) -> bool:
    try:
        return subprocess.run(probe, capture_output=True, timeout=5, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _end(process: "subprocess.Popen[bytes]") -> None:
    """Fast shutdown (SIGINT); SIGKILL if that takes longer than STOP_TIMEOUT_SECONDS."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
