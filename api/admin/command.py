"""What every subcommand of `chatstore-admin` is and runs on (ADR 0026)."""

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO
from uuid import UUID

from api.app import Adapters
from api.container import UseCases
from api.settings import Settings
from domain.errors import WorkspaceNotFoundError
from domain.identifier import parse_uuid
from domain.workspace import Workspace
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


def workspace_id_argument(text: str) -> UUID:
    """A WORKSPACE_ID argument: the 36-character form of a UUID, as every id of the API."""
    try:
        return parse_uuid(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a workspace id: {text!r}") from None


async def workspace_named(admin: Admin, workspace_id: UUID) -> Workspace:
    """The workspace of that id; AdminError when the store has none (the use cases the
    subcommands run act for a workspace's user, as the API's do)."""
    workspace = await admin.adapters.metadata.workspaces.get(workspace_id)
    if workspace is None:
        raise AdminError(str(WorkspaceNotFoundError(f"no workspace {workspace_id}")))
    return workspace
