"""`python -m test.e2e.pause_in_erasure CONTROL INSTANT`: the real server (`python -m api`),
which a test can stop at one chosen instant of a workspace's erasure (`DELETE
/v1/workspace`, ADR 0024):

- `noted`: the erasure is noted, its unit of work (the records) not yet run;
- `committed`: the records are gone, every byte still in place;
- `hidden`: the bytes are out of sight in `trash/`, not yet removed;
- `purged`: the bytes are gone, the note not yet dropped.

The service runs as `python -m api` does, with one collaborator passed to `create_app` in
place of the default: the filesystem erasure, subclassed to watch the calls that mark those
instants. Once the test has created CONTROL/armed, at the chosen instant of the next
erasure it writes the workspace's id to CONTROL/paused and that request waits for good
(the server goes on answering others), so the test can look at the disk and the API and
SIGKILL the server exactly there.
"""

import sys
from pathlib import Path
from uuid import UUID

from adapter.fs.erasure import FilesystemWorkspaceErasure
from test.e2e.pausing import pause_for_good, serve_with

ARMED = "armed"
NOTED, COMMITTED, HIDDEN, PURGED = "noted", "committed", "hidden", "purged"
INSTANTS = (NOTED, COMMITTED, HIDDEN, PURGED)


class PausingErasure(FilesystemWorkspaceErasure):
    def __init__(self, root: Path, control: Path, instant: str) -> None:
        super().__init__(root)
        self._control = control
        self._instant = instant

    async def note_erasure(self, workspace_id: UUID) -> None:
        await super().note_erasure(workspace_id)
        await self._pause_at(NOTED, workspace_id)

    async def hide_workspace(self, workspace_id: UUID) -> None:
        await self._pause_at(COMMITTED, workspace_id)
        await super().hide_workspace(workspace_id)

    async def purge_workspace(self, workspace_id: UUID) -> None:
        await self._pause_at(HIDDEN, workspace_id)
        await super().purge_workspace(workspace_id)

    async def drop_erasure_note(self, workspace_id: UUID) -> None:
        await self._pause_at(PURGED, workspace_id)
        await super().drop_erasure_note(workspace_id)

    async def _pause_at(self, instant: str, workspace_id: UUID) -> None:
        if instant == self._instant and (self._control / ARMED).exists():
            await pause_for_good(self._control, str(workspace_id))


def main() -> None:
    control, instant = Path(sys.argv[1]), sys.argv[2]
    if instant not in INSTANTS:
        raise SystemExit(f"unknown instant {instant!r}")

    serve_with(lambda data_dir: {"erasure": PausingErasure(data_dir, control, instant)})


if __name__ == "__main__":
    main()
