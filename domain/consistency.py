"""What the operators' check finds (ADR 0026): each way the records, the usage ledger and
the data directory disagree, said in one line."""

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class DifferenceKind(StrEnum):
    # A chat with a record.
    CHAT_DIRECTORY_MISSING = "chat_directory_missing"
    FILE_MISSING = "file_missing"
    FILE_UNRECORDED = "file_unrecorded"
    FILE_SIZE = "file_size"
    FILE_CONTENT = "file_content"
    HISTORY_UNRECORDED = "history_unrecorded"
    KEPT_BYTES_MISSING = "kept_bytes_missing"
    KEPT_BYTES_UNNEEDED = "kept_bytes_unneeded"
    USED_BYTES = "used_bytes"
    HISTORY_BYTES = "history_bytes"
    REVISION_BYTES = "revision_bytes"
    # A chat with or without a record.
    CRASH_MARK = "crash_mark"
    # What is left of a chat with no record.
    CHAT_RECORD_MISSING = "chat_record_missing"
    # A workspace.
    WORKSPACE_SUMS = "workspace_sums"
    # The data directory's own entries.
    LEFTOVER = "leftover"


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement: of a chat (`chat_id` set), of a workspace's usage sums (only
    `workspace_id`), or a leftover entry of the data directory (`path`, neither id).
    `detail` says what differs, in the words an operator reads."""

    kind: DifferenceKind
    detail: str
    workspace_id: UUID | None = None
    chat_id: UUID | None = None
    path: str | None = None

    @property
    def subject(self) -> str:
        if self.chat_id is not None:
            return f"chat {self.chat_id}"
        if self.workspace_id is not None:
            return f"workspace {self.workspace_id}"
        return self.path or "data directory"

    def __str__(self) -> str:
        return f"{self.subject}: {self.detail}"
