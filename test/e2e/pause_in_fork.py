"""`python -m test.e2e.pause_in_fork CONTROL INSTANT`: the real server (`python -m api`),
which a test can stop at one chosen instant of a fork (`POST /v1/chats/{chat_id}/fork`),
once the revision and the attachments are copied into staging and the new chat's crash
mark is taken and its bytes reserved (ADR 0022, "Fork"):

- `staged`: before the new chat's directory is made;
- `placed`: once its directory, history and attachments are in place, before the unit of
  work that saves its records;
- `whole`: after that unit, when the new chat's crash mark is about to go.

The service runs as `python -m api` does, with one collaborator passed to `create_app`
in place of the default: the filesystem storage, subclassed to watch the three calls that
mark those instants (`ensure_chat`, `commit_attachments`, `mark_settled`). Once the test
has created CONTROL/armed, the first chat directory made is taken as the fork's; at the
chosen instant the storage writes the fork's id to CONTROL/paused and that request waits
for good (the server goes on answering others), so the test can look at the disk and the
API and SIGKILL the server exactly there.
"""

import sys
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from adapter.fs.chat_storage import FilesystemChatStorage
from domain.attachment_name import ChatAttachmentName
from test.e2e.pausing import pause_for_good, serve_with_storage
from usecase.ports.staging import StagedContent

ARMED = "armed"
STAGED, PLACED, WHOLE = "staged", "placed", "whole"


class PausingStorage(FilesystemChatStorage):
    def __init__(self, root: Path, control: Path, instant: str) -> None:
        super().__init__(root)
        self._control = control
        self._instant = instant
        self._fork: UUID | None = None

    async def ensure_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        if self._fork is None and (self._control / ARMED).exists():
            self._fork = chat_id
            await self._pause_at(STAGED)
        await super().ensure_chat(workspace_id, chat_id)

    async def commit_attachments(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        items: Sequence[tuple[ChatAttachmentName, StagedContent]],
    ) -> list[int]:
        replaced = await super().commit_attachments(workspace_id, chat_id, items)
        if chat_id == self._fork:
            await self._pause_at(PLACED)
        return replaced

    async def mark_settled(self, workspace_id: UUID, chat_id: UUID) -> None:
        if chat_id == self._fork:
            await self._pause_at(WHOLE)
        await super().mark_settled(workspace_id, chat_id)

    async def _pause_at(self, instant: str) -> None:
        if instant == self._instant:
            await pause_for_good(self._control, str(self._fork))


def main() -> None:
    control, instant = Path(sys.argv[1]), sys.argv[2]
    if instant not in (STAGED, PLACED, WHOLE):
        raise SystemExit(f"unknown instant {instant!r}")
    serve_with_storage(lambda data_dir: PausingStorage(data_dir, control, instant))


if __name__ == "__main__":
    main()
