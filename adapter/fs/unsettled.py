"""Marks of chats whose bytes and metadata are changing together: one file per chat under
`<data_dir>/unsettled/`, named `<workspace_id>_<chat_id>`. It is empty, or holds a note of
what the change will record once its bytes are in place (the records of an upload, as
JSON), which settling reads to tell that upload's bytes from a sandbox's edit. Beside it,
`<workspace_id>_<chat_id>.commit/` is the journal of an attachments commit under way
(`commit.py`), which marks the chat unsettled too.

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

from adapter.fs.dirs import lstat_or_none, make_dirs, open_root
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


def mark(root: Path, workspace_id: UUID, chat_id: UUID) -> bool:
    """Blocking. Whether the chat was marked already: by a mark or a commit journal."""
    name = _mark_name(workspace_id, chat_id)
    with ExitStack() as stack:
        marks_fd = _marks_dir(stack, root)
        try:
            fd = os.open(name, _MARK_FLAGS | os.O_EXCL, FILE_MODE, dir_fd=marks_fd)
        except FileExistsError:
            return True
        os.close(fd)
        return lstat_or_none(marks_fd, name + _JOURNAL_SUFFIX) is not None


def unmark(root: Path, workspace_id: UUID, chat_id: UUID) -> None:
    """Blocking. Drops the mark, its note, and a note a kill left half-written."""
    name = _mark_name(workspace_id, chat_id)
    with ExitStack() as stack:
        marks_fd = _marks_dir(stack, root)
        for entry in (name, _scratch_name(name)):
            with suppress(FileNotFoundError):
                os.unlink(entry, dir_fd=marks_fd)


def _scratch_name(mark_name: str) -> str:
    return f".{mark_name}.note"


def marked(root: Path) -> list[tuple[UUID, UUID]]:
    """Blocking. The chats with a mark or a commit journal, each once; names that are
    neither are ignored."""
    with ExitStack() as stack, os.scandir(_marks_dir(stack, root)) as entries:
        names = [entry.name for entry in entries]
    found = set()
    for name in names:
        workspace, _, chat = name.removesuffix(_JOURNAL_SUFFIX).partition("_")
        with suppress(ValueError):
            found.add((UUID(workspace), UUID(chat)))
    return sorted(found)


def note(root: Path, workspace_id: UUID, chat_id: UUID, records: list[ChatFile]) -> None:
    """Blocking. Replace the chat's mark with one holding `records`, whole or not at all
    (written beside it, then renamed over it)."""
    name = _mark_name(workspace_id, chat_id)
    scratch = _scratch_name(name)
    payload = json.dumps([_encoded(record) for record in records]).encode()
    with ExitStack() as stack:
        marks_fd = _marks_dir(stack, root)
        fd = os.open(scratch, _MARK_FLAGS | os.O_TRUNC, FILE_MODE, dir_fd=marks_fd)
        try:
            os.write(fd, payload)
        finally:
            os.close(fd)
        os.replace(scratch, name, src_dir_fd=marks_fd, dst_dir_fd=marks_fd)


def noted(root: Path, workspace_id: UUID, chat_id: UUID) -> list[ChatFile]:
    """Blocking. The records the chat's mark holds; [] for an empty or missing mark, or a
    note that cannot be read (a settle then falls back to taking the bytes as found)."""
    with ExitStack() as stack:
        try:
            fd = os.open(
                _mark_name(workspace_id, chat_id),
                os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                dir_fd=_marks_dir(stack, root),
            )
        except FileNotFoundError:
            return []
        with os.fdopen(fd, "rb") as opened:
            payload = opened.read()
    try:
        return [_decoded(item) for item in json.loads(payload)] if payload else []
    except (ValueError, KeyError, TypeError):
        return []


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
