"""`chatstore-admin erase WORKSPACE_ID`: the workspace erased by the use case the API runs,
every byte and record of it gone; refused, with nothing removed, while a sandbox session
is active, and for a workspace that is not there."""

import asyncio
import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from api.app import build_adapters
from api.settings import Settings
from test.api.admin_scene import Scene, admin, written_scene


@pytest.fixture
def scene(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    return written_scene(data_dir, monkeypatch)


def rows_naming(scene: Scene, needle: bytes) -> list[str]:
    with sqlite3.connect(scene.data_dir / "metadata.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found = []
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                if any(needle in (value if isinstance(value, bytes) else b"") for value in row):
                    found.append(table)
        return found


def paths_naming(scene: Scene, name: str) -> list[Path]:
    return [path for path in scene.data_dir.rglob("*") if name in str(path)]


def test_erase_removes_every_byte_and_record_of_the_workspace(scene: Scene) -> None:
    ran = admin("erase", str(scene.workspace_id))

    assert ran.status == 0, ran.err
    assert ran.out == ""
    assert f"erased workspace {scene.workspace_id}" in ran.err
    assert paths_naming(scene, str(scene.workspace_id)) == []
    assert rows_naming(scene, scene.workspace_id.bytes) == []
    assert rows_naming(scene, scene.chat.chat_id.bytes) == []
    assert admin("check").status == 0


def test_erase_of_an_unknown_workspace_exits_2_and_changes_nothing(scene: Scene) -> None:
    ran = admin("erase", str(uuid4()))

    assert ran.status == 2
    assert "no workspace" in ran.err
    assert paths_naming(scene, str(scene.workspace_id)) != []


def test_erase_of_a_bad_id_exits_2() -> None:
    ran = admin("erase", "not-a-uuid")

    assert ran.status == 2
    assert "not a workspace id" in ran.err


async def _start_session(settings: Settings, scene: Scene) -> None:
    adapters = build_adapters(settings)
    await adapters.metadata.open()
    try:
        workspace = await adapters.metadata.workspaces.get(scene.workspace_id)
        assert workspace is not None
        await adapters.use_cases().start_sandbox_session(workspace.user_id, scene.chat.chat_id, 600)
    finally:
        await adapters.metadata.close()


def test_erase_while_a_sandbox_session_is_active_exits_2_and_removes_nothing(
    scene: Scene,
) -> None:
    asyncio.run(_start_session(Settings(data_dir=scene.data_dir), scene))
    before = sorted(paths_naming(scene, str(scene.workspace_id)))

    ran = admin("erase", str(scene.workspace_id))

    assert ran.status == 2
    assert "active sandbox session" in ran.err
    assert "nothing was erased" in ran.err
    assert sorted(paths_naming(scene, str(scene.workspace_id))) == before
    assert rows_naming(scene, scene.workspace_id.bytes) != []
