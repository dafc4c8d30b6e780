"""How a long operator's run tells how far it got (ADR 0026)."""

from typing import Protocol


class Progress(Protocol):
    """Told the steps of a run as it goes; shows them, or ignores them."""

    def begin(self, description: str, total: int) -> None:
        """A stage of `total` steps starts (a new one replaces the one before)."""
        ...

    def advance(self, steps: int = 1) -> None:
        """`steps` steps of the current stage are done."""
        ...

    def end(self) -> None:
        """The current stage is over."""
        ...


class NoProgress(Progress):
    """Progress nobody watches."""

    def begin(self, description: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def end(self) -> None:
        pass
