"""The staging area: where bytes are written, checked and made durable before a change
puts them in a chat."""

from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StagedContent:
    """Bytes written to the staging area, not yet visible in any chat.

    `token` is an opaque handle only the storage that staged it understands.
    """

    token: str
    size_bytes: int
    sha256: str


class Staging(Protocol):
    async def stage(self, chunks: AsyncIterable[bytes], *, durable: bool = True) -> StagedContent:
        """Write the chunks to a new staging file, computing size and sha256; durably
        (fsynced) unless `durable` is False, for content that `write_history` makes
        durable itself, only if it is ever committed.

        If `chunks` raises, or the write fails, the staging file is removed and the
        error propagates."""
        ...

    async def discard(self, staged: StagedContent) -> None:
        """Remove a staged file that will not be committed; a no-op if it is gone."""
        ...
