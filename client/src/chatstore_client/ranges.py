"""A single HTTP byte range (RFC 9110 14.1.2), for partial downloads."""

from dataclasses import dataclass
from typing import Self


@dataclass(frozen=True, slots=True)
class ByteRange:
    """`ByteRange(0, 99)`: the first 100 bytes (ends are inclusive, as in HTTP);
    `ByteRange(100)`: from byte 100 to the end; `ByteRange.last(100)`: the last 100 bytes.

    An end past the file's last byte is clamped by the service; a start at or past its end
    answers `RangeNotSatisfiableError`.
    """

    start: int | None
    end: int | None = None
    suffix_length: int | None = None

    def __post_init__(self) -> None:
        if self.suffix_length is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("a suffix range has neither start nor end")
            if self.suffix_length < 1:
                raise ValueError("a suffix range covers at least one byte")
            return
        if self.start is None or self.start < 0:
            raise ValueError("a byte range starts at a byte offset of 0 or more")
        if self.end is not None and self.end < self.start:
            raise ValueError("a byte range ends at or after its start")

    @classmethod
    def last(cls, length: int) -> Self:
        return cls(None, None, suffix_length=length)

    def header(self) -> str:
        """The value of the `Range` header."""
        if self.suffix_length is not None:
            return f"bytes=-{self.suffix_length}"
        end = "" if self.end is None else str(self.end)
        return f"bytes={self.start}-{end}"
