"""The use cases wired to the in-memory metadata store and the real filesystem storage,
with a clock and ids the test controls, plus what the tests read back from disk."""

import asyncio
import hashlib
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from adapter.fs.census import FilesystemCensus
from adapter.fs.chat_storage import FilesystemChatStorage
from adapter.fs.erasure import FilesystemWorkspaceErasure
from adapter.fs.usage import FilesystemUsageReader
from adapter.locks import InProcessKeyedLock
from api.container import UseCases, build_use_cases
from domain.chat import Chat
from domain.limits import StorageLimits
from repository.memory import InMemoryMetadataStore
from test.disk import staged_files
from test.fakes import FakeClock, FaultyChatStorage, SequentialIds
from usecase.ports.chat_bytes import ContentReader
from usecase.ports.uploads import IncomingFile

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
USER = UUID("00000000-0000-4000-8000-0000000000f1")
OTHER_USER = UUID("00000000-0000-4000-8000-0000000000f2")
LIMITS = StorageLimits(quota_bytes=10_000, max_file_bytes=4_000, max_history_bytes=3_000)


@dataclass(frozen=True, slots=True)
class Service:
    root: Path
    metadata: InMemoryMetadataStore
    storage: FaultyChatStorage  # healthy until a test makes it fail
    erasure: FilesystemWorkspaceErasure
    clock: FakeClock
    ids: SequentialIds
    limits: StorageLimits
    run: UseCases

    def chat_dir(self, chat: Chat) -> Path:
        return self.root / "workspaces" / str(chat.workspace_id) / "chats" / str(chat.chat_id)

    def staging_entries(self) -> list[str]:
        return staged_files(self.root)

    def disk_bytes(self, workspace_id: UUID) -> int:
        """What api.md says usage is: lstat sizes of the regular files at any depth."""
        total = 0
        for directory, _, names in os.walk(self.root / "workspaces" / str(workspace_id)):
            for name in names:
                status = (Path(directory) / name).lstat()
                if stat.S_ISREG(status.st_mode):
                    total += status.st_size
        return total

    async def used_bytes(self, user_id: UUID = USER) -> int:
        return (await self.run.get_workspace_usage(user_id)).used_bytes

    async def new_chat(self, user_id: UUID = USER) -> Chat:
        await self.run.ensure_workspace(user_id)
        return await self.run.create_chat(user_id)


async def open_service(root: Path, limits: StorageLimits = LIMITS) -> Service:
    storage = FaultyChatStorage(FilesystemChatStorage(root))
    await storage.prepare()
    metadata = InMemoryMetadataStore()
    clock = FakeClock(T0)
    ids = SequentialIds()
    erasure = FilesystemWorkspaceErasure(root)
    run = build_use_cases(
        metadata,
        storage,
        FilesystemUsageReader(root),
        ids,
        clock,
        InProcessKeyedLock(),
        limits,
        FilesystemCensus(root),
        erasure,
    )
    return Service(root, metadata, storage, erasure, clock, ids, limits, run)


def marks(service: "Service") -> list[str]:
    """The chats marked in `unsettled/`, each once, by a mark or the note beside it."""
    names = (path.name for path in (service.root / "unsettled").iterdir())
    return sorted({name.removeprefix(".").removesuffix(".note") for name in names})


def mark_of(chat: Chat) -> str:
    return f"{chat.workspace_id}_{chat.chat_id}"


def entries(directory: Path) -> list[str]:
    """The names in `directory`, sorted."""
    return sorted(entry.name for entry in directory.iterdir())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read_and_close(reader: ContentReader, span: tuple[int, int] | None = None) -> bytes:
    start, end = (0, reader.size_bytes - 1) if span is None else span
    try:
        return b"".join([chunk async for chunk in reader.iter_range(start, end)])
    finally:
        await reader.aclose()


@dataclass(slots=True)
class Part:
    """One file of an upload, as the multipart parser would hand it to the use case.

    `pause`, when given, is awaited after the first chunk, so a test can act while the
    upload is half-way through its bytes."""

    filename: str | None
    data: bytes = b""
    content_type: str | None = None
    chunk_bytes: int = 1000
    pause: Callable[[], Awaitable[None]] | None = None
    chunks_sent: int = field(default=0, init=False)

    async def chunks(self) -> AsyncIterator[bytes]:
        for offset in range(0, len(self.data), self.chunk_bytes):
            if self.chunks_sent == 1 and self.pause is not None:
                await self.pause()
            yield self.data[offset : offset + self.chunk_bytes]
            self.chunks_sent += 1


async def parts(*files: IncomingFile) -> AsyncIterator[IncomingFile]:
    for file in files:
        yield file


class Gate:
    """Holds every arrival until `parties` have arrived, then lets them all through."""

    def __init__(self, parties: int) -> None:
        self._parties = parties
        self._arrived = 0
        self._open = asyncio.Event()

    async def arrive(self) -> None:
        self._arrived += 1
        if self._arrived >= self._parties:
            self._open.set()
        await self._open.wait()


async def delete_chat_mid_write(
    service: Service,
    chat: Chat,
    write: Callable[[Callable[[], Awaitable[None]]], Awaitable[object]],
) -> asyncio.Task[object]:
    """Start `write(hold)`, whose body awaits `hold()` once part of it is sent; delete the
    chat while it waits there, then let it go on. The write's task, to await."""
    streaming = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        streaming.set()
        await release.wait()

    writer = asyncio.ensure_future(write(hold))
    await streaming.wait()
    await service.run.delete_chat(USER, chat.chat_id)
    release.set()
    return writer
