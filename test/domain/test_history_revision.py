import hashlib
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from domain.history_revision import HistoryRevision, RevisionSource

SHA = hashlib.sha256(b"# hello").hexdigest()
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def made(revision: int, run: int, size_bytes: int = 7) -> HistoryRevision:
    return HistoryRevision(uuid4(), revision, SHA, size_bytes, RevisionSource.APPEND, T0, run)


def test_etag_is_the_quoted_sha256() -> None:
    assert made(3, 1).etag == f'"{SHA}"'


def test_sources_are_the_names_the_api_shows() -> None:
    assert [source.value for source in RevisionSource] == [
        "create",
        "put",
        "append",
        "restore",
        "fork",
        "import",
        "sandbox",
    ]


@pytest.mark.parametrize(
    ("revision", "run"),
    [
        pytest.param(0, 0, id="the-first"),
        pytest.param(5, 5, id="a-run-of-its-own"),
        pytest.param(5, 2, id="continuing-an-earlier-run"),
    ],
)
def test_a_run_begins_at_or_before_its_revision(revision: int, run: int) -> None:
    assert made(revision, run).run == run


@pytest.mark.parametrize(
    ("revision", "run"),
    [
        pytest.param(2, 3, id="run-after-revision"),
        pytest.param(2, -1, id="negative-run"),
        pytest.param(-1, -1, id="negative-revision"),
    ],
)
def test_a_run_after_its_revision_or_below_zero_is_refused(revision: int, run: int) -> None:
    with pytest.raises(ValueError, match="must be between 0 and revision"):
        made(revision, run)


def test_a_negative_size_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        made(1, 1, size_bytes=-1)
