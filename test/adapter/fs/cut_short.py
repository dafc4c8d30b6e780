"""What a multi-file commit leaves on disk when its process dies part of the way through."""

import os
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from adapter.fs.commit import PLAN, RENAMED, Step, begin, keep_aside, replace_into, write_plan


def cut_short(
    chat: Path,
    staging: Path,
    journals: Path,
    journal: str,
    pairs: Sequence[tuple[str, str]],
    renamed: int,
) -> None:
    """The steps of `commit_all` up to its first `renamed` renames of (name, staging token)
    pairs, and then nothing: the journal stays as a SIGKILL at that point leaves it."""
    with ExitStack() as stack:
        chat_fd, staging_fd, journals_fd = (
            os.open(path, os.O_RDONLY | os.O_DIRECTORY) for path in (chat, staging, journals)
        )
        for fd in (chat_fd, staging_fd, journals_fd):
            stack.callback(os.close, fd)
        journal_fd = begin(stack, chat_fd, journals_fd, journal)
        steps: list[Step] = []
        keep_aside(chat_fd, staging_fd, journal_fd, pairs, steps)
        write_plan(journal_fd, steps)
        for name, token in pairs[:renamed]:
            replace_into(staging_fd, token, chat_fd, name)


def mark_renamed(journal: Path) -> None:
    """Turn a commit that did all its renames into one that also recorded so."""
    (journal / PLAN).rename(journal / RENAMED)
