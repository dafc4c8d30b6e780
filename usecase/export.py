"""Exports: a workspace, or one chat, as a ZIP archive made as it is sent (ADR 0023).

Each chat is exported as one state. Under the chat's lock, what a crash left on it is
settled, a change a sandbox made to its history is recorded, and its record, its file
records, its history and every attachment with a record are opened by descriptor; then
the lock goes and the bytes stream from those descriptors. Whatever changes the chat
meanwhile cannot reach them: a PUT, an upload or a sandbox that renames replaces the
name, not the open file, and an append grows the history past the size read under the
lock, which is where reading it stops. The chats of a workspace are taken one after
another, each as it is reached, so an export holds one chat's descriptors at a time.

The manifest is the archive's last member: only then is every member's size and sha256
known, as hashed while the member went out, so the manifest always agrees with the bytes
in the archive (an attachment a sandbox changed in place since its record was made is
exported as it is on disk, its record with the size and sha256 of those bytes, as a
rescan would record it; the export itself changes no record)."""

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.errors import ChatNotFoundError
from domain.export import (
    MANIFEST_PATH,
    ExportedChat,
    ExportedContent,
    ExportManifest,
    attachment_path,
    history_path,
)
from domain.paging import PageCursor, PageRequest
from domain.workspace import Workspace
from usecase.access import ChatAccess
from usecase.chat_guard import ChatGuard
from usecase.ports.archive import ArchiveFormat, ArchiveWriter, ManifestEncoder
from usecase.ports.chat_bytes import ChatStorage, ContentReader
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock
from usecase.revisions import HistoryRevisions

# Chats are listed this many at a time while a workspace is exported.
_CHATS_PER_PAGE = 100


@dataclass(eq=False, slots=True)
class OpenReaders:
    """Every reader an export holds open, so that ending the export at any point closes
    each one, not only the point its stream reached."""

    _open: dict[int, ContentReader] = field(default_factory=dict)

    def hold(self, reader: ContentReader) -> ContentReader:
        self._open[id(reader)] = reader
        return reader

    async def close(self, reader: ContentReader) -> None:
        self._open.pop(id(reader), None)
        await reader.aclose()

    async def close_all(self) -> None:
        while self._open:
            _, reader = self._open.popitem()
            await reader.aclose()


@dataclass(frozen=True, slots=True)
class ChatState:
    """One chat as it stood under its lock, its bytes open for reading."""

    chat: Chat
    history: ContentReader
    files: tuple[tuple[ChatFile, ContentReader], ...]


@dataclass(frozen=True, slots=True)
class ChatStates:
    """Takes a chat's state for an export (see the module's docstring)."""

    access: ChatAccess
    metadata: MetadataStore
    storage: ChatStorage
    guard: ChatGuard
    revisions: HistoryRevisions

    async def take(self, user_id: UUID, chat_id: UUID, readers: OpenReaders) -> ChatState:
        async with self.guard.held(user_id, chat_id) as found:
            await self.guard.settled(found)
            await self.revisions.caught_up(found)
            chat = await self.access.chat(user_id, chat_id)  # as settling left it
            workspace_id = chat.workspace_id
            records = await self.metadata.files.list_all_by_chat_id(chat_id)
            _, history = await self.storage.open_history(workspace_id, chat_id)
            readers.hold(history)
            opened = await self.storage.open_attachments(
                workspace_id, chat_id, [record.name for record in records]
            )
            files = tuple(
                (record, readers.hold(reader))
                for record, reader in zip(records, opened, strict=True)
                # A record whose file is gone, or is no longer a regular file, is left
                # out, as a rescan would drop it.
                if reader is not None
            )
        return ChatState(chat, history, files)


@dataclass(frozen=True, slots=True)
class Export:
    """An archive being exported, named after `archive_id` (the workspace's or the chat's
    id). Iterate `chunks` once for its bytes; `aclose` ends the export at any point, also
    before it began or after a failure, and closes everything it holds open. Call it
    whatever happens, where a cancellation cannot cut it short."""

    archive_id: UUID
    chunks: AsyncGenerator[bytes, None]
    states: AsyncGenerator[ChatState, None]
    readers: OpenReaders
    writer: ArchiveWriter

    async def aclose(self) -> None:
        try:
            await self.chunks.aclose()
            await self.states.aclose()
        finally:
            try:
                await self.readers.close_all()
            finally:
                await self.writer.aclose()


@dataclass(frozen=True, slots=True)
class ArchiveBuilder:
    """Writes chats' states, as they come, into a new archive, and its manifest last."""

    archives: ArchiveFormat
    manifests: ManifestEncoder

    def export(
        self,
        archive_id: UUID,
        workspace: Workspace,
        exported_at: datetime,
        states: AsyncGenerator[ChatState, None],
        readers: OpenReaders,
    ) -> Export:
        writer = self.archives.writer()
        chunks = self._chunks(writer, workspace, exported_at, states, readers)
        return Export(archive_id, chunks, states, readers, writer)

    async def _chunks(
        self,
        writer: ArchiveWriter,
        workspace: Workspace,
        exported_at: datetime,
        states: AsyncIterator[ChatState],
        readers: OpenReaders,
    ) -> AsyncGenerator[bytes, None]:
        exported: list[ExportedChat] = []
        async for state in states:
            async for chunk in self._chat(writer, state, exported_at, exported, readers):
                yield chunk
        manifest = self.manifests.encode(ExportManifest(exported_at, workspace, tuple(exported)))
        last = writer.member(MANIFEST_PATH, exported_at, len(manifest), _once(manifest))
        async for chunk in last:
            yield chunk
        yield await writer.finish()

    async def _chat(
        self,
        writer: ArchiveWriter,
        state: ChatState,
        exported_at: datetime,
        exported: list[ExportedChat],
        readers: OpenReaders,
    ) -> AsyncIterator[bytes]:
        chat_id = state.chat.chat_id
        reader = state.history
        history = writer.member(history_path(chat_id), exported_at, reader.size_bytes, _all(reader))
        async for chunk in history:
            yield chunk
        await readers.close(reader)
        files: list[ChatFile] = []
        for record, reader in state.files:
            member = writer.member(
                attachment_path(chat_id, record.name),
                record.created_at,
                reader.size_bytes,
                _all(reader),
            )
            async for chunk in member:
                yield chunk
            await readers.close(reader)
            files.append(record.with_content(member.size_bytes, member.sha256))
        content = ExportedContent(history.size_bytes, history.sha256)
        exported.append(ExportedChat(state.chat, content, tuple(files)))


def _all(reader: ContentReader) -> AsyncIterator[bytes]:
    return reader.iter_range(0, reader.size_bytes - 1)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True, slots=True)
class ExportChat:
    """One chat as an archive: its state is taken before the answer starts, so a chat the
    caller cannot see, or a disk that fails, is refused before any byte goes out."""

    access: ChatAccess
    states: ChatStates
    builder: ArchiveBuilder
    clock: Clock

    async def __call__(self, user_id: UUID, chat_id: UUID) -> Export:
        workspace = await self.access.workspace(user_id)
        readers = OpenReaders()
        try:
            state = await self.states.take(user_id, chat_id, readers)
        except BaseException:
            await readers.close_all()
            raise

        async def just_this_one() -> AsyncGenerator[ChatState, None]:
            yield state

        now = self.clock.now()
        return self.builder.export(chat_id, workspace, now, just_this_one(), readers)


@dataclass(frozen=True, slots=True)
class ExportWorkspace:
    """Every chat of the caller's workspace as one archive, in the order they were
    created. Each chat's state is taken when the archive reaches it; a chat deleted before
    then is not in the archive, and one created before the listing reaches it is."""

    access: ChatAccess
    metadata: MetadataStore
    states: ChatStates
    builder: ArchiveBuilder
    clock: Clock

    async def __call__(self, user_id: UUID) -> Export:
        workspace = await self.access.workspace(user_id)
        readers = OpenReaders()

        async def each_chat() -> AsyncGenerator[ChatState, None]:
            async for chat in self._chats(workspace):
                try:
                    state = await self.states.take(user_id, chat.chat_id, readers)
                except ChatNotFoundError:
                    continue  # deleted since it was listed
                yield state

        now = self.clock.now()
        return self.builder.export(workspace.workspace_id, workspace, now, each_chat(), readers)

    async def _chats(self, workspace: Workspace) -> AsyncIterator[Chat]:
        after: PageCursor | None = None
        while True:
            page = await self.metadata.chats.list_by_workspace_id(
                workspace.workspace_id, PageRequest(_CHATS_PER_PAGE, after)
            )
            for chat in page:
                yield chat
            if len(page) < _CHATS_PER_PAGE:
                return
            after = PageCursor(page[-1].created_at, page[-1].chat_id)
