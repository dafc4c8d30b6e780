"""Q1 and L1: chatstore's cost as a workspace grows, on a chatstore of their own.

Q1 seeds a workspace as a sandbox would (files written into its chat directories, then
imported by the rescan endpoint), then times single 4 KiB uploads into it and into a
workspace of 10 files, in turn.
L1 creates chats through the API, walks every page once, then times the first and the last
page of 100, in turn. Latencies are measured by the client (httpx, keep-alive).
"""

import asyncio
import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.jobs import median
from bench.servers import Chatstore

FOUR_KIB = 4096


def _user() -> dict[str, str]:
    return {"X-User-Id": str(uuid.uuid4())}


async def _new_workspace(
    client: httpx.AsyncClient, headers: dict[str, str], chats: int
) -> tuple[str, list[str]]:
    answer = await client.put("/v1/workspace", headers=headers)
    answer.raise_for_status()
    ids = []
    for _ in range(chats):
        chat = await client.post("/v1/chats", headers=headers)
        chat.raise_for_status()
        ids.append(chat.json()["chat_id"])
    return answer.json()["workspace_id"], ids


async def _seed_files(
    peer: Chatstore, headers: dict[str, str], files: int, chats: int, budget_s: float
) -> tuple[list[str], float]:
    """A workspace of `files` 4 KiB files spread over `chats` chats, written into the chat
    directories as a sandbox would and imported by the rescan endpoint; its chat ids and
    how long seeding took."""
    per_chat = files // chats
    started = time.monotonic()
    deadline = started + budget_s
    async with httpx.AsyncClient(base_url=peer.server.base_url, timeout=budget_s) as client:
        workspace_id, chat_ids = await _new_workspace(client, headers, chats)
        for chat_id in chat_ids:
            directory = peer.root / "workspaces" / workspace_id / "chats" / chat_id
            for number in range(per_chat):
                (directory / f"seed-{number:05d}.bin").write_bytes(os.urandom(FOUR_KIB))
        for chat_id in chat_ids:
            if time.monotonic() > deadline:
                raise TimeoutError(f"seeding {files} files took over {budget_s:.0f} s")
            answer = await client.post(f"/v1/chats/{chat_id}/files/rescan", headers=headers)
            answer.raise_for_status()
            if len(answer.json()["items"]) != per_chat:
                raise RuntimeError("the rescan imported fewer files than were written")
        usage = (await client.get("/v1/workspace/usage", headers=headers)).json()
    if usage["used_bytes"] < files * FOUR_KIB:
        raise RuntimeError(f"seeded workspace reports {usage}")
    return chat_ids, time.monotonic() - started


def _timed_upload(client: httpx.Client, headers: dict[str, str], chat_id: str, name: str) -> float:
    data = os.urandom(FOUR_KIB)
    files = {"file": (name, data, "application/octet-stream")}
    started = time.perf_counter()
    answer = client.post(f"/v1/chats/{chat_id}/files", headers=headers, files=files)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    if answer.json()["items"][0]["sha256"] != hashlib.sha256(data).hexdigest():
        raise RuntimeError("chatstore stored other bytes than were sent")
    return elapsed


@dataclass
class Q1:
    """Two workspaces on one chatstore: 10 files, and `files` files over `chats` chats."""

    peer: Chatstore
    files: int
    chats: int
    small: tuple[dict[str, str], str] = field(default_factory=lambda: ({}, ""))
    big: tuple[dict[str, str], str] = field(default_factory=lambda: ({}, ""))
    seed_seconds: float = 0.0
    uploads: int = 0

    def seed(self, budget_s: float) -> None:
        small_headers, big_headers = _user(), _user()
        small_chats, _ = asyncio.run(_seed_files(self.peer, small_headers, 10, 1, budget_s))
        big_chats, self.seed_seconds = asyncio.run(
            _seed_files(self.peer, big_headers, self.files, self.chats, budget_s)
        )
        self.small = (small_headers, small_chats[0])
        self.big = (big_headers, big_chats[0])

    def measure(self, samples: int, budget_s: float) -> dict[str, Any]:
        """Single 4 KiB uploads, alternately into each workspace (new names each time),
        after five warm-ups each."""
        small: list[float] = []
        big: list[float] = []
        deadline = time.monotonic() + budget_s
        with httpx.Client(base_url=self.peer.server.base_url, timeout=30) as client:
            for number in range(-5, samples):
                if number > 0 and time.monotonic() > deadline:
                    break
                self.uploads += 1
                name = f"q1-{self.uploads:06d}.bin"
                small_s = _timed_upload(client, *self.small, name)
                big_s = _timed_upload(client, *self.big, name)
                if number >= 0:
                    small.append(small_s)
                    big.append(big_s)
        return {
            "small_files": 10,
            "big_files": self.files,
            "big_chats": self.chats,
            "seed_seconds": self.seed_seconds,
            "small_ms": median(small) * 1000,
            "big_ms": median(big) * 1000,
            "ratio": median(big) / median(small),
            "samples": len(small),
        }


async def _seed_chats(base_url: str, headers: dict[str, str], count: int, budget_s: float) -> float:
    started = time.monotonic()
    deadline = started + budget_s
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        (await client.put("/v1/workspace", headers=headers)).raise_for_status()
        remaining = count

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"creating {count} chats took over {budget_s:.0f} s")
                remaining -= 1
                (await client.post("/v1/chats", headers=headers)).raise_for_status()

        await asyncio.gather(*(worker() for _ in range(16)))
    return time.monotonic() - started


def _last_page_cursor(client: httpx.Client, headers: dict[str, str], count: int) -> str:
    """Walk every page once; the cursor that fetches the last page, after checking the walk
    saw each chat exactly once."""
    seen: set[str] = set()
    cursor: str | None = None
    last_cursor = ""
    for _ in range(count // 100 + 5):
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/chats", headers=headers, params=params).json()
        seen.update(item["chat_id"] for item in page["items"])
        if page["items"] and cursor:
            last_cursor = cursor
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if len(seen) != count:
        raise RuntimeError(f"paging saw {len(seen)} chats, not {count}")
    return last_cursor


@dataclass
class L1:
    """One workspace of `chats` chats, listed 100 at a time."""

    base_url: str
    chats: int
    headers: dict[str, str] = field(default_factory=_user)
    seed_seconds: float = 0.0
    last_cursor: str = ""

    def seed(self, budget_s: float) -> None:
        self.seed_seconds = asyncio.run(
            _seed_chats(self.base_url, self.headers, self.chats, budget_s)
        )
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            self.last_cursor = _last_page_cursor(client, self.headers, self.chats)

    def measure(self, samples: int, budget_s: float) -> dict[str, Any]:
        """The first and the last page, alternately, after five warm-ups each."""
        first: list[float] = []
        last: list[float] = []
        deadline = time.monotonic() + budget_s
        pages = ({"limit": "100"}, {"limit": "100", "cursor": self.last_cursor})
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            for number in range(-5, samples):
                if number > 0 and time.monotonic() > deadline:
                    break
                timings = []
                for params in pages:
                    started = time.perf_counter()
                    answer = client.get("/v1/chats", headers=self.headers, params=params)
                    timings.append(time.perf_counter() - started)
                    answer.raise_for_status()
                    if len(answer.json()["items"]) != 100:
                        raise RuntimeError("a page of 100 chats held fewer")
                if number >= 0:
                    first.append(timings[0])
                    last.append(timings[1])
        return {
            "chats": self.chats,
            "seed_seconds": self.seed_seconds,
            "first_ms": median(first) * 1000,
            "last_ms": median(last) * 1000,
            "ratio": median(last) / median(first),
            "samples": len(first),
        }
