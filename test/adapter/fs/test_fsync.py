"""Every fsync of the service is timed at one place (adapter.fs.fsync)."""

import ast
import os
from pathlib import Path

import pytest

from adapter.fs.fsync import FSYNC_BUCKETS, FSYNC_TIMES, FsyncTimes, fsync

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [
        pytest.param(0.0, 0, id="instant"),
        pytest.param(0.00005, 0, id="on-the-first-bound"),
        pytest.param(0.0003, 3, id="between-bounds"),
        pytest.param(1.0, len(FSYNC_BUCKETS) - 1, id="on-the-last-bound"),
        pytest.param(7.0, len(FSYNC_BUCKETS), id="past-every-bound"),
    ],
)
def test_a_duration_falls_in_the_first_bucket_that_holds_it(seconds: float, bucket: int) -> None:
    times = FsyncTimes()

    times.observe(seconds)

    counts, total = times.snapshot()
    assert counts == [1 if index == bucket else 0 for index in range(len(FSYNC_BUCKETS) + 1)]
    assert total == seconds


def test_an_fsync_is_counted_and_a_failed_one_too(tmp_path: Path) -> None:
    before, _ = FSYNC_TIMES.snapshot()
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fsync(fd)
    finally:
        os.close(fd)
    with pytest.raises(OSError, match="Bad file descriptor"):
        fsync(fd)

    after, _ = FSYNC_TIMES.snapshot()
    assert sum(after) - sum(before) == 2


def _fsync_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"fsync", "fdatasync"}
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]


def test_no_module_of_the_service_fsyncs_but_through_the_timed_helper() -> None:
    helper = ROOT / "adapter" / "fs" / "fsync.py"
    modules = [
        path
        for package in ("domain", "usecase", "repository", "adapter", "api")
        for path in (ROOT / package).rglob("*.py")
        if path != helper
    ]

    untimed = {
        str(path.relative_to(ROOT)): lines for path in modules if (lines := _fsync_calls(path))
    }

    assert len(modules) > 50
    assert untimed == {}
    assert _fsync_calls(helper)
