"""Importing chats from an export archive (api.md `POST /v1/chats/import`, ADR 0025)."""

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

from domain.archive_import import (
    MAX_ENTRIES,
    MAX_MANIFEST_BYTES,
    MAX_PATH_BYTES,
    ArchivedChat,
    ArchiveManifest,
    archive_bound,
    check_entry_path,
)
from domain.chat import Chat
from domain.chat_file import ChatFile
from domain.errors import (
    DomainError,
    FileTooLargeError,
    HistoryTooLargeError,
    InvalidArchiveError,
)
from domain.export import MANIFEST_PATH, ExportedContent
from domain.history import Utf8Validator
from domain.history_revision import RevisionSource
from domain.limits import StorageLimits
from domain.workspace import Workspace
from usecase.access import ChatAccess
from usecase.new_chats import NewChat, NewChats
from usecase.ports.archives import ArchiveMember
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.runtime import Clock, IdGenerator
from usecase.ports.staging import StagedContent
from usecase.quota import QuotaLedger, quota_exceeded
from usecase.streams import limited

_WHAT = "the import"


@dataclass(frozen=True, slots=True)
class _Checked:
    """An archive whose structure, manifest and limits are checked: the chats to make and
    each entry's member, by path."""

    manifest: ArchiveManifest
    members: dict[str, ArchiveMember]


@dataclass(frozen=True, slots=True)
class _Unpacked:
    """One chat of the archive, its entries inflated into staging and checked."""

    chat: ArchivedChat
    history: StagedContent
    files: list[StagedContent]

    @property
    def staged(self) -> list[StagedContent]:
        return [self.history, *self.files]


@dataclass(frozen=True, slots=True)
class ImportChats:
    """A new chat for each chat of an export archive, all of them or none.

    The body streams into staging, bounded by what the quota leaves plus the archive's
    overhead (ARCHIVE_OVERHEAD_BYTES), and is refused the moment it passes that bound.
    Then it is checked whole before anything of it is visible, inflating nothing but the
    manifest until everything that can be checked without it has been: the archive's
    structure (InvalidArchiveError), the manifest (its shape, then the name rules, titles,
    metadata and content types, each with its own code), that the other entries' paths are
    safe and exactly those the manifest names, with the sizes it says, each size against
    its limit (413) and the whole import against the quota (507). Only then is each entry
    inflated into staging, never past the size it declares, and its bytes checked against
    the manifest (sha256; a history must also be UTF-8). The chats are then made as
    NewChats makes them, in manifest order: new ids, the archive's title, metadata, history
    (revision 1, of source `import`), attachments, names and content types."""

    access: ChatAccess
    storage: ChatStorage
    ids: IdGenerator
    clock: Clock
    limits: StorageLimits
    ledger: QuotaLedger
    new_chats: NewChats

    async def __call__(
        self, user_id: UUID, body: AsyncIterable[bytes], declared_bytes: int | None = None
    ) -> list[Chat]:
        """The chats made, in manifest order. `declared_bytes`: the body's length when the
        request says it beforehand, refused at once when over the bound."""
        workspace = await self.access.workspace(user_id)
        budget = await self.ledger.budget(workspace.workspace_id)
        bound = archive_bound(budget)
        if declared_bytes is not None and declared_bytes > bound:
            raise _over_quota()
        archive = await self.storage.stage(
            limited(
                body,
                max_bytes=bound,
                too_large=_over_quota,
                budget_bytes=bound,
                over_budget=_over_quota,
            ),
            durable=False,  # read back and removed, never committed
        )
        unpacked: list[_Unpacked] = []
        try:
            try:
                checked = await self._checked(archive, budget)
                await self._unpack(archive, checked, unpacked)
            finally:
                await self._discard([archive])
            chats = [self._new_chat(workspace, item) for item in unpacked]
            await self.new_chats.make(chats, _WHAT)
            return [new.chat for new in chats]
        finally:
            await self._discard([staged for item in unpacked for staged in item.staged])

    async def _checked(self, archive: StagedContent, budget: int) -> _Checked:
        members = await self.storage.archive_members(
            archive, max_members=MAX_ENTRIES, max_path_bytes=MAX_PATH_BYTES
        )
        by_path = {member.path: member for member in members}
        manifest = await self._manifest(archive, by_path.pop(MANIFEST_PATH, None))
        named = manifest.entries()
        for path in by_path:
            # After the manifest, so that a file it names `..` meets the name rule's code.
            check_entry_path(path)
            if path not in named:
                raise InvalidArchiveError(
                    f"the archive holds {path[:80]!r}, which its manifest does not name"
                )
        for path, content in named.items():
            entry = by_path.get(path)
            if entry is None:
                raise InvalidArchiveError(f"the archive lacks {path[:80]!r}, which it names")
            if entry.size_bytes != content.size_bytes:
                raise InvalidArchiveError(
                    f"the archive's entry {path[:80]!r} declares {entry.size_bytes} bytes;"
                    f" its manifest says {content.size_bytes}"
                )
        self._check_limits(manifest, budget)
        return _Checked(manifest, by_path)

    async def _manifest(
        self, archive: StagedContent, member: ArchiveMember | None
    ) -> ArchiveManifest:
        if member is None:
            raise InvalidArchiveError(f"the archive holds no {MANIFEST_PATH}")
        if member.size_bytes > MAX_MANIFEST_BYTES:
            raise InvalidArchiveError(
                f"{MANIFEST_PATH} declares {member.size_bytes} bytes;"
                f" at most {MAX_MANIFEST_BYTES} are read"
            )
        data = b"".join([chunk async for chunk in self.storage.member_chunks(archive, member)])
        return ArchiveManifest.parsed(data)

    def _check_limits(self, manifest: ArchiveManifest, budget: int) -> None:
        max_history, max_file = self.limits.max_history_bytes, self.limits.max_file_bytes
        for chat in manifest.chats:
            if chat.history.size_bytes > max_history:
                raise HistoryTooLargeError(
                    f"the history of chat {chat.chat_id} is larger than {max_history} bytes"
                )
            for file in chat.files:
                if file.content.size_bytes > max_file:
                    raise FileTooLargeError(
                        f"attachment {file.name.value!r} of chat {chat.chat_id} is larger"
                        f" than {max_file} bytes"
                    )
        if manifest.size_bytes > budget:
            raise _over_quota()

    async def _unpack(
        self, archive: StagedContent, checked: _Checked, unpacked: list[_Unpacked]
    ) -> None:
        """Inflate every entry into staging, each chat's in turn, appending each chat to
        `unpacked` as soon as its history is staged, so the caller discards whatever was
        staged when a check fails."""
        for chat in checked.manifest.chats:
            path = chat.history_path
            history = await self._staged(
                archive, checked.members[path], chat.history, path, history=True
            )
            item = _Unpacked(chat, history, [])
            unpacked.append(item)
            for file in chat.files:
                path = chat.file_path(file)
                staged = await self._staged(archive, checked.members[path], file.content, path)
                item.files.append(staged)

    async def _staged(
        self,
        archive: StagedContent,
        member: ArchiveMember,
        content: ExportedContent,
        path: str,
        *,
        history: bool = False,
    ) -> StagedContent:
        chunks = self.storage.member_chunks(archive, member)
        if history:
            # Made durable when written as the history (HistoryFiles.write_history).
            staged = await self.storage.stage(_utf8(chunks), durable=False)
        else:
            staged = await self.storage.stage(chunks)
        if staged.sha256 != content.sha256:
            await self._discard([staged])
            raise InvalidArchiveError(
                f"the archive's entry {path[:80]!r} does not hold the bytes its manifest"
                " names (sha256)"
            )
        return staged

    def _new_chat(self, workspace: Workspace, item: _Unpacked) -> NewChat:
        now = self.clock.now()
        chat = Chat.made(
            self.ids.new_id(), workspace.workspace_id, now, item.chat.title, item.chat.metadata
        )
        files = [
            (
                ChatFile(
                    file_id=self.ids.new_id(),
                    chat_id=chat.chat_id,
                    name=file.name,
                    content_type=file.content_type,
                    size_bytes=staged.size_bytes,
                    sha256=staged.sha256,
                    created_at=now,
                ),
                staged,
            )
            for file, staged in zip(item.chat.files, item.files, strict=True)
        ]
        return NewChat(chat, RevisionSource.IMPORT, item.history, files)

    async def _discard(self, staged: Sequence[StagedContent]) -> None:
        for item in staged:
            with suppress(DomainError):
                await self.storage.discard(item)


def _over_quota() -> DomainError:
    return quota_exceeded(_WHAT)


async def _utf8(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The chunks passed on while checked to be UTF-8 together
    (InvalidHistoryEncodingError when they are not)."""
    validator = Utf8Validator()
    async for chunk in chunks:
        validator.feed(chunk)
        yield chunk
    validator.feed(b"", final=True)
