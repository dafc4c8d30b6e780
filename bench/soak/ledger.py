"""What the server acknowledged, chat by chat, and what it may hold after a crash.

A chat belongs to one soak connection, which sends one request at a time, so the ledger of
a chat is exact: every write the server answered 2xx to is in it as the state it must
leave. A write that got no answer (a cut connection, a killed server) or `503
shutting_down` is *in doubt*: it may have landed or not, so the chat may hold the state
before it or after it, and nothing else. `settle` compares what the server shows with the
ledger, reports every difference as a violation, and takes what it saw as the new exact
state, so that the next check starts from certainty again.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.soak.content import Blob


@dataclass(frozen=True, slots=True)
class Stored:
    """What one attachment name must hold: the bytes sent and, once known, the file id."""

    blob: Blob
    sha256: str
    file_id: str | None  # None: a sandbox's file, or an upload in doubt


@dataclass(frozen=True, slots=True)
class SeenFile:
    """One attachment as the server lists it, and the sha256 of the bytes it downloads."""

    file_id: str
    sha256: str
    size: int
    content_sha256: str


@dataclass(frozen=True, slots=True)
class SeenChat:
    """A chat as the server shows it: whether it exists, its history and its attachments."""

    exists: bool
    history: bytes = b""
    etag: str | None = None
    files: Mapping[str, SeenFile] = field(default_factory=dict)


@dataclass
class ChatLedger:
    chat_id: str
    workspace_id: str
    history: bytes = b""
    etag: str | None = None
    files: dict[str, Stored] = field(default_factory=dict)
    deleted: bool = False
    # Writes in doubt: what else the chat may hold.
    history_maybe: list[bytes] = field(default_factory=list)
    files_maybe: dict[str, list[Stored | None]] = field(default_factory=dict)
    uploads_maybe: list[dict[str, Stored]] = field(default_factory=list)  # all or none of each
    delete_maybe: bool = False
    sandbox_maybe: bool = False
    notes: list[str] = field(default_factory=list)  # the requests in doubt, for the report
    # Names already reported as unexpected, so one fault is said once.
    reported: set[str] = field(default_factory=set)

    @property
    def in_doubt(self) -> bool:
        return bool(
            self.history_maybe or self.files_maybe or self.delete_maybe or self.sandbox_maybe
        )

    @property
    def live(self) -> bool:
        return not self.deleted

    # Acknowledged writes.
    def history_written(self, content: bytes, etag: str | None) -> None:
        self.history, self.etag = content, etag

    def uploaded(self, name: str, stored: Stored) -> None:
        self.files[name] = stored

    def file_deleted(self, name: str) -> None:
        del self.files[name]

    # Writes in doubt.
    def history_in_doubt(self, content: bytes) -> None:
        self.history_maybe.append(content)

    def upload_in_doubt(self, parts: dict[str, Stored]) -> None:
        """An upload of `parts` (name: what it sent) that may have landed, whole or not
        at all."""
        for name, stored in parts.items():
            self.files_maybe.setdefault(name, []).append(stored)
        self.uploads_maybe.append(parts)

    def file_delete_in_doubt(self, name: str) -> None:
        self.files_maybe.setdefault(name, []).append(None)


def _matches(expected: Stored | None, seen: SeenFile | None) -> bool:
    if expected is None or seen is None:
        return expected is None and seen is None
    return (
        seen.sha256 == expected.sha256
        and seen.size == expected.blob.size
        and (expected.file_id is None or expected.file_id == seen.file_id)
    )


def _describe(stored: Stored | None) -> str:
    if stored is None:
        return "absent"
    named = f"file {stored.file_id}, " if stored.file_id else ""
    return f"{named}{stored.blob.size} bytes, sha256 {stored.sha256[:12]}"


def _describe_seen(seen: SeenFile | None) -> str:
    if seen is None:
        return "not listed"
    return f"file {seen.file_id}, {seen.size} bytes, sha256 {seen.sha256[:12]}"


def settle(chat: ChatLedger, seen: SeenChat) -> list[str]:
    """Every way `seen` breaks what `chat` records as acknowledged; afterwards `chat` holds
    what was seen (its doubts resolved)."""
    where = f"chat {chat.chat_id}"
    if chat.notes:
        where += f" (in doubt: {'; '.join(chat.notes)})"
    if chat.deleted:
        return [f"{where}: acknowledged delete undone, the chat is back"] if seen.exists else []
    if not seen.exists:
        if chat.delete_maybe:
            chat.deleted = True
            _clear_doubts(chat)
            return []
        chat.deleted = True
        return [f"{where}: LOST: the chat is gone though its delete was never acknowledged"]
    violations = _settle_history(chat, seen, where)
    violations += _settle_files(chat, seen, where)
    _clear_doubts(chat)
    return violations


def _settle_history(chat: ChatLedger, seen: SeenChat, where: str) -> list[str]:
    if seen.history == chat.history:
        if chat.etag is not None and seen.etag != chat.etag:
            return [f"{where}: history as acknowledged but its ETag {seen.etag} is not {chat.etag}"]
        chat.etag = seen.etag
        return []
    if seen.history in chat.history_maybe:
        chat.history, chat.etag = seen.history, seen.etag
        return []
    violation = (
        f"{where}: LOST: history holds {len(seen.history)} bytes that no acknowledged write"
        f" left (the last acknowledged one is {len(chat.history)} bytes"
        f"{', with writes in doubt' if chat.history_maybe else ''})"
    )
    chat.history, chat.etag = seen.history, seen.etag
    return [violation]


def _settle_files(chat: ChatLedger, seen: SeenChat, where: str) -> list[str]:
    violations = []
    names = set(chat.files) | set(chat.files_maybe) | set(seen.files)
    settled: dict[str, Stored] = {}
    for name in sorted(names):
        observed = seen.files.get(name)
        if observed is not None and observed.content_sha256 != observed.sha256:
            violations.append(
                f"{where}: '{name}' (file {observed.file_id}) downloads bytes with sha256"
                f" {observed.content_sha256[:12]}, its record says {observed.sha256[:12]}"
            )
        allowed = [chat.files.get(name), *chat.files_maybe.get(name, [])]
        matched = [each for each in allowed if _matches(each, observed)]
        if not matched:
            if name not in chat.reported:
                chat.reported.add(name)
                lost = "LOST: " if allowed[0] is not None else ""
                violations.append(
                    f"{where}: {lost}'{name}' should be {' or '.join(map(_describe, allowed))},"
                    f" the server has {_describe_seen(observed)}"
                )
            continue
        expected = matched[0]
        if expected is not None and observed is not None:
            settled[name] = Stored(expected.blob, expected.sha256, observed.file_id)
    chat.files = settled
    for parts in chat.uploads_maybe:
        landed = {name for name, stored in parts.items() if _matches(stored, seen.files.get(name))}
        if landed and landed != set(parts):
            violations.append(
                f"{where}: an upload in doubt landed in part: {sorted(landed)} of {sorted(parts)}"
            )
    return violations


def _clear_doubts(chat: ChatLedger) -> None:
    chat.history_maybe.clear()
    chat.files_maybe.clear()
    chat.uploads_maybe.clear()
    chat.notes.clear()
    chat.delete_maybe = False
    chat.sandbox_maybe = False
