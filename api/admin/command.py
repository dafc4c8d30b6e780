"""What every subcommand of `chatstore-admin` is and runs on (ADR 0026)."""

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

from api.app import Adapters
from api.container import UseCases
from api.settings import Settings
from usecase.ports.progress import Progress

PROGRAM = "chatstore-admin"
# Exit statuses: the data consistent at the end, differences left, an error.
CONSISTENT, DIFFERENCES, ERROR = 0, 1, 2


class AdminError(Exception):
    """A run that cannot start or go on; its message is the one line said on stderr."""


@dataclass(frozen=True, slots=True)
class Admin:
    """What a subcommand runs on: the server's settings, adapters (open) and use cases,
    stdout for its findings and stderr for everything else."""

    settings: Settings
    adapters: Adapters
    use_cases: UseCases
    out: TextIO
    err: TextIO
    progress: Progress

    def say(self, message: str) -> None:
        """One line on stderr, for the operator (never part of the findings)."""
        print(f"{PROGRAM}: {message}", file=self.err, flush=True)


@dataclass(frozen=True, slots=True)
class Subcommand:
    """One subcommand: its name and help, what adds its arguments to its parser, and the
    coroutine that runs it and returns the exit status."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Admin, argparse.Namespace], Awaitable[int]]
