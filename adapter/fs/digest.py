"""Blocking reads of a checked descriptor, bounded by the size seen at open."""

import hashlib
import os
from collections.abc import Iterator
from typing import TypeAlias

READ_CHUNK_BYTES = 1024 * 1024

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# A sha256 under way, which more bytes can extend (`copy()` first to keep it).
HashState: TypeAlias = "hashlib._Hash"


def pread_chunks(fd: int, start: int, stop: int) -> Iterator[bytes]:
    """The bytes in [start, stop) in chunks of at most READ_CHUNK_BYTES; ends early, without
    error, where the file ends if it shrank."""
    offset = start
    while offset < stop:
        data = os.pread(fd, min(READ_CHUNK_BYTES, stop - offset), offset)
        if not data:
            return
        yield data
        offset += len(data)


def read_up_to(fd: int, limit: int) -> bytes:
    return b"".join(pread_chunks(fd, 0, limit))


def sha256_up_to(fd: int, limit: int) -> tuple[str, int]:
    """The sha256 and the count of the bytes hashed, which is below `limit` if the file shrank."""
    state, count = sha256_state_up_to(fd, limit)
    return state.hexdigest(), count


def sha256_state_up_to(fd: int, limit: int) -> tuple[HashState, int]:
    """As `sha256_up_to`, with the hash itself, which more bytes can extend."""
    state = hashlib.sha256()
    count = 0
    for data in pread_chunks(fd, 0, limit):
        state.update(data)
        count += len(data)
    return state, count
