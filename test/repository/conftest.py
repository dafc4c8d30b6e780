"""The metadata stores every repository contract suite runs against.

To run the suites against another backend, add one `pytest.param(factory, id=...)` to
`STORE_FACTORIES`: the factory gets a fresh scratch directory and returns an open, empty store
(or calls `pytest.skip` when its server is not available). A backend whose records survive
being closed and reopened goes into `DURABLE_STORE_FACTORIES` as well.
"""

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import UUID

import pytest

from repository.memory import InMemoryMetadataStore
from repository.sql_store import postgres_metadata_store, sqlite_metadata_store
from test.postgres_server import PostgresServer
from test.repository.records import stored_chat, stored_workspace
from usecase.ports.metadata import MetadataStore

StoreFactory = Callable[[Path], Awaitable[MetadataStore]]
# A factory that may ask pytest for what it needs (a database server) before opening.
StoreOpener = Callable[[Path, pytest.FixtureRequest], Awaitable[MetadataStore]]


async def open_memory_store(scratch_dir: Path, request: pytest.FixtureRequest) -> MetadataStore:
    return InMemoryMetadataStore()


async def open_sqlite_store(scratch_dir: Path, request: pytest.FixtureRequest) -> MetadataStore:
    opened = sqlite_metadata_store(scratch_dir / "metadata.db")
    await opened.open()
    return opened


async def open_postgres_store(scratch_dir: Path, request: pytest.FixtureRequest) -> MetadataStore:
    """A database of the run's PostgreSQL server named after `scratch_dir`, so that opening
    the same scratch directory again reopens the same database."""
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = "store_" + hashlib.sha256(str(scratch_dir).encode()).hexdigest()[:24]
    opened = postgres_metadata_store(server.create_database(name))
    await opened.open()
    return opened


STORE_FACTORIES = [
    pytest.param(open_memory_store, id="memory"),
    pytest.param(open_sqlite_store, id="sqlite"),
    pytest.param(open_postgres_store, id="postgres"),
]

# The stores whose records outlive `close()`: calling the factory again on the same scratch
# directory reopens the data written before. test_durable_store_contract.py runs against
# these; the in-memory store is not one of them. Add `pytest.param(factory, id=...)` here too.
DURABLE_STORE_FACTORIES = [
    pytest.param(open_sqlite_store, id="sqlite"),
    pytest.param(open_postgres_store, id="postgres"),
]


@pytest.fixture(params=STORE_FACTORIES)
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> AsyncIterator[MetadataStore]:
    opener: StoreOpener = request.param
    opened = await opener(tmp_path, request)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def workspace_id(store: MetadataStore) -> UUID:
    """A workspace saved in the store, for chats that must belong to one."""
    return await stored_workspace(store)


@pytest.fixture
async def chat_id(store: MetadataStore) -> UUID:
    """A chat saved in the store (in a workspace of its own), for files that must belong to one."""
    return await stored_chat(store)


@pytest.fixture(params=DURABLE_STORE_FACTORIES)
def factory(request: pytest.FixtureRequest, anyio_backend: str) -> StoreFactory:
    """Opens a durable store on a scratch directory; again on the same one, the same data."""
    opener: StoreOpener = request.param

    async def open_store(scratch_dir: Path) -> MetadataStore:
        return await opener(scratch_dir, request)

    return open_store
