"""A staging file: made by its first write, so a small body costs one trip to a thread."""

import hashlib
from pathlib import Path

import pytest

from adapter.fs.staging import StagingFile
from adapter.fs.staging_area import StagingArea


@pytest.fixture
def area(tmp_path: Path) -> StagingArea:
    claimed = StagingArea(tmp_path)
    claimed.claim()
    return claimed


def staged(area: StagingArea) -> list[str]:
    return sorted(path.name for path in (area.root / "staging" / area.name).iterdir())


def test_nothing_is_made_before_the_first_bytes(area: StagingArea) -> None:
    StagingFile(area)

    assert staged(area) == []


def test_a_body_in_one_finish_is_made_written_and_closed(area: StagingArea) -> None:
    staging = StagingFile(area)

    content = staging.finish(b"# hello\n", durable=False)

    assert staged(area) == [staging.token]
    assert (area.root / "staging" / area.name / staging.token).read_bytes() == b"# hello\n"
    assert content.size_bytes == len(b"# hello\n")
    assert content.sha256 == hashlib.sha256(b"# hello\n").hexdigest()


def test_writes_then_finish_keep_every_byte_in_order(area: StagingArea) -> None:
    staging = StagingFile(area)

    staging.write(b"one ")
    staging.write(b"two ")
    content = staging.finish(b"three")

    assert (area.root / "staging" / area.name / staging.token).read_bytes() == b"one two three"
    assert content.sha256 == hashlib.sha256(b"one two three").hexdigest()


def test_an_empty_body_is_an_empty_file(area: StagingArea) -> None:
    staging = StagingFile(area)

    content = staging.finish()

    assert content.size_bytes == 0
    assert (area.root / "staging" / area.name / staging.token).read_bytes() == b""


def test_a_write_that_runs_after_remove_makes_nothing(area: StagingArea) -> None:
    staging = StagingFile(area)
    staging.remove()  # a cancelled request's removal ran first

    with pytest.raises(ValueError, match="removed"):
        staging.finish(b"late")
    assert staged(area) == []


def test_remove_takes_away_what_was_written(area: StagingArea) -> None:
    staging = StagingFile(area)
    staging.write(b"partial")

    staging.remove()

    assert staged(area) == []
