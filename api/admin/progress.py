"""The Progress port as a bar on a terminal (rich), for the admin command's long runs."""

from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichBar

from usecase.ports.progress import NoProgress, Progress


class TerminalProgress(Progress):
    """A bar per stage, drawn on `stream` and wiped when the stage ends."""

    def __init__(self, stream: TextIO) -> None:
        self._bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task: TaskID | None = None

    def begin(self, description: str, total: int) -> None:
        self.end()
        self._bar.start()
        self._task = self._bar.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, steps)

    def end(self) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None
        self._bar.stop()


def progress_on(stream: TextIO) -> Progress:
    """A bar on `stream` when it is a terminal; else nothing is shown (a log or a pipe
    gets no control characters)."""
    return TerminalProgress(stream) if stream.isatty() else NoProgress()
