"""Every metadata repository of one backend, and its units of work (ADR 0018)."""

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from usecase.ports.census import MetadataCensus
from usecase.ports.records import (
    ChatFileRepository,
    ChatRepository,
    SandboxSessionRepository,
    WorkspaceRepository,
)
from usecase.ports.revisions import HistoryRevisionRepository
from usecase.ports.usage import UsageRepository


class Repositories(Protocol):
    """Every metadata repository of one backend."""

    @property
    def workspaces(self) -> WorkspaceRepository: ...

    @property
    def chats(self) -> ChatRepository: ...

    @property
    def files(self) -> ChatFileRepository: ...

    @property
    def sessions(self) -> SandboxSessionRepository: ...

    @property
    def usage(self) -> UsageRepository: ...

    @property
    def revisions(self) -> HistoryRevisionRepository: ...


class MetadataStore(Repositories, Protocol):
    """Every metadata repository of one backend, with its units of work, health and
    lifecycle. Each method of the store's own repositories is a transaction by itself."""

    @property
    def census(self) -> MetadataCensus:
        """Listings across the whole store, for the operators' check (ADR 0026)."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Repositories]:
        """One unit of work: repositories whose writes are committed together when the
        block ends, or rolled back together if it raises, so that an error between two
        writes leaves neither. Inside the block, use only the repositories it yields (a
        store with one writer would otherwise wait for itself), keep it short, and do no
        file I/O in it but the one step that decides a change (ADR 0018). Blocks do not
        nest."""
        ...

    async def open(self) -> None:
        """Connect and bring the schema up to date; a no-op when already open. Raises
        StorageUnavailableError when the store cannot be reached."""
        ...

    async def ping(self) -> None:
        """Raise StorageUnavailableError when the store does not answer."""
        ...

    async def scrub(self) -> None:
        """Overwrite, as far as the store can, what deleted records left in its own files,
        so that after an erasure no byte of them stays there (ADR 0024). Best effort: what
        it cannot do yet it leaves to the store's own upkeep, and says so in the log."""
        ...

    async def close(self) -> None: ...
