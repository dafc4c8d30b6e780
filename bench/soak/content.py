"""Bytes the soak sends, made again from a seed: a ranged download is checked against the
slice it should be without the soak keeping any file in memory."""

import hashlib
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Blob:
    """`size` pseudo-random bytes named by `seed`."""

    seed: int
    size: int

    def data(self) -> bytes:
        return random.Random(self.seed).randbytes(self.size)  # noqa: S311 - test data, not secrets

    def sha256(self) -> str:
        return hashlib.sha256(self.data()).hexdigest()
