from dataclasses import dataclass
from typing import ClassVar

from domain.control_characters import has_control_character
from domain.errors import InvalidAttachmentNameError, ReservedAttachmentNameError

HISTORY_FILE_NAME = "history.md"


@dataclass(frozen=True, slots=True)
class ChatAttachmentName:
    """An attachment's file name, safe to use as one path component inside a chat directory.

    Checked on the name itself, as the API edge decoded it from the wire (the domain
    decodes nothing, so `%2F` is three characters): not empty, not `.` or `..`, no `/`,
    `\\`, NUL or other control character (Unicode category Cc), at most `MAX_BYTES` in
    UTF-8, and not the reserved history file name.
    """

    MAX_BYTES: ClassVar[int] = 255
    RESERVED: ClassVar[str] = HISTORY_FILE_NAME

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if value in ("", ".", ".."):
            raise InvalidAttachmentNameError(f"attachment name {value!r} is not allowed")
        if "/" in value or "\\" in value:
            raise InvalidAttachmentNameError("attachment name must not contain '/' or '\\'")
        if has_control_character(value):
            raise InvalidAttachmentNameError("attachment name must not contain control characters")
        try:
            encoded = value.encode("utf-8")
        except UnicodeEncodeError as error:  # lone surrogates cannot name a file
            raise InvalidAttachmentNameError("attachment name is not valid Unicode") from error
        if len(encoded) > self.MAX_BYTES:
            raise InvalidAttachmentNameError(
                f"attachment name is {len(encoded)} bytes in UTF-8; at most {self.MAX_BYTES}"
            )
        if value == self.RESERVED:
            raise ReservedAttachmentNameError(f"{self.RESERVED!r} is reserved for the history")

    def __str__(self) -> str:
        return self.value
