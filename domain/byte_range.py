from dataclasses import dataclass

from domain.errors import InvalidInputError, RangeNotSatisfiableError


@dataclass(frozen=True, slots=True)
class ByteRange:
    """One requested byte range: `first-last`, `first-` (last None) or `-suffix` (first None)."""

    first: int | None
    last: int | None

    def __post_init__(self) -> None:
        if self.first is None and self.last is None:
            raise InvalidInputError("a byte range needs a start or a suffix length")
        if (self.first is not None and self.first < 0) or (self.last is not None and self.last < 0):
            raise InvalidInputError("byte positions are never negative")
        if self.first is not None and self.last is not None and self.last < self.first:
            raise InvalidInputError("a byte range may not end before it starts")

    def resolve(self, size_bytes: int) -> tuple[int, int]:
        """The inclusive (start, end) within a file of `size_bytes`; an end past the file is
        clamped to its last byte. Raises RangeNotSatisfiableError when nothing is selected."""
        if self.first is None:
            suffix = self.last or 0
            if suffix == 0 or size_bytes == 0:
                raise RangeNotSatisfiableError("empty suffix range", size_bytes)
            return max(size_bytes - suffix, 0), size_bytes - 1
        if self.first >= size_bytes:
            raise RangeNotSatisfiableError(
                f"range starts at {self.first}, file has {size_bytes} bytes", size_bytes
            )
        last = size_bytes - 1 if self.last is None else min(self.last, size_bytes - 1)
        return self.first, last
