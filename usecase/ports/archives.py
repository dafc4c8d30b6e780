"""Archives staged whole in the staging area: their members listed, checked, and read back
inflated, in bounded chunks (an import's body, ADR 0025)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from usecase.ports.staging import StagedContent


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """One member of a staged archive as its directory declares it: the path it is stored
    under and the size it inflates to. The other fields say where its bytes are; only the
    storage that listed the member reads them."""

    path: str
    size_bytes: int
    data_offset: int
    data_bytes: int
    deflated: bool
    crc32: int


class StagedArchives(Protocol):
    async def archive_members(
        self, archive: StagedContent, *, max_members: int, max_path_bytes: int
    ) -> list[ArchiveMember]:
        """The members of the ZIP archive staged as `archive`, in the order its directory
        lists them, once its structure is checked whole without inflating anything:
        InvalidArchiveError unless it is a ZIP archive (Zip64 or not; members stored or
        deflated, with or without data descriptors) on one disk whose directory lists at
        most `max_members` members, each a regular file (no link, device, directory,
        FIFO or socket) under a UTF-8 path of at most `max_path_bytes` bytes named once,
        not encrypted, whose local header agrees with the directory, the members and the
        directory laid end to end, covering the archive with nothing hidden between them."""
        ...

    def member_chunks(self, archive: StagedContent, member: ArchiveMember) -> AsyncIterator[bytes]:
        """The member's bytes, inflated, in chunks of at most about a MiB. Never inflates
        more than `member.size_bytes + 1` bytes: InvalidArchiveError, raised by the chunk
        after the last good one, when the member inflates past its declared size or short
        of it, its compressed bytes are corrupt or not all used, or its CRC-32 is not the
        one declared."""
        ...
