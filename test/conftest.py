import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from test.juicefs_volume import JuiceFsError, JuiceFsVolume
from test.postgres_server import PostgresError, PostgresServer

# An existing server's admin DSN to create test databases on, instead of starting one.
POSTGRES_URL_VARIABLE = "CHATSTORE_TEST_POSTGRES_URL"
# "1" makes the PostgreSQL tests error, instead of skip, when no server can be had.
REQUIRE_POSTGRES_VARIABLE = "CHATSTORE_TEST_REQUIRE_POSTGRES"
postgres_unavailable_reason = pytest.StashKey[str]()
# "1" makes the JuiceFS tests error, instead of skip, when no volume can be mounted.
REQUIRE_JUICEFS_VARIABLE = "CHATSTORE_TEST_REQUIRE_JUICEFS"
juicefs_unavailable_reason = pytest.StashKey[str]()
# Two hosts that each run an instance, and a sandbox host.
JUICEFS_MOUNTS = 3
OUTSIDE_BYTES = b"a file outside the data directory, which a sandbox linked to"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The data directory of the service or adapter under test, not yet created."""
    return tmp_path / "data"


@pytest.fixture
def outside_dir(tmp_path: Path) -> Path:
    """A directory beside the data directory that nothing may read, reveal or change."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def outside_file(outside_dir: Path) -> Path:
    """A regular file outside the data directory, which a sandbox may plant a link to, and
    which must stay as it is (`OUTSIDE_BYTES`) whatever is done to that link."""
    target = outside_dir / "target.txt"
    target.write_bytes(OUTSIDE_BYTES)
    return target


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run, started (installed if need be) on first use."""
    admin_dsn = os.environ.get(POSTGRES_URL_VARIABLE)
    try:
        server = PostgresServer.connect(admin_dsn) if admin_dsn else PostgresServer.start()
    except PostgresError as error:
        unavailable_reason = str(error)
    else:
        with server:
            yield server
        return
    # Outside the except block, so pytest does not print the error twice, once as its cause.
    _unavailable(request, "PostgreSQL", unavailable_reason)


@pytest.fixture(scope="session")
def juicefs_volume(
    request: pytest.FixtureRequest, postgres_server: PostgresServer
) -> Iterator[JuiceFsVolume]:
    """One JuiceFS volume for the whole run, its metadata on the run's PostgreSQL server,
    mounted JUICEFS_MOUNTS times; unmounted at the end of the session, even after a failure."""
    try:
        volume = JuiceFsVolume.create(postgres_server, JUICEFS_MOUNTS)
    except JuiceFsError as error:
        unavailable_reason = str(error)
    else:
        with volume:
            yield volume
        return
    _unavailable(request, "JuiceFS", unavailable_reason)


# What each session fixture that may find its service unavailable stashes its reason under,
# the variable that makes that an error, and the banner that says so.
UNAVAILABLE = {
    "PostgreSQL": (postgres_unavailable_reason, REQUIRE_POSTGRES_VARIABLE, "POSTGRESQL"),
    "JuiceFS": (juicefs_unavailable_reason, REQUIRE_JUICEFS_VARIABLE, "JUICEFS"),
}


def _unavailable(request: pytest.FixtureRequest, service: str, reason: str) -> None:
    """Skip the tests that need `service` (fail them, where its variable requires it), and
    leave the reason for the banner."""
    key, variable, banner = UNAVAILABLE[service]
    request.config.stash[key] = reason
    if os.environ.get(variable) == "1":
        pytest.fail(f"{service} unavailable: {reason}", pytrace=False)
    pytest.skip(f"{service} unavailable; the {banner} TESTS DID NOT RUN banner says why")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Say it loudly when the PostgreSQL or JuiceFS tests were skipped or errored for want
    of a server or a mount."""
    for key, variable, banner in UNAVAILABLE.values():
        reason = config.stash.get(key, None)
        if reason is None:
            continue
        terminalreporter.write_sep("!", f"{banner} TESTS DID NOT RUN", red=True, bold=True)
        terminalreporter.write_line(reason, red=True)
        if os.environ.get(variable) != "1":
            terminalreporter.write_line(
                f"They were skipped; set {variable}=1 to make this an error.", red=True
            )
        terminalreporter.write_sep("!", red=True, bold=True)


try:
    from hypothesis import settings as hypothesis_settings
except ImportError:  # a dev dependency; without it only the property tests fail to import
    pass
else:
    # A run must write nothing into the repository: no example database, and Hypothesis's
    # caches (read lazily, on first use) go to the system's temporary directory.
    os.environ.setdefault(
        "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "chatstore-hypothesis")
    )
    hypothesis_settings.register_profile("chatstore", database=None)
    hypothesis_settings.load_profile("chatstore")
