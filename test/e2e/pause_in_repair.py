"""`python -m test.e2e.pause_in_repair CONTROL INSTANT ARG...`: the real admin command
(`python -m api.admin ARG...`), which a test can stop at one chosen instant of a repair:

- `trashed`: a chat with no record has had its directory moved into `trash/`, and its
  records and usage are not removed yet;
- `unmarking`: a chat with a record has had its records and usage settled, and its crash
  mark is about to go.

The command runs as `python -m api.admin` does, with the filesystem storage its
composition root builds subclassed to watch those two calls (`delete_chat`, and
`mark_settled` of a chat that has a record). At the chosen instant the storage writes the
chat's id to CONTROL/paused and the repair waits for good, so that the test can SIGKILL
the process exactly there.
"""

import asyncio
import sys
from pathlib import Path
from unittest import mock
from uuid import UUID

from adapter.fs.chat_storage import FilesystemChatStorage
from api.admin import cli
from api.app import Adapters, build_adapters
from api.settings import Settings

PAUSED = "paused"
TRASHED, UNMARKING = "trashed", "unmarking"


class PausingStorage(FilesystemChatStorage):
    def __init__(self, root: Path, control: Path, instant: str) -> None:
        super().__init__(root)
        self._control = control
        self._instant = instant
        self._chats = root / "workspaces"

    async def delete_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        await super().delete_chat(workspace_id, chat_id)
        if self._instant == TRASHED:
            await self._pause(chat_id)

    async def mark_settled(self, workspace_id: UUID, chat_id: UUID) -> None:
        chat_dir = self._chats / str(workspace_id) / "chats" / str(chat_id)
        if self._instant == UNMARKING and chat_dir.is_dir():
            await self._pause(chat_id)
        await super().mark_settled(workspace_id, chat_id)

    async def _pause(self, chat_id: UUID) -> None:
        # Renamed into place, so that the test never reads it half-written.
        writing = self._control / f"{PAUSED}.writing"
        writing.write_text(str(chat_id))
        writing.replace(self._control / PAUSED)
        await asyncio.Event().wait()  # until the test kills the process


def main() -> None:
    control, instant, argv = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if instant not in (TRASHED, UNMARKING):
        raise SystemExit(f"unknown instant {instant!r}")

    def with_pausing_storage(settings: Settings) -> Adapters:
        return build_adapters(settings, storage=PausingStorage(settings.data_dir, control, instant))

    # `python -m api.admin` as it is, but for the storage its composition root is handed.
    with mock.patch.object(cli, "build_adapters", with_pausing_storage):
        sys.exit(cli.main(argv))


if __name__ == "__main__":
    main()
