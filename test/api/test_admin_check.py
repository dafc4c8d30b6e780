"""`chatstore-admin check` on a real data directory and SQLite store, written by the use
cases a server runs, with differences planted by hand: each one printed on stdout, exit 1,
nothing changed; `--repair` settles them, exit 0, and a second check exits 0."""

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from api.admin.cli import main
from test.api.admin_scene import ADMIN, Scene, admin, written_scene


@pytest.fixture
def scene(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Scene:
    return written_scene(data_dir, monkeypatch)


def tree(root: Path) -> list[tuple[str, int, int]]:
    found = []
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            if name.startswith("metadata.db") or "locks" in (name, Path(directory).name):
                continue  # SQLite's own files; the chat locks' files, which a check takes
            status = (Path(directory) / name).lstat()
            found.append((f"{directory}/{name}", status.st_size, status.st_mtime_ns))
    return sorted(found)


def test_a_data_directory_the_service_wrote_is_consistent(scene: Scene) -> None:
    ran = admin("check")

    assert (ran.status, ran.out) == (0, "")
    assert ran.err == "chatstore-admin: checked 1 workspace, 2 chats: consistent\n"


def test_differences_planted_by_hand_are_printed_left_as_they_are_and_repaired(
    scene: Scene,
) -> None:
    chat = f"chat {scene.chat.chat_id}"
    (scene.chat_dir() / "behind.bin").write_bytes(b"x" * 12)
    (scene.chat_dir() / "a.txt").unlink()
    os.truncate(scene.chat_dir() / "b.bin", 10)
    scene.sql("UPDATE workspace_usage SET used_bytes = used_bytes + 1000")
    orphan = scene.chat_dir().parent / str(UUID(int=7, version=4))
    orphan.mkdir()
    (orphan / "history.md").write_bytes(b"# nobody's\n")
    scene.sql(
        "UPDATE chat_usage SET revision_bytes = 40 WHERE chat_id = ?", scene.other.chat_id.bytes
    )
    disk, rows = tree(scene.data_dir), scene.rows()

    found = admin("check")

    assert found.status == 1
    a, b = scene.files["a.txt"], scene.files["b.bin"]
    assert sorted(found.lines) == sorted(
        [
            f"chat {orphan.name}: directory on disk has no chat record",
            f"{chat}: file record {a.file_id} 'a.txt' has no file on disk",
            f"{chat}: file record {b.file_id} 'b.bin' says 300 bytes, disk has 10",
            f"{chat}: file 'behind.bin' on disk has no record (12 bytes)",
            f"{chat}: used_bytes recorded 406, disk 28",
            f"chat {scene.other.chat_id}: revision_bytes recorded 40, revisions give 0",
            f"workspace {scene.workspace_id}: used_bytes recorded 1414,"
            " its chats' figures sum to 414",
            f"workspace {scene.workspace_id}: revision_bytes recorded 11,"
            " its chats' figures sum to 51",
        ]
    )
    assert found.err.endswith("checked 1 workspace, 3 chats: 8 differences\n")
    assert (tree(scene.data_dir), scene.rows()) == (disk, rows)

    repaired = admin("check", "--repair")

    assert repaired.status == 0, repaired
    assert sorted(repaired.lines) == sorted(found.lines)
    assert repaired.err.endswith("repaired; checked again: consistent\n")
    assert not orphan.exists()
    assert admin("check").status == 0


def test_repair_while_nothing_differs_changes_nothing(scene: Scene) -> None:
    disk, rows = tree(scene.data_dir), scene.rows()

    ran = admin("check", "--repair")

    assert (ran.status, ran.out) == (0, "")
    assert (tree(scene.data_dir), scene.rows()) == (disk, rows)


def test_one_workspace_is_checked_alone(scene: Scene) -> None:
    (scene.data_dir / "trash" / "left.behind").mkdir()

    alone = admin("check", "--workspace", str(scene.workspace_id))
    whole = admin("check")

    assert (alone.status, alone.out) == (0, "")
    assert (whole.status, whole.lines) == (1, ["trash/left.behind: left by a deletion cut short"])


def test_repair_refuses_a_store_that_knows_no_workspace(
    scene: Scene, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.db"
    with sqlite3.connect(empty):
        pass  # the servers' store is elsewhere: the operator mistyped the URL
    monkeypatch.setenv("CHATSTORE_METADATA_URL", f"sqlite:///{empty}")
    disk = tree(scene.data_dir)

    found = admin("check")
    refused = admin("check", "--repair")

    assert found.status == 1
    assert refused.status == 2
    assert refused.err.splitlines()[-1].startswith(
        "chatstore-admin: the metadata store knows no workspace, the data directory holds 1"
    )
    assert tree(scene.data_dir) == disk


@pytest.mark.parametrize(
    ("argv", "environment", "said"),
    [
        pytest.param(["check", "--workspace", "nope"], {}, "not a workspace id", id="bad-id"),
        pytest.param(["check", "--fix"], {}, "unrecognized arguments", id="unknown-option"),
        pytest.param(["fsck"], {}, "invalid choice", id="unknown-subcommand"),
        pytest.param([], {}, "required", id="no-subcommand"),
        pytest.param(
            ["check"],
            {"CHATSTORE_HISTORY_REVISIONS": "0"},
            "invalid setting CHATSTORE_HISTORY_REVISIONS",
            id="bad-setting",
        ),
        pytest.param(
            ["check"],
            {"CHATSTORE_DATA_DIR": "/nonexistent/chatstore"},
            "CHATSTORE_DATA_DIR /nonexistent/chatstore is not a directory",
            id="no-data-dir",
        ),
        pytest.param(
            ["check"],
            {"CHATSTORE_METADATA_URL": "memory://"},
            "memory:// keeps the records inside each server process",
            id="memory-store",
        ),
        pytest.param(
            ["check"],
            {"CHATSTORE_METADATA_URL": "sqlite:////nonexistent/metadata.db"},
            "names no SQLite file: /nonexistent/metadata.db is missing",
            id="no-sqlite-file",
        ),
        pytest.param(
            ["check"],
            {"CHATSTORE_METADATA_URL": "postgresql://nobody:nothing@127.0.0.1:1/none"},
            "metadata store",
            id="unreachable-postgres",
        ),
        pytest.param(
            ["check", "--workspace", str(UUID(int=9, version=4))],
            {},
            "has no record, no usage and nothing on disk",
            id="unknown-workspace",
        ),
    ],
)
def test_an_error_exits_2_with_one_line(
    scene: Scene,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environment: dict[str, str],
    said: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    disk = tree(scene.data_dir)

    ran = admin(*argv)

    assert ran.status == 2
    assert ran.out == ""
    assert said in ran.err.splitlines()[-1]
    assert "Traceback" not in ran.err
    assert tree(scene.data_dir) == disk


def test_help_exits_0() -> None:
    ran = admin("check", "--help")

    assert ran.status == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_and_findings_stay_on_stdout(scene: Scene) -> None:
    (scene.chat_dir() / "behind.bin").write_bytes(b"x")
    out, err = io.StringIO(), Terminal()

    status = main(["check"], out=out, err=err)

    assert status == 1
    assert "checking chats" in err.getvalue()
    assert all(line.startswith("chat ") for line in out.getvalue().splitlines())


def test_no_bar_is_drawn_when_stderr_is_not_a_terminal(scene: Scene) -> None:
    ran = admin("check")

    assert "checking chats" not in ran.err
    assert "\x1b" not in ran.err


def test_the_real_entry_point_runs_as_a_process(scene: Scene) -> None:
    (scene.chat_dir() / "behind.bin").write_bytes(b"x")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    found = subprocess.run([*ADMIN, "check"], env=env, capture_output=True, text=True, check=False)
    repaired = subprocess.run(
        [*ADMIN, "check", "--repair"], env=env, capture_output=True, text=True, check=False
    )
    again = subprocess.run([*ADMIN, "check"], env=env, capture_output=True, text=True, check=False)

    assert found.returncode == 1, found.stderr
    assert f"chat {scene.chat.chat_id}: file 'behind.bin' on disk has no record (1 bytes)" in (
        found.stdout.splitlines()
    )
    assert repaired.returncode == 0, repaired.stderr
    assert (again.returncode, again.stdout) == (0, "")


def test_the_console_script_names_the_entry_point() -> None:
    import tomllib  # noqa: PLC0415

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())

    assert project["project"]["scripts"]["chatstore-admin"] == "api.admin.cli:main"
