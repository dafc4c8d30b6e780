"""`chatstore-admin export WORKSPACE_ID FILE`: the archive the API's export answers, written
whole to FILE (never half of one there), every member agreeing with the manifest."""

from pathlib import Path
from uuid import uuid4

import pytest

from test.api.admin_scene import Scene, admin, written_scene
from test.export_archives import Archive


@pytest.fixture
def scene(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    return written_scene(data_dir, monkeypatch)


def test_export_writes_the_workspace_archive_to_the_file(scene: Scene, tmp_path: Path) -> None:
    target = tmp_path / "out" / "workspace.zip"
    target.parent.mkdir()

    ran = admin("export", str(scene.workspace_id), str(target))

    assert ran.status == 0, ran.err
    assert ran.out == ""
    assert f"exported workspace {scene.workspace_id} to {target}" in ran.err
    archive = Archive(target)
    archive.assert_agrees()
    assert archive.manifest["workspace"]["workspace_id"] == str(scene.workspace_id)
    exported = {entry["chat"]["chat_id"] for entry in archive.manifest["chats"]}
    assert exported == {str(scene.chat.chat_id), str(scene.other.chat_id)}
    assert archive.history(scene.chat.chat_id) == (scene.chat_dir() / "history.md").read_bytes()
    for name in scene.files:
        assert archive.file(scene.chat.chat_id, name) == (scene.chat_dir() / name).read_bytes()
    assert sorted(path.name for path in target.parent.iterdir()) == ["workspace.zip"]
    assert admin("check").status == 0


def test_export_of_an_unknown_workspace_exits_2_and_writes_nothing(
    scene: Scene, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "workspace.zip"
    target.parent.mkdir()

    ran = admin("export", str(uuid4()), str(target))

    assert ran.status == 2
    assert "no workspace" in ran.err
    assert list(target.parent.iterdir()) == []


@pytest.mark.parametrize("where", ["a-directory", "missing-parent"])
def test_export_to_a_path_that_cannot_hold_the_file_exits_2(
    scene: Scene, tmp_path: Path, where: str
) -> None:
    target = tmp_path if where == "a-directory" else tmp_path / "no" / "such.zip"

    ran = admin("export", str(scene.workspace_id), str(target))

    assert ran.status == 2
    assert "directory" in ran.err


def test_a_partial_file_a_killed_export_left_is_written_over(scene: Scene, tmp_path: Path) -> None:
    target = tmp_path / "out" / "workspace.zip"
    target.parent.mkdir()
    (target.parent / ".workspace.zip.partial").write_bytes(b"half an archive")

    ran = admin("export", str(scene.workspace_id), str(target))

    assert ran.status == 0, ran.err
    Archive(target).assert_agrees()
    assert sorted(path.name for path in target.parent.iterdir()) == ["workspace.zip"]
