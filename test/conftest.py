import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from test.postgres_server import PostgresError, PostgresServer

# An existing server's admin DSN to create test databases on, instead of starting one.
POSTGRES_URL_VARIABLE = "CHATSTORE_TEST_POSTGRES_URL"
# "1" makes the PostgreSQL tests error, instead of skip, when no server can be had.
REQUIRE_POSTGRES_VARIABLE = "CHATSTORE_TEST_REQUIRE_POSTGRES"
postgres_unavailable_reason = pytest.StashKey[str]()
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
    request.config.stash[postgres_unavailable_reason] = unavailable_reason
    if os.environ.get(REQUIRE_POSTGRES_VARIABLE) == "1":
        pytest.fail(f"PostgreSQL unavailable: {unavailable_reason}", pytrace=False)
    pytest.skip("PostgreSQL unavailable; the POSTGRESQL TESTS DID NOT RUN banner says why")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Say it loudly when the PostgreSQL tests were skipped or errored for want of a server."""
    reason = config.stash.get(postgres_unavailable_reason, None)
    if reason is None:
        return
    terminalreporter.write_sep("!", "POSTGRESQL TESTS DID NOT RUN", red=True, bold=True)
    terminalreporter.write_line(reason, red=True)
    if os.environ.get(REQUIRE_POSTGRES_VARIABLE) != "1":
        terminalreporter.write_line(
            f"They were skipped; set {REQUIRE_POSTGRES_VARIABLE}=1 to make this an error.",
            red=True,
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
