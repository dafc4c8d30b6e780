"""The open files limit: the soft one is raised to the hard one."""

import resource
from collections.abc import Iterator

import pytest

from adapter.open_files import raise_open_file_limit


@pytest.fixture
def limits_restored() -> Iterator[tuple[int, int]]:
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield before
    resource.setrlimit(resource.RLIMIT_NOFILE, before)


def test_the_soft_limit_is_raised_to_the_hard_one(limits_restored: tuple[int, int]) -> None:
    _, hard = limits_restored
    if hard == resource.RLIM_INFINITY or hard < 256:
        pytest.skip(f"a hard limit of {hard} leaves nothing to show")
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))

    assert raise_open_file_limit() == hard

    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)


def test_a_soft_limit_already_at_the_hard_one_is_kept(limits_restored: tuple[int, int]) -> None:
    _, hard = limits_restored
    if hard == resource.RLIM_INFINITY:
        pytest.skip("an unlimited hard limit is raised to a number instead")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    assert raise_open_file_limit() == hard
