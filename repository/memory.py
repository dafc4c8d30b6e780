"""The in-memory metadata store: the fake for tests, and a backend for a single process."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from repository.memory_census import InMemoryMetadataCensus
from repository.memory_chat import InMemoryChatRepository
from repository.memory_file import InMemoryChatFileRepository
from repository.memory_revision import InMemoryHistoryRevisionRepository
from repository.memory_session import InMemorySandboxSessionRepository
from repository.memory_undo import undoable
from repository.memory_usage import InMemoryUsageRepository
from repository.memory_workspace import InMemoryWorkspaceRepository
from usecase.ports.metadata import MetadataStore

__all__ = [
    "InMemoryChatFileRepository",
    "InMemoryChatRepository",
    "InMemoryHistoryRevisionRepository",
    "InMemoryMetadataStore",
    "InMemorySandboxSessionRepository",
    "InMemoryUsageRepository",
    "InMemoryWorkspaceRepository",
]


class InMemoryMetadataStore(MetadataStore):
    """Metadata that lives as long as this object, seen only by this process's event loop.

    Every method runs without awaiting, so each one is atomic with respect to the others.
    A unit of work is an undo log of its writes (see `memory_undo`): its repositories are
    the store's own, and their writes are visible before it ends.
    """

    def __init__(self) -> None:
        self._workspaces = InMemoryWorkspaceRepository()
        self._files = InMemoryChatFileRepository()
        self._revisions = InMemoryHistoryRevisionRepository()
        self._chats = InMemoryChatRepository(self._files, self._revisions)
        self._sessions = InMemorySandboxSessionRepository()
        self._usage = InMemoryUsageRepository()
        self._census = InMemoryMetadataCensus(self._workspaces, self._chats, self._usage)

    @property
    def workspaces(self) -> InMemoryWorkspaceRepository:
        return self._workspaces

    @property
    def chats(self) -> InMemoryChatRepository:
        return self._chats

    @property
    def files(self) -> InMemoryChatFileRepository:
        return self._files

    @property
    def sessions(self) -> InMemorySandboxSessionRepository:
        return self._sessions

    @property
    def usage(self) -> InMemoryUsageRepository:
        return self._usage

    @property
    def revisions(self) -> InMemoryHistoryRevisionRepository:
        return self._revisions

    @property
    def census(self) -> InMemoryMetadataCensus:
        return self._census

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator["InMemoryMetadataStore"]:
        with undoable():
            yield self

    async def open(self) -> None:
        pass

    async def ping(self) -> None:
        pass

    async def scrub(self) -> None:
        """Nothing: a deleted record is gone with the last reference to it."""

    async def close(self) -> None:
        pass
