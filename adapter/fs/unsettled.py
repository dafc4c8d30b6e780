"""Marks of chats whose bytes and metadata are changing together: one file per chat under
`<data_dir>/unsettled/`, named `<workspace_id>_<chat_id>`. A mark holds the note of what
its change will record once its bytes are in place (the records of an upload, as JSON;
empty for other changes), which settling reads to tell that upload's bytes from a
sandbox's edit. Beside it, `.<workspace_id>_<chat_id>.note` is a note written after the
mark (when a change found a crashed change's mark and settled it, or a rolled-back commit
voided the note), read in preference to the mark's; `<workspace_id>_<chat_id>.commit/` is
the journal of an attachments commit under way (`commit.py`), which marks the chat
unsettled too.

The note goes into the new mark in the write that creates it: a separate note file cost an
upload a second create, and renaming one over another cost more (ext4 flushes a file
renamed over another at once, `auto_da_alloc`). A note cut short by a crash is read as no
note; it can only be cut short before the commit it describes began, so there are no bytes
of that change to tell apart.

The marks are not fsynced. They guard against the process dying (SIGKILL, OOM, a crash),
after which the kernel still writes them out; after a power cut a mark may be lost, and
the chat's records then wait for the next rescan or sandbox end, as without marks.
"""

import json
import os
from contextlib import ExitStack, suppress
from datetime import datetime
from pathlib import Path
from uuid import UUID

from adapter.fs.dirs import lstat_or_none, make_dirs, open_dirs, open_root, remove_entry
from adapter.fs.fsync import fsync
from adapter.fs.layout import FILE_MODE, PRIVATE_DIR_MODE
from domain.attachment_name import ChatAttachmentName
from domain.chat_file import ChatFile

UNSETTLED = "unsettled"
_MARK_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


_JOURNAL_SUFFIX = ".commit"


def _mark_name(workspace_id: UUID, chat_id: UUID) -> str:
    return f"{workspace_id}_{chat_id}"


def journal_name(workspace_id: UUID, chat_id: UUID) -> str:
    """The name, in the marks' directory, of the chat's commit journal."""
    return _mark_name(workspace_id, chat_id) + _JOURNAL_SUFFIX


def open_marks_dir(stack: ExitStack, root_fd: int) -> int:
    """The marks' directory (made if missing), its descriptor closed with `stack`."""
    return make_dirs(stack, root_fd, (UNSETTLED,), PRIVATE_DIR_MODE)


def _marks_dir(stack: ExitStack, root: Path) -> int:
    return open_marks_dir(stack, open_root(stack, root))


def mark(root: Path, workspace_id: UUID, chat_id: UUID, payload: bytes) -> bool:
    """Blocking. Whether the chat was marked already, by a mark or a commit journal; a new
    mark holds `payload` (`files_payload`, `append_payload` or b"") as its note, a mark
    found is left as it was."""
    name = _mark_name(workspace_id, chat_id)
    with ExitStack() as stack:
        marks_fd = _marks_dir(stack, root)
        try:
            fd = os.open(name, _MARK_FLAGS | os.O_EXCL, FILE_MODE, dir_fd=marks_fd)
        except FileExistsError:
            return True
        try:
            if payload:
                os.write(fd, payload)
        finally:
            os.close(fd)
        return lstat_or_none(marks_fd, name + _JOURNAL_SUFFIX) is not None


def unmark(root: Path, workspace_id: UUID, chat_id: UUID) -> None:
    """Blocking. Drops the mark and its note."""
    name = _mark_name(workspace_id, chat_id)
    with ExitStack() as stack:
        marks_fd = _marks_dir(stack, root)
        # The note first: a note left by a crash between the two would be read before the
        # next mark's own note.
        for entry in (_note_name(name), name):
            with suppress(FileNotFoundError):
                os.unlink(entry, dir_fd=marks_fd)


def unmark_workspace(marks_fd: int, workspace_id: UUID) -> None:
    """Blocking. Drop every mark, note and commit journal (with what it kept aside) of the
    workspace's chats, durably; the caller holds their locks."""
    prefix = f"{workspace_id}_"  # of every `_mark_name`, and of a note's after its dot
    with os.scandir(marks_fd) as entries:
        names = [entry.name for entry in entries if entry.name.lstrip(".").startswith(prefix)]
    for name in names:
        remove_entry(marks_fd, name)
    if names:
        fsync(marks_fd)


def _note_name(mark_name: str) -> str:
    return f".{mark_name}.note"


def marked(root: Path) -> list[tuple[UUID, UUID]]:
    """Blocking. The chats with a mark or a commit journal, each once; names that are
    neither are ignored."""
    with ExitStack() as stack, os.scandir(_marks_dir(stack, root)) as entries:
        return _chats_named([entry.name for entry in entries])


def marked_read_only(root: Path) -> list[tuple[UUID, UUID]]:
    """Blocking. As `marked`, without making the marks' directory when it is missing."""
    with ExitStack() as stack:
        marks_fd = open_dirs(stack, open_root(stack, root), (UNSETTLED,))
        if marks_fd is None:
            return []
        with os.scandir(marks_fd) as entries:
            return _chats_named([entry.name for entry in entries])


def _chats_named(names: list[str]) -> list[tuple[UUID, UUID]]:
    found = set()
    for name in names:
        workspace, _, chat = name.removesuffix(_JOURNAL_SUFFIX).partition("_")
        with suppress(ValueError):
            found.add((UUID(workspace), UUID(chat)))
    return sorted(found)


def note(root: Path, workspace_id: UUID, chat_id: UUID, records: list[ChatFile]) -> None:
    """Blocking. Keep `records` as the note beside the chat's mark, in place of any."""
    payload = files_payload(records)
    with ExitStack() as stack:
        marks_fd = _marks_dir(stack, root)
        fd = os.open(
            _note_name(_mark_name(workspace_id, chat_id)),
            _MARK_FLAGS | os.O_TRUNC,
            FILE_MODE,
            dir_fd=marks_fd,
        )
        try:
            os.write(fd, payload)
        finally:
            os.close(fd)


def files_payload(records: list[ChatFile]) -> bytes:
    """A note of the records an upload will save once its bytes are in place."""
    return json.dumps([_encoded(record) for record in records]).encode() if records else b""


def append_payload(from_size: int, to_size: int, to_sha256: str) -> bytes:
    """A note of an append to the history under way."""
    return json.dumps(
        {"append": {"from_size": from_size, "to_size": to_size, "to_sha256": to_sha256}}
    ).encode()


def noted_append(root: Path, workspace_id: UUID, chat_id: UUID) -> tuple[int, int, str] | None:
    """Blocking. (from_size, to_size, to_sha256) of the append the chat's mark notes."""
    found = _note_of(root, workspace_id, chat_id)
    if not isinstance(found, dict):
        return None
    try:
        append = found["append"]
        return int(append["from_size"]), int(append["to_size"]), str(append["to_sha256"])
    except (KeyError, TypeError, ValueError):
        return None


def noted(root: Path, workspace_id: UUID, chat_id: UUID) -> list[ChatFile]:
    """Blocking. The records of the note beside the chat's mark, else of the mark; [] for
    neither, a note of another kind, or one that cannot be read (a settle then falls back
    to taking the bytes as found)."""
    found = _note_of(root, workspace_id, chat_id)
    try:
        return [_decoded(item) for item in found] if isinstance(found, list) else []
    except (ValueError, KeyError, TypeError):
        return []


def _note_of(root: Path, workspace_id: UUID, chat_id: UUID) -> object:
    """The decoded note beside the chat's mark, else in it; None for none or a bad one."""
    name = _mark_name(workspace_id, chat_id)
    with ExitStack() as stack:
        marks_fd = _marks_dir(stack, root)
        payload = _read(marks_fd, _note_name(name))
        if payload is None:
            payload = _read(marks_fd, name)
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return None


def _read(dir_fd: int, name: str) -> bytes | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as opened:
        return opened.read()


def _encoded(record: ChatFile) -> dict[str, object]:
    return {
        "file_id": str(record.file_id),
        "chat_id": str(record.chat_id),
        "name": record.name.value,
        "content_type": record.content_type,
        "size_bytes": record.size_bytes,
        "sha256": record.sha256,
        "created_at": record.created_at.isoformat(),
    }


def _decoded(item: dict[str, object]) -> ChatFile:
    return ChatFile(
        file_id=UUID(str(item["file_id"])),
        chat_id=UUID(str(item["chat_id"])),
        name=ChatAttachmentName(str(item["name"])),
        content_type=None if item["content_type"] is None else str(item["content_type"]),
        size_bytes=int(str(item["size_bytes"])),
        sha256=str(item["sha256"]),
        created_at=datetime.fromisoformat(str(item["created_at"])),
    )
