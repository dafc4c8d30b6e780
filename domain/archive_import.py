"""What `POST /v1/chats/import` reads (api.md, Workspace): the archive the exports write,
its layout and manifest, and the limits an import holds it to (ADR 0025).

The archive holds `manifest.json` and, per chat, `chats/<chat_id>/history.md` and
`chats/<chat_id>/files/<name>`, and nothing else. The manifest is
`{"format": "chatstore-export", "version": 1, "exported_at", "workspace": Workspace,
"chats": [{"chat": Chat, "history": {"size_bytes", "sha256"}, "files": [ChatFile, ...]}]}`,
each resource as the API answers it. Reading it is checked in two passes: first its shape
(every field present and of its type, else InvalidArchiveError), then the values an
import keeps, each by its own rule and code (an attachment name, a title, metadata, a
content type), so an archive that is not one the service exported is `invalid_archive`
whatever else is wrong with it."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from domain.attachment_name import ChatAttachmentName
from domain.chat_details import ChatMetadata, ChatTitle
from domain.chat_file import checked_content_type
from domain.errors import DuplicateAttachmentNameError, InvalidArchiveError
from domain.export import (
    ExportedContent,
    ExportManifest,
    attachment_path,
    history_path,
)
from domain.identifier import parse_uuid

FORMAT = ExportManifest.FORMAT
VERSION = ExportManifest.VERSION
# More entries than this and the archive is refused before its directory is read.
MAX_ENTRIES = 100_000
# The manifest is read whole into memory: about 300 bytes a file and 400 a chat, so this
# takes a manifest naming MAX_ENTRIES entries with room to spare.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# The longest entry path read: past the longest the exports write (chats/<chat id>/files/
# and a name of ChatAttachmentName.MAX_BYTES, 304 bytes), so that a name somewhat past the
# name rule's limit meets that rule's code, while MAX_ENTRIES paths stay within 50 MB.
MAX_PATH_BYTES = 512
# What one entry costs an archive beside its content, at most: its local header (30 bytes,
# its path, a Zip64 extra), its data descriptor (24 bytes) and its central directory
# record (46 bytes, its path, extras).
ENTRY_OVERHEAD_BYTES = 1024
ARCHIVE_OVERHEAD_BYTES = MAX_MANIFEST_BYTES + MAX_ENTRIES * ENTRY_OVERHEAD_BYTES

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")


def archive_bound(budget_bytes: int) -> int:
    """The most bytes an import body may hold when the content it brings may take
    `budget_bytes` of the quota: that content, what deflate may add to it (at most 0.1%),
    the manifest and each entry's ZIP records (ARCHIVE_OVERHEAD_BYTES)."""
    budget = max(budget_bytes, 0)
    return budget + budget // 1024 + ARCHIVE_OVERHEAD_BYTES


def check_entry_path(path: str) -> None:
    """Refuse an entry path that no extraction could take safely: empty, absolute (`/...`
    or a drive letter), with a `..` component, a backslash or a control character. Every
    other path is then refused unless it is one the manifest names."""
    shown = repr(path[:80])
    if not path or path.startswith("/") or _DRIVE.match(path):
        raise InvalidArchiveError(f"the archive holds an absolute entry path {shown}")
    if ".." in path.split("/"):
        raise InvalidArchiveError(f"the archive holds an entry path with '..': {shown}")
    if "\\" in path:
        raise InvalidArchiveError(f"the archive holds an entry path with a backslash: {shown}")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise InvalidArchiveError(f"the archive holds an entry path with a control byte: {shown}")


@dataclass(frozen=True, slots=True)
class ArchivedFile:
    name: ChatAttachmentName
    content_type: str | None
    content: ExportedContent


@dataclass(frozen=True, slots=True)
class ArchivedChat:
    """One chat of the manifest: the id it had where it was exported (an import gives it a
    new one), what an import keeps of it, and what its entries hold."""

    chat_id: UUID
    title: ChatTitle | None
    metadata: ChatMetadata
    history: ExportedContent
    files: tuple[ArchivedFile, ...]

    @property
    def history_path(self) -> str:
        return history_path(self.chat_id)

    def file_path(self, file: ArchivedFile) -> str:
        return attachment_path(self.chat_id, file.name)

    @property
    def size_bytes(self) -> int:
        """What the chat takes once imported: its history and its attachments."""
        return self.history.size_bytes + sum(file.content.size_bytes for file in self.files)


@dataclass(frozen=True, slots=True)
class ArchiveManifest:
    """A manifest read and checked whole (see the module's docstring)."""

    FORMAT: ClassVar[str] = FORMAT
    VERSION: ClassVar[int] = VERSION

    chats: tuple[ArchivedChat, ...]

    @classmethod
    def parsed(cls, data: bytes) -> "ArchiveManifest":
        """The manifest `data` holds; InvalidArchiveError for anything but the shape above,
        else the error of the first value an import would keep that breaks its rule."""
        shapes = _Shape.of(_decoded(data))
        return cls(tuple(shape.chat() for shape in shapes))

    def entries(self) -> dict[str, ExportedContent]:
        """Every entry the manifest names but itself, by path, in manifest order."""
        named: dict[str, ExportedContent] = {}
        for chat in self.chats:
            named[chat.history_path] = chat.history
            for file in chat.files:
                named[chat.file_path(file)] = file.content
        return named

    @property
    def size_bytes(self) -> int:
        return sum(chat.size_bytes for chat in self.chats)


def _decoded(data: bytes) -> object:
    try:
        return json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_distinct_keys,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise InvalidArchiveError(f"manifest.json is not JSON: {_reason(error)}") from error


def _reason(error: Exception) -> str:
    return str(error)[:200] if isinstance(error, ValueError) else type(error).__name__


def _distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("an object names one key twice")
    return found


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _invalid(where: str, what: str) -> InvalidArchiveError:
    return InvalidArchiveError(f"manifest.json: {where} must be {what}")


def _object(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _invalid(where, "an object")
    return value


def _field(parent: Mapping[str, object], key: str, where: str) -> object:
    if key not in parent:
        raise InvalidArchiveError(f"manifest.json: {where} has no {key!r}")
    return parent[key]


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _invalid(where, "a string")
    return value


def _optional_string(value: object, where: str) -> str | None:
    return None if value is None else _string(value, where)


def _count(value: object, where: str) -> int:
    if type(value) is not int or value < 0:
        raise _invalid(where, "a whole number from 0 up")
    return value


def _uuid(value: object, where: str) -> UUID:
    try:
        return parse_uuid(_string(value, where))
    except ValueError:
        raise _invalid(where, "a UUID") from None


def _timestamp(value: object, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_string(value, where))
    except ValueError:
        raise _invalid(where, "an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise _invalid(where, "an RFC 3339 time with its offset")
    return parsed


def _sha256(value: object, where: str) -> str:
    text = _string(value, where)
    if not _SHA256.fullmatch(text):
        raise _invalid(where, "64 lowercase hex digits")
    return text


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise _invalid(where, "an array")
    return value


def _content(value: object, where: str) -> ExportedContent:
    fields = _object(value, where)
    return ExportedContent(
        _count(_field(fields, "size_bytes", where), f"{where}.size_bytes"),
        _sha256(_field(fields, "sha256", where), f"{where}.sha256"),
    )


@dataclass(frozen=True, slots=True)
class _FileShape:
    name: str
    content_type: str | None
    content: ExportedContent

    def file(self) -> ArchivedFile:
        return ArchivedFile(
            ChatAttachmentName(self.name), checked_content_type(self.content_type), self.content
        )


@dataclass(frozen=True, slots=True)
class _Shape:
    """One chat of the manifest, its shape checked, its values not yet."""

    chat_id: UUID
    title: str | None
    metadata: dict[str, str]
    history: ExportedContent
    files: list[_FileShape]

    @classmethod
    def of(cls, document: object) -> list["_Shape"]:
        top = _object(document, "the manifest")
        if _field(top, "format", "the manifest") != FORMAT:
            raise _invalid("format", repr(FORMAT))
        version = _field(top, "version", "the manifest")
        if type(version) is not int or version != VERSION:
            raise InvalidArchiveError(f"manifest.json: version {version!r} is not {VERSION}")
        _timestamp(_field(top, "exported_at", "the manifest"), "exported_at")
        workspace = _object(_field(top, "workspace", "the manifest"), "workspace")
        workspace_id = _uuid(_field(workspace, "workspace_id", "workspace"), "workspace_id")
        _uuid(_field(workspace, "user_id", "workspace"), "workspace.user_id")
        _timestamp(_field(workspace, "created_at", "workspace"), "workspace.created_at")
        shapes: list[_Shape] = []
        seen_chats: set[UUID] = set()
        seen_files: set[UUID] = set()
        for index, item in enumerate(_list(_field(top, "chats", "the manifest"), "chats")):
            shape = cls._of_chat(item, f"chats[{index}]", workspace_id, seen_files)
            if shape.chat_id in seen_chats:
                raise InvalidArchiveError(f"manifest.json names chat {shape.chat_id} twice")
            seen_chats.add(shape.chat_id)
            shapes.append(shape)
        return shapes

    @classmethod
    def _of_chat(
        cls, item: object, where: str, workspace_id: UUID, seen_files: set[UUID]
    ) -> "_Shape":
        entry = _object(item, where)
        chat = _object(_field(entry, "chat", where), f"{where}.chat")
        at = f"{where}.chat"
        chat_id = _uuid(_field(chat, "chat_id", at), f"{at}.chat_id")
        if _uuid(_field(chat, "workspace_id", at), f"{at}.workspace_id") != workspace_id:
            raise InvalidArchiveError(f"manifest.json: {at} is not of the exported workspace")
        _timestamp(_field(chat, "created_at", at), f"{at}.created_at")
        _timestamp(_field(chat, "updated_at", at), f"{at}.updated_at")
        title = _optional_string(_field(chat, "title", at), f"{at}.title")
        metadata = _object(_field(chat, "metadata", at), f"{at}.metadata")
        values = {key: _string(value, f"{at}.metadata.{key}") for key, value in metadata.items()}
        forked_from = _field(chat, "forked_from", at)
        if forked_from is not None:
            source = _object(forked_from, f"{at}.forked_from")
            _uuid(_field(source, "chat_id", f"{at}.forked_from"), f"{at}.forked_from.chat_id")
            _count(_field(source, "revision", f"{at}.forked_from"), f"{at}.forked_from.revision")
        history = _content(_field(entry, "history", where), f"{where}.history")
        files = [
            _file_shape(file, f"{where}.files[{number}]", chat_id, seen_files)
            for number, file in enumerate(_list(_field(entry, "files", where), f"{where}.files"))
        ]
        return cls(chat_id, title, values, history, files)

    def chat(self) -> ArchivedChat:
        files = tuple(shape.file() for shape in self.files)
        names: set[ChatAttachmentName] = set()
        for file in files:
            if file.name in names:
                raise DuplicateAttachmentNameError(
                    f"attachment name {file.name.value!r} appears twice in chat {self.chat_id}"
                )
            names.add(file.name)
        title = None if self.title is None else ChatTitle(self.title)
        return ArchivedChat(
            self.chat_id, title, ChatMetadata.of(self.metadata), self.history, files
        )


def _file_shape(item: object, where: str, chat_id: UUID, seen: set[UUID]) -> _FileShape:
    fields = _object(item, where)
    file_id = _uuid(_field(fields, "file_id", where), f"{where}.file_id")
    if file_id in seen:
        raise InvalidArchiveError(f"manifest.json names file {file_id} twice")
    seen.add(file_id)
    if _uuid(_field(fields, "chat_id", where), f"{where}.chat_id") != chat_id:
        raise InvalidArchiveError(f"manifest.json: {where} is not a file of its chat")
    _timestamp(_field(fields, "created_at", where), f"{where}.created_at")
    return _FileShape(
        _string(_field(fields, "name", where), f"{where}.name"),
        _optional_string(_field(fields, "content_type", where), f"{where}.content_type"),
        _content(fields, where),
    )
