"""The digest cache keeps a hash only while its stat key can be trusted (ADR 0020)."""

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from adapter.fs.digest import sha256_state_up_to
from adapter.fs.digest_cache import RACY_NS, DigestCache, StatKey, stat_key

HOUR_NS = 3600 * 1_000_000_000


def later(by_ns: int) -> Callable[[], int]:
    return lambda: time.time_ns() + by_ns


@contextmanager
def opened(path: Path) -> Iterator[tuple[int, StatKey]]:
    fd = os.open(path, os.O_RDONLY)
    try:
        yield fd, stat_key(os.fstat(fd))
    finally:
        os.close(fd)


class CountingDigest:
    def __init__(self, before: Callable[[], None] = lambda: None) -> None:
        self.calls = 0
        self._before = before

    def __call__(self, fd: int) -> tuple["hashlib._Hash", int]:
        self.calls += 1
        self._before()
        return sha256_state_up_to(fd, os.fstat(fd).st_size)


def test_a_hash_of_a_file_unchanged_for_a_while_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.md"
    path.write_bytes(b"# kept")
    cache, digest = DigestCache(clock_ns=later(2 * RACY_NS)), CountingDigest()

    for _ in range(3):
        with opened(path) as (fd, key):
            assert cache.hashed(fd, key, digest) == (hashlib.sha256(b"# kept").hexdigest(), 6)

    assert digest.calls == 1


def test_a_file_changed_within_the_clocks_grain_is_hashed_on_every_read(tmp_path: Path) -> None:
    """Racily clean: a write in the same tick, keeping the size, would keep the key."""
    path = tmp_path / "history.md"
    path.write_bytes(b"# fresh")
    cache, digest = DigestCache(), CountingDigest()

    for _ in range(3):
        with opened(path) as (fd, key):
            cache.hashed(fd, key, digest)

    assert digest.calls == 3


def test_a_file_that_changes_while_it_is_hashed_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.md"
    path.write_bytes(b"# before")

    def rewrite() -> None:
        with path.open("r+b") as rewritten:
            rewritten.write(b"# during")

    cache, digest = DigestCache(clock_ns=later(HOUR_NS)), CountingDigest(before=rewrite)
    with opened(path) as (fd, key):
        cache.hashed(fd, key, digest)

    assert cache.get(key) is None


def test_a_file_that_shrinks_while_it_is_hashed_names_only_what_was_hashed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.md"
    path.write_bytes(b"# longer than after")
    cache = DigestCache(clock_ns=later(HOUR_NS))
    with opened(path) as (fd, key):
        os.truncate(path, 3)
        found = cache.hashed(fd, key, lambda fd: sha256_state_up_to(fd, key.size))

    assert found == (hashlib.sha256(b"# l").hexdigest(), 3)
    assert cache.get(key) is None


def test_the_least_recently_used_hash_goes_first_past_the_capacity(tmp_path: Path) -> None:
    cache, digest = DigestCache(capacity=2, clock_ns=later(HOUR_NS)), CountingDigest()
    keys = []
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(name.encode())
        with opened(tmp_path / name) as (fd, key):
            cache.hashed(fd, key, digest)
            keys.append(key)
        if name == "b":
            assert cache.get(keys[0]) is not None  # "a" used again: "b" is now the oldest

    assert [cache.get(key) is not None for key in keys] == [True, False, True]
