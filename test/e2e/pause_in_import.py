"""`python -m test.e2e.pause_in_import CONTROL INSTANT`: the real server (`python -m api`),
which a test can stop at one chosen instant of an import (`POST /v1/chats/import`), once
the archive is checked, every entry inflated into staging, every new chat locked and
marked and the quota reserved for them all (ADR 0025):

- `staged`: before the first new chat's directory is made;
- `half`: once the first chat's directory, history and attachments are in place, the
  others' not yet;
- `placed`: once every chat's bytes are in place, before the unit of work that saves the
  records of them all (CONTROL/chats holds how many chats the import makes);
- `whole`: after that unit, when the first crash mark is about to go.

As `pause_in_fork` does: the filesystem storage, subclassed to watch the calls that mark
those instants (`ensure_chat`, `commit_attachments`, `mark_settled`), is handed to
`create_app`. Once the test has created CONTROL/armed, the chat directories made are the
import's; at the chosen instant the storage writes CONTROL/paused and that request waits
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
CHATS = "chats"
STAGED, HALF, PLACED, WHOLE = "staged", "half", "placed", "whole"
INSTANTS = (STAGED, HALF, PLACED, WHOLE)


class PausingStorage(FilesystemChatStorage):
    def __init__(self, root: Path, control: Path, instant: str) -> None:
        super().__init__(root)
        self._control = control
        self._instant = instant
        self._made: list[UUID] = []
        self._placed = 0

    async def ensure_chat(self, workspace_id: UUID, chat_id: UUID) -> None:
        if (self._control / ARMED).exists():
            if not self._made:
                await self._pause_at(STAGED)
            self._made.append(chat_id)
        await super().ensure_chat(workspace_id, chat_id)

    async def commit_attachments(
        self,
        workspace_id: UUID,
        chat_id: UUID,
        items: Sequence[tuple[ChatAttachmentName, StagedContent]],
    ) -> list[int]:
        replaced = await super().commit_attachments(workspace_id, chat_id, items)
        if chat_id in self._made:
            self._placed += 1
            if self._placed == 1:
                await self._pause_at(HALF)
            if self._placed == int((self._control / CHATS).read_text()):
                await self._pause_at(PLACED)
        return replaced

    async def mark_settled(self, workspace_id: UUID, chat_id: UUID) -> None:
        if chat_id in self._made:
            await self._pause_at(WHOLE)
        await super().mark_settled(workspace_id, chat_id)

    async def _pause_at(self, instant: str) -> None:
        if instant == self._instant:
            await pause_for_good(self._control, "\n".join(str(chat_id) for chat_id in self._made))


def main() -> None:
    control, instant = Path(sys.argv[1]), sys.argv[2]
    if instant not in INSTANTS:
        raise SystemExit(f"unknown instant {instant!r}")
    serve_with_storage(lambda data_dir: PausingStorage(data_dir, control, instant))


if __name__ == "__main__":
    main()
