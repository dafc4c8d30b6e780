"""The ChatStorage implementations that test_chat_storage_contract.py runs against.

A factory gets a fresh scratch directory and returns a StorageUnderTest: a prepared storage
holding no chat, with the two views of it that no port method gives. To run the contract on
another implementation, or on the filesystem one over another filesystem, add one
`pytest.param(factory, id=...)` to STORAGE_FACTORIES: issue 14's instances on JuiceFS, for
example, add a factory that builds a FilesystemChatStorage on the FUSE mount and calls
`pytest.skip` when no mount is available.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

import pytest

from adapter.fs.chat_storage import FilesystemChatStorage
from adapter.fs.digest_cache import DigestCache
from adapter.fs.layout import chat_dir_names
from test.disk import staged_files
from test.fakes import FaultyChatStorage
from usecase.ports.chat_bytes import ChatStorage


@dataclass(frozen=True, slots=True)
class StorageUnderTest:
    storage: ChatStorage
    # The directory a sandbox mounts read-write for (workspace_id, chat_id): the tests plant
    # files, links and FIFOs there as a sandbox would.
    sandbox_dir: Callable[[UUID, UUID], Path]
    # How many staged files wait in the staging area, neither committed nor discarded.
    staged_count: Callable[[], int]


StorageFactory = Callable[[Path], Awaitable[StorageUnderTest]]


async def filesystem_storage(
    scratch_dir: Path, digests: DigestCache | None = None
) -> StorageUnderTest:
    root = scratch_dir / "data"
    storage = FilesystemChatStorage(root, digests)
    await storage.prepare()
    return StorageUnderTest(
        storage,
        sandbox_dir=lambda workspace_id, chat_id: root.joinpath(
            *chat_dir_names(workspace_id, chat_id)
        ),
        staged_count=lambda: len(staged_files(root)),
    )


async def storage_keeping_every_digest(scratch_dir: Path) -> StorageUnderTest:
    """The filesystem storage with a digest cache whose clock runs an hour ahead: it keeps
    the hash of a file written a moment ago, which the real clock would only after a
    second (ADR 0020), so every history read of the contract goes through the cache."""
    return await filesystem_storage(
        scratch_dir, DigestCache(clock_ns=lambda: time.time_ns() + HOUR_NS)
    )


HOUR_NS = 3600 * 1_000_000_000


async def healthy_faulty_storage(scratch_dir: Path) -> StorageUnderTest:
    """The use-case tests' fault-injecting wrapper, told of no fault: it must keep every
    promise of the storage it wraps."""
    wrapped = await filesystem_storage(scratch_dir)
    return replace(wrapped, storage=FaultyChatStorage(wrapped.storage))


STORAGE_FACTORIES = [
    pytest.param(filesystem_storage, id="filesystem"),
    pytest.param(storage_keeping_every_digest, id="filesystem-digests-kept"),
    pytest.param(healthy_faulty_storage, id="faulty-but-healthy"),
]
