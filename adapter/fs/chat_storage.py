import errno
import hashlib
import os
import stat
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from adapter.fs.commit import commit_all, commit_one, undo_cut_short
from adapter.fs.digest import (
    HashState,
    read_up_to,
    sha256_state_up_to,
    sha256_up_to,
)
from adapter.fs.digest_cache import DigestCache, StatKey, stat_key
from adapter.fs.dirs import (
    CREATE_FLAGS,
    clear_dir,
    create_empty,
    lstat_or_none,
    make_dirs,
    open_dirs,
    open_existing_dir,
    open_regular,
    open_regular_status,
    open_root,
    remove_entry,
)
from adapter.fs.errors import os_error_reason
from adapter.fs.fsync import fsync
from adapter.fs.history_append import append_in_place, hash_staged, rebuild
from adapter.fs.history_append import settle as settle_append
from adapter.fs.layout import (
    CHATS,
    DIR_MODE,
    FILE_MODE,
    PRIVATE_DIR_MODE,
    REVISIONS,
    TRASH,
    WORKSPACES,
    chat_dir_names,
)
from adapter.fs.off_loop import off_loop, storage_call
from adapter.fs.readers import BytesContentReader, FdContentReader
from adapter.fs.revisions import (
    copy_prefix,
    drop_runs,
    keep_bodies,
    keep_current,
    open_prefix,
    open_revisions_dir,
    run_file,
    run_sizes,
    starts_with,
    sync_run,
)
from adapter.fs.side_by_side import SideBySide
from adapter.fs.staging import (
    StagingFile,
    checked_token,
    new_token,
    probe_staging,
    remove_staged,
    sync_staged,
)
from adapter.fs.staging_area import StagingArea
from adapter.fs.trash import into_trash, purge, trashed_name
from adapter.fs.unsettled import (
    append_payload,
    files_payload,
    journal_name,
    mark,
    marked,
    note,
    noted,
    noted_append,
    open_marks_dir,
    unmark,
)
from adapter.fs.zip_reader import MemberReading, read_members
from domain.attachment_name import HISTORY_FILE_NAME, ChatAttachmentName
from domain.chat_file import ChatFile
from domain.errors import (
    ChatFileNotFoundError,
    InvalidAttachmentNameError,
    StorageUnavailableError,
)
from domain.history import EMPTY_HISTORY, HistoryVersion
from usecase.ports.archives import ArchiveMember
from usecase.ports.chat_bytes import ChatStorage, ContentReader, ScannedFile
from usecase.ports.crash_journal import HistoryAppend
from usecase.ports.staging import StagedContent

# Chunks arrive as small as 64 KiB; each write costs a hop to a worker thread, so they are
# gathered into writes of about this size.
WRITE_BUFFER_BYTES = 1024 * 1024
# A history up to this size is read whole once, so its version and its bytes cannot differ.
SMALL_HISTORY_BYTES = 1024 * 1024


_T = TypeVar("_T")


class FilesystemChatStorage(ChatStorage):
    """Chats as directories under `root`, laid out as design.md's "On disk" describes.

    The blocking work of each call runs in one worker thread, and every descriptor it opens
    is closed there, even when the awaiting task is cancelled.
    """

    def __init__(self, root: Path, digests: DigestCache | None = None) -> None:
        self._root = root
        self._staging = StagingArea(root)
        self._digests = DigestCache() if digests is None else digests
        self._syncers = SideBySide()

    async def prepare(self) -> None:
        await storage_call("prepare the data directory", self._prepare)

    async def close(self) -> None:
        try:
            await off_loop(self._staging.close)
        finally:
            await off_loop(self._syncers.close)

    async def check_writable(self) -> None:
        try:
            await off_loop(probe_staging, self._staging)
        except OSError as error:
            reason = os_error_reason(error)
            raise StorageUnavailableError(
                f"the data directory is not writable: {reason}"
            ) from error

    async def ensure_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        await storage_call("create the chat directory", self._ensure_chat, workspace_id, chat_id)

    async def delete_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        await storage_call("delete the chat directory", self._delete_chat, workspace_id, chat_id)

    async def purge_chat(self, chat_id: UUID) -> None:
        await off_loop(self._purge_chat, chat_id)

    async def mark_unsettled(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        pending: Sequence[ChatFile] = (),
        appending: HistoryAppend | None = None,
    ) -> bool:
        payload = (
            files_payload(list(pending))
            if appending is None
            else append_payload(appending.from_size, appending.to.size_bytes, appending.to.sha256)
        )
        return await storage_call(
            "mark the chat unsettled", mark, self._root, workspace_id, chat_id, payload
        )

    async def settle_append(self, workspace_id: UUID, chat_id: UUID) -> None:
        await storage_call("settle an append", self._settle_append, workspace_id, chat_id)

    async def mark_settled(self, workspace_id: UUID, chat_id: UUID) -> None:
        await storage_call("mark the chat settled", unmark, self._root, workspace_id, chat_id)

    async def unsettled_chats(self) -> list[tuple[UUID, UUID]]:
        return await storage_call("list unsettled chats", marked, self._root)

    async def note_pending_files(
        self, workspace_id: UUID, chat_id: UUID, records: Sequence[ChatFile]
    ) -> None:
        await storage_call(
            "note the pending records", note, self._root, workspace_id, chat_id, list(records)
        )

    async def pending_files(self, workspace_id: UUID, chat_id: UUID) -> list[ChatFile]:
        return await storage_call(
            "read the pending records", self._pending_files, workspace_id, chat_id
        )

    async def stage(self, chunks: AsyncIterable[bytes], *, durable: bool = True) -> StagedContent:
        staging = StagingFile(self._staging)
        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= WRITE_BUFFER_BYTES:
                    await storage_call("write a staging file", staging.write, buffer)
                    buffer = bytearray()
            # A body smaller than one write is made, written and closed in this one hop.
            return await storage_call(
                "write a staging file", staging.finish, buffer, durable=durable
            )
        except BaseException:
            # Also on cancellation: the removal is handed to the pool before this task can be
            # interrupted again, and it runs after any write still in flight.
            await off_loop(staging.remove)
            raise

    async def discard(self, staged: StagedContent) -> None:
        token = checked_token(staged.token)
        await storage_call("remove a staging file", remove_staged, self._staging, token)

    async def archive_members(
        self, archive: StagedContent, *, max_members: int, max_path_bytes: int
    ) -> list[ArchiveMember]:
        token = checked_token(archive.token)
        return await storage_call(
            "read the archive", self._archive_members, token, max_members, max_path_bytes
        )

    async def member_chunks(
        self, archive: StagedContent, member: ArchiveMember
    ) -> AsyncIterator[bytes]:
        token = checked_token(archive.token)
        reading = MemberReading(member)
        while True:
            chunk = await storage_call("read the archive", self._member_chunk, token, reading)
            if chunk is None:
                return
            yield chunk

    async def history_version(
        self, workspace_id: UUID, chat_id: UUID, *, settled: bool = False
    ) -> HistoryVersion:
        return await storage_call(
            "read the history", self._history_version, workspace_id, chat_id, settled=settled
        )

    async def open_history(
        self, workspace_id: UUID, chat_id: UUID
    ) -> tuple[HistoryVersion, ContentReader]:
        opened = await storage_call("read the history", self._open_history, workspace_id, chat_id)
        assert opened is not None  # only a known_only open answers None
        return opened

    async def write_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        staged: StagedContent,
        *,
        keep_run: int | None = None,
        keep_bodies: Sequence[tuple[int, StagedContent]] = (),
    ) -> int:
        token = checked_token(staged.token)
        bodies = [(run, checked_token(body.token)) for run, body in keep_bodies]
        return await storage_call(
            "write the history",
            self._write_history,
            workspace_id,
            chat_id,
            token,
            staged.sha256,
            keep_run,
            bodies,
        )

    async def keep_history_run(self, workspace_id: UUID, chat_id: UUID, run: int) -> int:
        return await storage_call(
            "keep a history revision", self._keep_history_run, workspace_id, chat_id, run
        )

    async def copy_history_revision(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        run: int,
        version: HistoryVersion,
        *,
        current: bool,
    ) -> StagedContent | None:
        return await storage_call(
            "copy a history revision",
            self._copy_history_revision,
            workspace_id,
            chat_id,
            run,
            version,
            current,
        )

    async def copy_attachment(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        name: ChatAttachmentName,
        size_bytes: int,
        sha256: str,
    ) -> StagedContent | None:
        return await storage_call(
            "copy an attachment",
            self._copy_attachment,
            workspace_id,
            chat_id,
            name.value,
            size_bytes,
            sha256,
        )

    async def history_starts_with(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion
    ) -> bool:
        return await storage_call(
            "read the history", self._history_starts_with, workspace_id, chat_id, version
        )

    async def open_history_revision(
        self, workspace_id: UUID, chat_id: UUID, run: int, size_bytes: int, *, current: bool
    ) -> ContentReader | None:
        return await storage_call(
            "read a history revision",
            self._open_history_revision,
            workspace_id,
            chat_id,
            run,
            size_bytes,
            current,
        )

    async def drop_history_runs(self, workspace_id: UUID, chat_id: UUID, keep: set[int]) -> int:
        return await storage_call(
            "prune history revisions", self._drop_history_runs, workspace_id, chat_id, keep
        )

    async def history_run_sizes(self, workspace_id: UUID, chat_id: UUID) -> dict[int, int]:
        return await storage_call(
            "count history revisions", self._history_run_sizes, workspace_id, chat_id
        )

    async def open_known_history(
        self, workspace_id: UUID, chat_id: UUID
    ) -> tuple[HistoryVersion, ContentReader] | None:
        return await storage_call(
            "read the history", self._open_history, workspace_id, chat_id, known_only=True
        )

    async def extend_history_version(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion, staged: StagedContent
    ) -> HistoryVersion:
        token = checked_token(staged.token)
        return await storage_call(
            "hash the appended bytes", self._extend, workspace_id, chat_id, version, token
        )

    async def append_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        base: HistoryVersion,
        staged: Sequence[StagedContent],
        result: HistoryVersion,
    ) -> None:
        tokens = [checked_token(item.token) for item in staged]
        await storage_call(
            "append to the history",
            self._append_history,
            workspace_id,
            chat_id,
            base,
            tokens,
            result,
        )

    async def commit_attachments(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        items: Sequence[tuple[ChatAttachmentName, StagedContent]],
    ) -> list[int]:
        pairs = [(name.value, checked_token(staged.token)) for name, staged in items]
        return await storage_call(
            "write an attachment", self._commit_attachments, workspace_id, chat_id, pairs
        )

    async def open_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> ContentReader:
        return await storage_call(
            "read the attachment", self._open_attachment, workspace_id, chat_id, name
        )

    async def open_attachments(
        self, workspace_id: UUID, chat_id: UUID, names: Sequence[ChatAttachmentName]
    ) -> list[ContentReader | None]:
        return await storage_call(
            "read the attachments",
            self._open_attachments,
            workspace_id,
            chat_id,
            [name.value for name in names],
        )

    async def delete_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> int:
        return await storage_call(
            "delete the attachment", self._delete_attachment, workspace_id, chat_id, name
        )

    async def scan_attachments(
        self, workspace_id: UUID, chat_id: UUID, max_size_bytes: int
    ) -> list[ScannedFile]:
        return await storage_call(
            "scan the chat directory",
            self._scan_attachments,
            workspace_id,
            chat_id,
            max_size_bytes,
        )

    # The blocking halves, run in a worker thread.

    def _prepare(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            make_dirs(stack, root_fd, (WORKSPACES,), DIR_MODE)
            clear_dir(make_dirs(stack, root_fd, (TRASH,), PRIVATE_DIR_MODE))
        self._staging.claim()

    def _open_staged(self, stack: ExitStack, token: str) -> int:
        """A read-only descriptor of the staging file `token`, closed with `stack`."""
        staging_fd = self._staging.open(stack, open_root(stack, self._root))
        fd = os.open(token, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=staging_fd)
        stack.callback(os.close, fd)
        return fd

    def _archive_members(
        self, token: str, max_members: int, max_path_bytes: int
    ) -> list[ArchiveMember]:
        with ExitStack() as stack:
            return read_members(self._open_staged(stack, token), max_members, max_path_bytes)

    def _member_chunk(self, token: str, reading: MemberReading) -> bytes | None:
        with ExitStack() as stack:
            return reading.next_chunk(self._open_staged(stack, token))

    def _open_chat(self, stack: ExitStack, workspace_id: UUID, chat_id: UUID) -> int | None:
        root_fd = open_root(stack, self._root)
        return open_dirs(stack, root_fd, chat_dir_names(workspace_id, chat_id))

    def _make_chat(self, stack: ExitStack, root_fd: int, workspace_id: UUID, chat_id: UUID) -> int:
        chat_fd = make_dirs(stack, root_fd, chat_dir_names(workspace_id, chat_id), DIR_MODE)
        create_empty(chat_fd, HISTORY_FILE_NAME)
        return chat_fd

    def _ensure_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        with ExitStack() as stack:
            self._make_chat(stack, open_root(stack, self._root), workspace_id, chat_id)

    def _delete_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            # What a commit cut short had kept aside goes with the chat.
            remove_entry(open_marks_dir(stack, root_fd), journal_name(workspace_id, chat_id))
            trash_fd = open_existing_dir(stack, root_fd, TRASH)
            # Kept revisions go even when no directory of the chat is left beside them.
            self._trash_revisions(stack, root_fd, trash_fd, workspace_id, chat_id)
            chats_fd = open_dirs(stack, root_fd, (WORKSPACES, str(workspace_id), CHATS))
            if chats_fd is None:
                return
            if into_trash(chats_fd, str(chat_id), trash_fd, trashed_name(chat_id)):
                fsync(trash_fd)

    def _trash_revisions(
        self, stack: ExitStack, root_fd: int, trash_fd: int, workspace_id: UUID, chat_id: UUID
    ) -> None:
        """Move the chat's revisions into the trash beside its directory (`purge_chat`
        removes both: their names start with the chat's id)."""
        workspace_fd = open_dirs(stack, root_fd, (REVISIONS, str(workspace_id)))
        if workspace_fd is None:
            return
        into_trash(workspace_fd, str(chat_id), trash_fd, trashed_name(chat_id, "revisions"))

    def _purge_chat(self, chat_id: UUID) -> None:
        purge(self._root, chat_id)

    @contextmanager
    def _committing(
        self, workspace_id: UUID, chat_id: UUID, tokens: Sequence[str]
    ) -> Iterator[tuple[int, int, int]]:
        """The data root's, the staging area's and the chat's descriptors (the chat made if
        missing) for committing the staged files `tokens`; those the block did not commit
        are removed if it fails."""
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            staging_fd = self._staging.open(stack, root_fd)
            try:
                yield root_fd, staging_fd, self._make_chat(stack, root_fd, workspace_id, chat_id)
            except BaseException:
                for token in tokens:
                    with suppress(OSError):
                        os.unlink(token, dir_fd=staging_fd)
                raise

    def _write_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        token: str,
        sha256: str,
        keep_run: int | None,
        bodies: Sequence[tuple[int, str]],
    ) -> int:
        tokens = [token, *(body for _, body in bodies)]
        with (
            self._committing(workspace_id, chat_id, tokens) as (root_fd, staging_fd, chat_fd),
            ExitStack() as stack,
        ):
            # The staged bodies may not be durable yet (stage(durable=False)); what is kept
            # for revisions must be too before the rename: all fsynced side by side.
            fsyncs = [partial(sync_staged, staging_fd, token)]
            if keep_run is not None or bodies:
                revisions_fd = open_revisions_dir(
                    stack, root_fd, str(workspace_id), str(chat_id), create=True
                )
                assert revisions_fd is not None  # made when missing
                keep_bodies(staging_fd, revisions_fd, bodies)
                if keep_run is not None:
                    keep_current(chat_fd, revisions_fd, keep_run, sync=False)
                fsyncs.append(partial(fsync, revisions_fd))
                fsyncs.extend(partial(sync_run, revisions_fd, run) for run, _ in bodies)
            self._syncers.run(fsyncs)
            staged = os.stat(token, dir_fd=staging_fd, follow_symlinks=False)
            replaced = commit_one(chat_fd, staging_fd, HISTORY_FILE_NAME, token)
            written = lstat_or_none(chat_fd, HISTORY_FILE_NAME)
            # The rename moved its ctime; the inode tells it is still the file renamed.
            if written is not None and written.st_ino == staged.st_ino:
                self._digests.remember_digest(stat_key(written), sha256)
            return replaced

    def _extend(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion, token: str
    ) -> HistoryVersion:
        state = self._digests.state(version.sha256)
        if state is None:  # the current history's, not kept: hashed again, once
            state = self._current_state(workspace_id, chat_id, version)
        size = version.size_bytes
        with ExitStack() as stack:
            staging_fd = self._staging.open(stack, open_root(stack, self._root))
            size += hash_staged(staging_fd, token, state)
        return HistoryVersion(self._digests.keep_state(state), size)

    def _current_state(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion
    ) -> HashState:
        with ExitStack() as stack:
            opened = self._open_history_fd(stack, workspace_id, chat_id)
            if opened is None:
                if version.size_bytes:
                    raise StorageUnavailableError("the history changed while it was appended to")
                return hashlib.sha256()
            state, hashed = sha256_state_up_to(opened[0], version.size_bytes)
        if (state.hexdigest(), hashed) != (version.sha256, version.size_bytes):
            raise StorageUnavailableError("the history changed while it was appended to")
        return state

    def _append_history(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        base: HistoryVersion,
        tokens: list[str],
        result: HistoryVersion,
    ) -> None:
        known: list[bool] = []

        def check(status: os.stat_result) -> None:
            known.append(self._digests.get(stat_key(status)) == base.sha256)

        with self._committing(workspace_id, chat_id, tokens) as (_, staging_fd, chat_fd):
            after = append_in_place(chat_fd, staging_fd, base.size_bytes, tokens, check)
            if after is None:
                rebuild(chat_fd, staging_fd, base.size_bytes, tokens)
            for token in tokens:
                with suppress(OSError):
                    os.unlink(token, dir_fd=staging_fd)
            state = self._digests.state(result.sha256)
            if (
                after is not None
                and known == [True]
                and after.st_size == result.size_bytes
                and state is not None
            ):
                self._digests.remember(stat_key(after), state)
            # Else the history was rebuilt, or its key was not one this storage knew: the
            # next read under the chat's lock hashes what is there.

    def _commit_attachments(
        self, workspace_id: UUID, chat_id: UUID, pairs: list[tuple[str, str]]
    ) -> list[int]:
        tokens = [token for _, token in pairs]
        with (
            self._committing(workspace_id, chat_id, tokens) as (root_fd, staging_fd, chat_fd),
            ExitStack() as stack,
        ):
            if len(pairs) == 1:  # one rename is all or none already: no journal to keep
                [(name, token)] = pairs
                return [commit_one(chat_fd, staging_fd, name, token)]
            journals_fd = open_marks_dir(stack, root_fd)
            journal = journal_name(workspace_id, chat_id)
            return commit_all(chat_fd, staging_fd, journals_fd, journal, pairs)

    def _settle_append(self, workspace_id: UUID, chat_id: UUID) -> None:
        appending = noted_append(self._root, workspace_id, chat_id)
        if appending is None:
            return
        with ExitStack() as stack:
            chat_fd = self._open_chat(stack, workspace_id, chat_id)
            if chat_fd is not None:
                settle_append(chat_fd, *appending)

    def _open_history_revision(
        self, workspace_id: UUID, chat_id: UUID, run: int, size_bytes: int, current: bool
    ) -> ContentReader | None:
        if size_bytes == 0:  # needs no bytes kept anywhere
            return BytesContentReader(b"")
        fd = self._open_run(workspace_id, chat_id, run, size_bytes, current)
        return None if fd is None else FdContentReader(fd, size_bytes)

    def _open_run(
        self, workspace_id: UUID, chat_id: UUID, run: int, size_bytes: int, current: bool
    ) -> int | None:
        """A descriptor of what holds `run`'s content, the caller to close it, if it holds
        at least `size_bytes` bytes: the history itself when `current`."""
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            if current:
                dir_fd = open_dirs(stack, root_fd, chat_dir_names(workspace_id, chat_id))
                name = HISTORY_FILE_NAME
            else:
                dir_fd = open_revisions_dir(
                    stack, root_fd, str(workspace_id), str(chat_id), create=False
                )
                name = run_file(run)
            return None if dir_fd is None else open_prefix(dir_fd, name, size_bytes)

    def _keep_history_run(self, workspace_id: UUID, chat_id: UUID, run: int) -> int:
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            chat_fd = open_dirs(stack, root_fd, chat_dir_names(workspace_id, chat_id))
            if chat_fd is None:
                return 0
            revisions_fd = open_revisions_dir(
                stack, root_fd, str(workspace_id), str(chat_id), create=True
            )
            assert revisions_fd is not None  # made when missing
            return keep_current(chat_fd, revisions_fd, run)

    def _copy_history_revision(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        run: int,
        version: HistoryVersion,
        current: bool,
    ) -> StagedContent | None:
        if version.size_bytes == 0:
            return self._staged_copy(None, version.size_bytes, version.sha256)
        source = self._open_run(workspace_id, chat_id, run, version.size_bytes, current)
        if source is None:
            return None
        try:
            return self._staged_copy(source, version.size_bytes, version.sha256)
        finally:
            os.close(source)

    def _copy_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: str, size_bytes: int, sha256: str
    ) -> StagedContent | None:
        with ExitStack() as stack, ExitStack() as file_stack:
            opened = self._open_chat_file(stack, file_stack, workspace_id, chat_id, name)
            if opened is None or opened[1] != size_bytes:
                return None
            return self._staged_copy(opened[0], size_bytes, sha256)

    def _staged_copy(self, source: int | None, size_bytes: int, sha256: str) -> StagedContent:
        """A new durable staging file holding the first `size_bytes` bytes of `source`
        (nothing from None), copied by the kernel, said to hold `sha256`."""
        with ExitStack() as stack:
            staging_fd = self._staging.open(stack, open_root(stack, self._root))
            token = new_token()
            target = os.open(token, CREATE_FLAGS, FILE_MODE, dir_fd=staging_fd)
            stack.callback(os.close, target)
            try:
                if source is not None:
                    copy_prefix(source, target, size_bytes)
            except BaseException:
                os.unlink(token, dir_fd=staging_fd)
                raise
        return StagedContent(token, size_bytes, sha256)

    def _history_starts_with(
        self, workspace_id: UUID, chat_id: UUID, version: HistoryVersion
    ) -> bool:
        with ExitStack() as stack:
            chat_fd = self._open_chat(stack, workspace_id, chat_id)
            return version.size_bytes == 0 or (
                chat_fd is not None and starts_with(chat_fd, version)
            )

    def _drop_history_runs(self, workspace_id: UUID, chat_id: UUID, keep: set[int]) -> int:
        return self._in_revisions(workspace_id, chat_id, lambda fd: drop_runs(fd, keep), 0)

    def _history_run_sizes(self, workspace_id: UUID, chat_id: UUID) -> dict[int, int]:
        return self._in_revisions(workspace_id, chat_id, run_sizes, {})

    def _in_revisions(
        self, workspace_id: UUID, chat_id: UUID, count: Callable[[int], _T], none: _T
    ) -> _T:
        """`count(fd)` on the chat's revisions directory; `none` when it has none."""
        with ExitStack() as stack:
            revisions_fd = open_revisions_dir(
                stack, open_root(stack, self._root), str(workspace_id), str(chat_id), create=False
            )
            return none if revisions_fd is None else count(revisions_fd)

    def _pending_files(self, workspace_id: UUID, chat_id: UUID) -> list[ChatFile]:
        """The noted records, once an attachments commit that a crash cut short before it
        had done its renames is undone; its note then goes too, so that the chat settles to
        its state before that change. A commit that had done its renames stands."""
        with ExitStack() as stack:
            root_fd = open_root(stack, self._root)
            chat_fd = open_dirs(stack, root_fd, chat_dir_names(workspace_id, chat_id))
            journals_fd = open_marks_dir(stack, root_fd)
            journal = journal_name(workspace_id, chat_id)
            if undo_cut_short(chat_fd, journals_fd, journal):
                note(self._root, workspace_id, chat_id, [])
            remove_entry(journals_fd, journal)
        return noted(self._root, workspace_id, chat_id)

    def _open_chat_file(
        self, stack: ExitStack, file_stack: ExitStack, workspace_id: UUID, chat_id: UUID, name: str
    ) -> tuple[int, int] | None:
        """The chat's regular file `name` as in `open_regular`, its descriptor in `file_stack`."""
        chat_fd = self._open_chat(stack, workspace_id, chat_id)
        return None if chat_fd is None else open_regular(file_stack, chat_fd, name)

    def _history_version(
        self, workspace_id: UUID, chat_id: UUID, *, settled: bool = False
    ) -> HistoryVersion:
        with ExitStack() as stack:
            opened = self._open_history_fd(stack, workspace_id, chat_id)
            if opened is None:
                return EMPTY_HISTORY
            fd, key = opened
            sha256, size_bytes = self._digests.hashed(
                fd, key, lambda fd: sha256_state_up_to(fd, key.size), learn=settled
            )
            return HistoryVersion(sha256, size_bytes)

    def _open_history(
        self, workspace_id: UUID, chat_id: UUID, *, known_only: bool = False
    ) -> tuple[HistoryVersion, ContentReader] | None:
        with ExitStack() as stack:
            opened = self._open_history_fd(stack, workspace_id, chat_id)
            if opened is None:
                return EMPTY_HISTORY, BytesContentReader(b"")
            fd, key = opened
            if known_only and self._digests.get(key) is None:
                return None
            if key.size <= SMALL_HISTORY_BYTES:
                return self._read_small_history(fd, key)
            sha256, hashed_bytes = self._digests.hashed(
                fd, key, lambda fd: sha256_state_up_to(fd, key.size)
            )
            # The reader serves the very descriptor that was hashed (or whose key was),
            # up to what was hashed.
            stack.pop_all()
            return HistoryVersion(sha256, hashed_bytes), FdContentReader(fd, hashed_bytes)

    def _read_small_history(self, fd: int, key: StatKey) -> tuple[HistoryVersion, ContentReader]:
        """Read whole, so that the version and the bytes served come from one read."""
        read: list[bytes] = []

        def read_and_hash(fd: int) -> tuple[HashState, int]:
            read.append(read_up_to(fd, key.size))
            return hashlib.sha256(read[0]), len(read[0])

        sha256, _ = self._digests.hashed(fd, key, read_and_hash)
        data = read[0] if read else read_up_to(fd, key.size)
        if len(data) != key.size:  # cut short behind the service's back since opened
            sha256 = hashlib.sha256(data).hexdigest()
        return HistoryVersion(sha256, len(data)), BytesContentReader(data)

    def _open_history_fd(
        self, stack: ExitStack, workspace_id: UUID, chat_id: UUID
    ) -> tuple[int, StatKey] | None:
        """The history's checked descriptor, closed with `stack`, and its stat key."""
        with ExitStack() as dirs:
            chat_fd = self._open_chat(dirs, workspace_id, chat_id)
            if chat_fd is None:
                return None
            opened = open_regular_status(stack, chat_fd, HISTORY_FILE_NAME)
        return None if opened is None else (opened[0], stat_key(opened[1]))

    def _open_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> ContentReader:
        with ExitStack() as stack, ExitStack() as file_stack:
            opened = self._open_chat_file(stack, file_stack, workspace_id, chat_id, name.value)
            if opened is None:
                raise ChatFileNotFoundError(f"no attachment named {name.value!r} on disk")
            file_stack.pop_all()
            return FdContentReader(*opened)

    def _open_attachments(
        self, workspace_id: UUID, chat_id: UUID, names: list[str]
    ) -> list[ContentReader | None]:
        opened: list[tuple[int, int] | None] = []
        with ExitStack() as stack, ExitStack() as kept:
            chat_fd = self._open_chat(stack, workspace_id, chat_id)
            for name in names:
                with ExitStack() as one:
                    found = None if chat_fd is None else open_regular(one, chat_fd, name)
                    if found is not None:  # else `one` closes what was opened, if anything
                        kept.callback(os.close, found[0])
                        one.pop_all()
                opened.append(found)
            kept.pop_all()  # each descriptor is its reader's from here on
        return [None if found is None else FdContentReader(*found) for found in opened]

    def _delete_attachment(
        self, workspace_id: UUID, chat_id: UUID, name: ChatAttachmentName
    ) -> int:
        with ExitStack() as stack:
            chat_fd = self._open_chat(stack, workspace_id, chat_id)
            if chat_fd is None:
                return 0
            status = lstat_or_none(chat_fd, name.value)
            if status is None or stat.S_ISDIR(status.st_mode):
                return 0
            try:
                os.unlink(name.value, dir_fd=chat_fd)
            except OSError as error:
                # A directory planted since the lstat stays; EISDIR, or EPERM in POSIX's words.
                if error.errno in {errno.ENOENT, errno.EISDIR, errno.EPERM}:
                    return 0
                raise
            fsync(chat_fd)
            return status.st_size if stat.S_ISREG(status.st_mode) else 0

    def _scan_attachments(
        self, workspace_id: UUID, chat_id: UUID, max_size_bytes: int
    ) -> list[ScannedFile]:
        with ExitStack() as stack:
            chat_fd = self._open_chat(stack, workspace_id, chat_id)
            if chat_fd is None:
                return []
            with os.scandir(chat_fd) as entries:
                listed = [entry.name for entry in entries if entry.is_file(follow_symlinks=False)]
            found: list[ScannedFile] = []
            for candidate in sorted(listed):
                try:
                    name = ChatAttachmentName(candidate)
                except InvalidAttachmentNameError:
                    continue
                with ExitStack() as file_stack:
                    opened = open_regular(file_stack, chat_fd, candidate)
                    if opened is None:
                        continue  # replaced by something else since the listing
                    if opened[1] > max_size_bytes:
                        continue  # too big to ever have been uploaded; never read
                    sha256, size_bytes = sha256_up_to(*opened)
                found.append(ScannedFile(name, size_bytes, sha256))
            return found
