import codecs
import hashlib
from dataclasses import dataclass
from typing import ClassVar

from domain.errors import InvalidHistoryEncodingError
from domain.etag import etag_listed, strong_etag


@dataclass(frozen=True, slots=True)
class HistoryVersion:
    """A version of a chat's `history.md`, named by the strong ETag of its content."""

    sha256: str
    size_bytes: int

    @property
    def etag(self) -> str:
        return strong_etag(self.sha256)

    def matches(self, etag_header: str, *, weak: bool = False) -> bool:
        return etag_listed(self.etag, etag_header, weak=weak)


# The version of a history with nothing in it: a new chat's, or a missing `history.md`'s.
EMPTY_HISTORY = HistoryVersion(sha256=hashlib.sha256(b"").hexdigest(), size_bytes=0)


class Utf8Validator:
    """Checks a stream of chunks is UTF-8 without holding it whole."""

    ENCODING: ClassVar[str] = "utf-8"

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder(self.ENCODING)(errors="strict")

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            raise InvalidHistoryEncodingError("history body is not valid UTF-8") from error
