"""The server most end-to-end modules share: one per module, on its own data directory."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from test.e2e.client import client
from test.e2e.placement import LOCAL, Placement, place
from test.e2e.server import RunningServer, running_server


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server for the whole module, named after it under the run's temporary directory."""
    module = request.module.__name__.rpartition(".")[2]
    with running_server(tmp_path_factory.mktemp(module) / "data") as running:
        yield running


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with client(server) as opened:
        yield opened


@pytest.fixture(params=[LOCAL])
def placement(request: pytest.FixtureRequest, tmp_path: Path) -> Placement:
    """Where the test's servers keep their state: on the local disk, unless the test
    parametrises this indirectly with PLACEMENTS to run on JuiceFS too."""
    return place(request.param, request, tmp_path)
