"""What an upload hands the use case: each file as it arrives from the wire."""

from collections.abc import AsyncIterator
from typing import Protocol


class IncomingFile(Protocol):
    """One file of an upload as it arrives: its name (as the API edge read it from the
    wire) and its type as sent, then its bytes."""

    @property
    def filename(self) -> str | None: ...

    @property
    def content_type(self) -> str | None: ...

    def chunks(self) -> AsyncIterator[bytes]: ...
