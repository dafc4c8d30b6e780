"""Staging areas: one per process, cleared at start-up only once their process is gone."""

from contextlib import ExitStack
from pathlib import Path

import pytest

from adapter.fs.chat_storage import FilesystemChatStorage
from adapter.fs.dirs import open_root
from adapter.fs.staging_area import StagingArea
from test.disk import staged_files


def stage_file(area: StagingArea, name: str) -> None:
    with ExitStack() as stack:
        fd = area.open(stack, open_root(stack, area.root))
        Path(f"/proc/self/fd/{fd}/{name}").write_bytes(b"in flight")


def test_a_live_area_survives_another_process_starting(tmp_path: Path) -> None:
    running = StagingArea(tmp_path)
    running.claim()
    stage_file(running, "upload.tmp")

    StagingArea(tmp_path).claim()

    assert staged_files(tmp_path) == ["upload.tmp"]


def test_the_area_of_a_process_that_is_gone_is_cleared_at_the_next_start(tmp_path: Path) -> None:
    crashed = StagingArea(tmp_path)
    crashed.claim()
    stage_file(crashed, "half-written.tmp")
    crashed.release()  # what the kernel does when the process dies

    StagingArea(tmp_path).claim()

    assert staged_files(tmp_path) == []
    assert not (tmp_path / "staging" / crashed.name).exists()
    assert not (tmp_path / "staging" / f"{crashed.name}.owner").exists()


def test_a_cleanly_closed_area_leaves_nothing_in_staging(tmp_path: Path) -> None:
    area = StagingArea(tmp_path)
    area.claim()

    area.close()

    assert list((tmp_path / "staging").iterdir()) == []
    area.close()  # closing again changes nothing


def test_an_area_closed_with_files_in_it_is_left_for_the_next_start(tmp_path: Path) -> None:
    stopped = StagingArea(tmp_path)
    stopped.claim()
    stage_file(stopped, "unfinished.tmp")

    stopped.close()

    assert staged_files(tmp_path) == ["unfinished.tmp"]
    StagingArea(tmp_path).claim()
    assert staged_files(tmp_path) == []
    assert not (tmp_path / "staging" / f"{stopped.name}.owner").exists()


def test_orphan_directories_and_loose_files_are_cleared(tmp_path: Path) -> None:
    (tmp_path / "staging" / "orphan").mkdir(parents=True)
    (tmp_path / "staging" / "orphan" / "old.tmp").write_bytes(b"x")
    (tmp_path / "staging" / "loose.tmp").write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept").write_bytes(b"kept")
    (tmp_path / "staging" / "link").symlink_to(outside)

    area = StagingArea(tmp_path)
    area.claim()

    names = sorted(path.name for path in (tmp_path / "staging").iterdir())
    assert names == sorted([area.name, f"{area.name}.owner"])
    assert (outside / "kept").read_bytes() == b"kept"


def test_each_process_gets_its_own_area(tmp_path: Path) -> None:
    first, second = StagingArea(tmp_path), StagingArea(tmp_path)
    first.claim()
    second.claim()

    assert first.name != second.name
    assert (tmp_path / "staging" / first.name).is_dir()
    assert (tmp_path / "staging" / second.name).is_dir()


def open_descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


@pytest.mark.anyio
async def test_closing_the_storage_lets_its_area_go(tmp_path: Path) -> None:
    """An app that shuts down holds no descriptor of its staging area (an app per test, or
    per restart in one process, would otherwise hold one each), and its area is then cleared
    by the next start as a dead process's."""
    before = open_descriptors()
    storage = FilesystemChatStorage(tmp_path)
    await storage.prepare()
    claimed = sorted(path.name for path in (tmp_path / "staging").iterdir())

    await storage.close()
    await storage.close()  # a second close is a no-op
    await FilesystemChatStorage(tmp_path).prepare()

    assert open_descriptors() == before + 1  # the second storage's, still open
    assert claimed
    assert not set(claimed) & {path.name for path in (tmp_path / "staging").iterdir()}
