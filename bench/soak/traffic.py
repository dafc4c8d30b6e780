"""The soak's users: each connection is a worker that owns a few chats of its user's
workspace and sends one request at a time to them, picked at random from a mix of writes,
reads, listings, deletes and sandbox sessions, recording every acknowledged write in the
chats' ledgers (bench/soak/ledger.py) and checking every read against them."""

import asyncio
import hashlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.soak.content import Blob
from bench.soak.ledger import ChatLedger, Stored
from bench.soak.stats import Latencies

KIB = 1024
MIB = 1024 * KIB
MAX_CHATS = 3  # live chats per worker
NAMES = tuple(f"file-{number}.bin" for number in range(6))  # uploads replace each other
SANDBOX_NAMES = tuple(f"sandbox-{number}.bin" for number in range(3))
LARGEST_HISTORY = 256 * KIB  # past it, a worker PUTs a short history instead of appending
CONTENT_TYPE = "application/octet-stream"


class InDoubtError(Exception):
    """A request that got no answer, or `503 shutting_down`: its write may have landed."""


class UnexpectedAnswerError(Exception):
    """An answer the operation does not expect (a violation, said in the message)."""


@dataclass
class Violations:
    """Everything the soak found broken, each printed loudly the moment it is found."""

    found: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.found.append(text)
        print(f"!!! VIOLATION: {text}", flush=True)


class Gate:
    """Lets workers start requests while open; closed, each worker parks before its next
    request, and `until_parked` returns once every worker has."""

    def __init__(self, workers: int) -> None:
        self._open = asyncio.Event()
        self._all_parked = asyncio.Event()
        self._workers = workers
        self._parked = 0
        self.finished = False

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def open(self) -> None:
        self._all_parked.clear()
        self._open.set()

    def close(self) -> None:
        self._open.clear()
        if self._parked == self._workers:
            self._all_parked.set()

    async def until_parked(self) -> None:
        await self._all_parked.wait()

    async def turn(self) -> bool:
        """Wait while the gate is closed; False once the soak has finished."""
        if not self._open.is_set():
            self._parked += 1
            if self._parked == self._workers:
                self._all_parked.set()
            await self._open.wait()
            self._parked -= 1
        return not self.finished


@dataclass(frozen=True)
class User:
    headers: dict[str, str]
    workspace_id: str


async def new_user(base_url: str) -> User:
    headers = {"X-User-Id": str(uuid.uuid4())}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        answer = await client.put("/v1/workspace", headers=headers)
        answer.raise_for_status()
        return User(headers, answer.json()["workspace_id"])


def _text(rng: random.Random, size: int) -> bytes:
    words = (b"lorem ", b"ipsum ", b"dolor ", b"sit ", b"amet\n", b"# turn\n", b"`code` ")
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
    return bytes(out[:size])


@dataclass
class Worker:
    """One connection of the soak: its user, its chats and the requests it sends."""

    number: int
    user: User
    data_dir: Path
    stats: Latencies
    violations: Violations
    gate: Gate
    rng: random.Random
    large_files: bool = True
    chats: list[ChatLedger] = field(default_factory=list)
    client: httpx.AsyncClient | None = None
    current: ChatLedger | None = None  # the chat of the operation under way
    sent: int = 0  # requests so far, for their X-Request-Id

    def connect(self, base_url: str, connections: int = 1) -> None:
        """A fresh client for a new life of the server (no pooled connection of the last)."""
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits)

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    async def run(self) -> None:
        while await self.gate.turn():
            try:
                await self.step()
            except InDoubtError as error:
                if self.current is not None:
                    self.current.notes.append(str(error))
                if self.gate.is_open:
                    self.violations.add(f"worker {self.number}: a request was cut while serving")
            except UnexpectedAnswerError as error:
                self.violations.add(str(error))
            except Exception as error:  # a fault of the soak itself: said, and it goes on
                self.violations.add(f"worker {self.number} failed: {error!r}")
                await asyncio.sleep(1)

    async def call(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...],
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if self.client is None:
            raise RuntimeError("worker not connected")
        self.sent += 1
        # The server logs it on every line about the request (ADR 0028).
        request_id = f"soak-w{self.number}-{self.sent}"
        headers = {**self.user.headers, "X-Request-Id": request_id, **(headers or {})}
        started = time.perf_counter()
        try:
            answer = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as error:
            self.stats.interrupted(operation)
            raise InDoubtError(f"{operation} {request_id}: {type(error).__name__}") from error
        elapsed = time.perf_counter() - started
        if answer.status_code == 503 and b"shutting_down" in answer.content:
            self.stats.interrupted(operation)
            raise InDoubtError(f"{operation} {request_id}: 503 shutting_down")
        self.stats.record(operation, elapsed)
        if answer.status_code not in expect:
            self.stats.error(operation)
            raise UnexpectedAnswerError(
                f"worker {self.number}: {operation} {request_id} {method} {url} answered"
                f" {answer.status_code}: {answer.text[:300]}"
            )
        return answer

    # The mix.
    def operations(self) -> list[tuple[Callable[[ChatLedger], Coroutine[Any, Any, None]], int]]:
        return [
            (self.upload, 18),
            (self.put_history, 12),
            (self.append_history, 20),
            (self.get_history, 8),
            (self.download, 14),
            (self.list_files, 5),
            (self.list_chats, 5),
            (self.list_revisions, 4),
            (self.delete_file, 5),
            (self.delete_chat, 2),
            (self.sandbox_session, 4),
            (self.usage, 3),
        ]

    def usable(self) -> list[ChatLedger]:
        return [chat for chat in self.chats if chat.live and not chat.in_doubt]

    async def step(self) -> None:
        usable = self.usable()
        if len(usable) < 2 or (len(usable) < MAX_CHATS and self.rng.random() < 0.05):
            await self.create_chat()
            return
        operations = self.operations()
        operation = self.rng.choices(
            [each for each, _ in operations], [weight for _, weight in operations]
        )[0]
        self.current = self.rng.choice(usable)
        try:
            await operation(self.current)
        finally:
            self.current = None

    async def create_chat(self) -> None:
        body = {"title": f"soak {self.number}", "metadata": {"worker": str(self.number)}}
        answer = await self.call("chat_create", "POST", "/v1/chats", expect=(201,), json=body)
        self.chats.append(ChatLedger(answer.json()["chat_id"], self.user.workspace_id))

    def _size(self) -> int:
        roll = self.rng.random()
        if roll < 0.70:
            return self.rng.randint(1, 64 * KIB)
        if roll < 0.95 or not self.large_files:
            return self.rng.randint(64 * KIB, MIB)
        return self.rng.randint(MIB, 8 * MIB)

    def new_blob(self, size: int) -> Blob:
        return Blob(self.rng.getrandbits(63), size)

    async def upload(self, chat: ChatLedger) -> None:
        names = self.rng.sample(NAMES, self.rng.choice((1, 1, 1, 2, 3)))
        blobs = {name: self.new_blob(self._size()) for name in names}
        shas = {name: blob.sha256() for name, blob in blobs.items()}
        files = [("file", (name, blob.data(), CONTENT_TYPE)) for name, blob in blobs.items()]
        try:
            answer = await self.call(
                "upload", "POST", f"/v1/chats/{chat.chat_id}/files", expect=(201,), files=files
            )
        except InDoubtError:
            chat.upload_in_doubt(
                {name: Stored(blob, shas[name], None) for name, blob in blobs.items()}
            )
            raise
        items = answer.json()["items"]
        for name, item in zip(names, items, strict=True):
            if item["name"] != name or item["sha256"] != shas[name]:
                raise UnexpectedAnswerError(
                    f"chat {chat.chat_id}: upload of '{name}' (sha256 {shas[name][:12]})"
                    f" answered {item}"
                )
            chat.uploaded(name, Stored(blobs[name], shas[name], item["file_id"]))

    async def put_history(self, chat: ChatLedger, content: bytes | None = None) -> None:
        content = content if content is not None else _text(self.rng, self.rng.randint(1, 16 * KIB))
        headers = {}
        if chat.etag is not None and self.rng.random() < 0.33:
            headers["If-Match"] = chat.etag  # 412 would mean the server lost a write
        await self._write_history(chat, "history_put", "PUT", content, content, headers)

    async def append_history(self, chat: ChatLedger) -> None:
        piece = _text(self.rng, self.rng.randint(64, 2 * KIB))
        if len(chat.history) + len(piece) > LARGEST_HISTORY:
            await self.put_history(chat, piece)
            return
        await self._write_history(chat, "history_append", "POST", piece, chat.history + piece, {})

    async def _write_history(
        self,
        chat: ChatLedger,
        operation: str,
        method: str,
        body: bytes,
        result: bytes,
        headers: dict[str, str],
    ) -> None:
        url = f"/v1/chats/{chat.chat_id}/history"
        try:
            answer = await self.call(
                operation, method, url, expect=(204,), content=body, headers=headers
            )
        except InDoubtError:
            chat.history_in_doubt(result)
            raise
        chat.history_written(result, answer.headers.get("ETag"))

    async def get_history(self, chat: ChatLedger) -> None:
        url = f"/v1/chats/{chat.chat_id}/history"
        answer = await self.call("history_get", "GET", url, expect=(200,))
        if answer.content != chat.history:
            raise UnexpectedAnswerError(
                f"chat {chat.chat_id}: LOST: history reads {len(answer.content)} bytes, the last"
                f" acknowledged write left {len(chat.history)}"
            )
        etag = answer.headers.get("ETag")
        if chat.etag is not None and etag != chat.etag:
            raise UnexpectedAnswerError(
                f"chat {chat.chat_id}: history ETag {etag}, acknowledged {chat.etag}"
            )
        chat.etag = etag

    def _known_file(self, chat: ChatLedger) -> tuple[str, Stored] | None:
        known = [(name, stored) for name, stored in chat.files.items() if stored.file_id]
        return self.rng.choice(known) if known else None

    async def download(self, chat: ChatLedger) -> None:
        picked = self._known_file(chat)
        if picked is None:
            await self.get_history(chat)
            return
        name, stored = picked
        url = f"/v1/chats/{chat.chat_id}/files/{stored.file_id}/content"
        size = stored.blob.size
        start = self.rng.randrange(size)
        end = min(size - 1, start + self.rng.randint(0, 256 * KIB))
        kind = self.rng.choice(("range", "range", "open", "suffix", "whole"))
        if kind == "whole" and size <= MIB:
            answer = await self.call("download_whole", "GET", url, expect=(200,))
            if hashlib.sha256(answer.content).hexdigest() != stored.sha256:
                raise UnexpectedAnswerError(f"chat {chat.chat_id}: '{name}' downloads other bytes")
            return
        if kind == "suffix":
            start = max(0, size - (end - start + 1))
            value, end = f"-{size - start}", size - 1
        elif kind == "open":
            value, end = f"{start}-", size - 1
        else:
            value = f"{start}-{end}"
        answer = await self.call(
            "download_range", "GET", url, expect=(206,), headers={"Range": f"bytes={value}"}
        )
        if answer.content != stored.blob.data()[start : end + 1]:
            raise UnexpectedAnswerError(
                f"chat {chat.chat_id}: '{name}' bytes {value} of {size} differ from those uploaded"
            )

    async def list_files(self, chat: ChatLedger) -> None:
        url = f"/v1/chats/{chat.chat_id}/files"
        answer = await self.call("list_files", "GET", url, expect=(200,), params={"limit": 1000})
        listed = {item["name"]: item for item in answer.json()["items"]}
        for name, stored in chat.files.items():
            item = listed.get(name)
            if item is None or item["sha256"] != stored.sha256:
                raise UnexpectedAnswerError(
                    f"chat {chat.chat_id}: LOST: acknowledged '{name}' lists as {item}"
                )
            if stored.file_id not in (None, item["file_id"]):
                raise UnexpectedAnswerError(
                    f"chat {chat.chat_id}: '{name}' lists as {item['file_id']}"
                )
            chat.files[name] = Stored(stored.blob, stored.sha256, item["file_id"])

    async def list_chats(self, chat: ChatLedger) -> None:
        del chat
        order = self.rng.choice(("created", "-updated"))
        await self.call(
            "list_chats", "GET", "/v1/chats", expect=(200,), params={"order": order, "limit": 50}
        )

    async def list_revisions(self, chat: ChatLedger) -> None:
        url = f"/v1/chats/{chat.chat_id}/history/revisions"
        answer = await self.call("list_revisions", "GET", url, expect=(200,), params={"limit": 20})
        newest = answer.json()["items"][0]
        if chat.etag is not None and newest["etag"] != chat.etag:
            raise UnexpectedAnswerError(
                f"chat {chat.chat_id}: newest revision {newest} is not the acknowledged"
                f" history {chat.etag}"
            )

    async def delete_file(self, chat: ChatLedger) -> None:
        picked = self._known_file(chat)
        if picked is None:
            await self.upload(chat)
            return
        name, stored = picked
        url = f"/v1/chats/{chat.chat_id}/files/{stored.file_id}"
        try:
            await self.call("file_delete", "DELETE", url, expect=(204,))
        except InDoubtError:
            chat.file_delete_in_doubt(name)
            raise
        chat.file_deleted(name)

    async def delete_chat(self, chat: ChatLedger) -> None:
        if len(self.usable()) < 2:
            await self.list_chats(chat)
            return
        try:
            await self.call("chat_delete", "DELETE", f"/v1/chats/{chat.chat_id}", expect=(204,))
        except InDoubtError:
            chat.delete_maybe = True
            raise
        chat.deleted = True

    def chat_dir(self, chat: ChatLedger) -> Path:
        return self.data_dir / "workspaces" / chat.workspace_id / "chats" / chat.chat_id

    async def sandbox_session(self, chat: ChatLedger) -> None:
        """Start a session, write files into the chat directory behind the service's back
        as a sandbox does, end the session (which rescans), and check the files listed."""
        url = f"/v1/chats/{chat.chat_id}/sandbox-sessions"
        directory = self.chat_dir(chat)
        if not directory.is_dir():
            raise UnexpectedAnswerError(
                f"chat {chat.chat_id}: the chat exists but its directory {directory} does not"
            )
        chat.sandbox_maybe = True  # until its end is acknowledged, a restart must end it
        started = await self.call(
            "sandbox_start", "POST", url, expect=(201,), json={"ttl_seconds": 600}
        )
        for name in self.rng.sample(SANDBOX_NAMES, self.rng.randint(1, 2)):
            blob = self.new_blob(self.rng.randint(1, 256 * KIB))
            (directory / name).write_bytes(blob.data())
            chat.uploaded(name, Stored(blob, blob.sha256(), None))
        await asyncio.sleep(self.rng.uniform(0, 0.2))  # the sandbox runs a while
        session_id = started.json()["session_id"]
        await self.call("sandbox_end", "DELETE", f"{url}/{session_id}", expect=(204,))
        chat.sandbox_maybe = False
        await self.list_files(chat)

    async def usage(self, chat: ChatLedger) -> None:
        del chat
        await self.call("usage", "GET", "/v1/workspace/usage", expect=(200,))

    async def slow_upload(self, chat: ChatLedger, seconds: float) -> None:
        """One upload whose body goes out over about `seconds` (for a SIGTERM to land in)."""
        blob = self.new_blob(self.rng.randint(256 * KIB, 2 * MIB))
        data, name = blob.data(), self.rng.choice(NAMES)
        boundary = uuid.uuid4().hex
        pieces = 32
        piece = -(-len(data) // pieces)

        async def body() -> AsyncIterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file";'
                f' filename="{name}"\r\nContent-Type: {CONTENT_TYPE}\r\n\r\n'
            ).encode()
            for start in range(0, len(data), piece):
                yield data[start : start + piece]
                await asyncio.sleep(seconds / pieces)
            yield f"\r\n--{boundary}--\r\n".encode()

        stored = Stored(blob, blob.sha256(), None)
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        url = f"/v1/chats/{chat.chat_id}/files"
        try:
            answer = await self.call(
                "upload_slow", "POST", url, expect=(201,), content=body(), headers=headers
            )
        except InDoubtError as error:
            chat.upload_in_doubt({name: stored})
            chat.notes.append(str(error))
            return
        item = answer.json()["items"][0]
        if item["sha256"] != stored.sha256:
            raise UnexpectedAnswerError(f"chat {chat.chat_id}: slow upload answered {item}")
        chat.uploaded(name, Stored(blob, stored.sha256, item["file_id"]))
