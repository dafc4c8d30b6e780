"""Archives written as a stream of bytes, and the manifest an export puts in them (ADR 0023)."""

from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from typing import Protocol

from domain.export import ExportManifest


class ArchiveMember(Protocol):
    """One member being added to an archive. Iterating it gives the archive's next bytes
    (the member's header, its content, what follows it), reading the content as they go;
    once it has been iterated whole, `size_bytes` and `sha256` tell what the member holds:
    exactly the bytes the content gave, whatever it was said to hold."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    @property
    def size_bytes(self) -> int: ...

    @property
    def sha256(self) -> str: ...


class ArchiveWriter(Protocol):
    """One ZIP archive, written from start to end without seeking, so that it can be sent
    as it is made: members one at a time, each stored as given (no compression), then the
    central directory. Zip64 wherever a size or an offset needs it. Small members' bytes
    are gathered into larger chunks: a member's last bytes may come out with the next
    member's, or with `finish`'s. Checksums are computed off the event loop."""

    def member(
        self,
        path: str,
        modified: datetime,
        size_hint: int,
        content: AsyncIterable[bytes],
    ) -> ArchiveMember:
        """A member at `path` holding `content`'s bytes, of which there will be at most
        `size_hint` (that decides whether it needs Zip64). Iterate it whole before adding
        the next one."""
        ...

    async def finish(self) -> bytes:
        """The archive's last bytes: what members left pending, the central directory and
        the end records."""
        ...

    async def aclose(self) -> None:
        """Drop the archive, finished or not; nothing more is written."""
        ...


class ArchiveFormat(Protocol):
    def writer(self) -> ArchiveWriter:
        """A new, empty archive."""
        ...


class ManifestEncoder(Protocol):
    def encode(self, manifest: ExportManifest) -> bytes:
        """`manifest.json`'s bytes: UTF-8 JSON, each workspace, chat and file record in it
        exactly as the API answers it."""
        ...
