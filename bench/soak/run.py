"""The soak's controller: starts the server, lets the workers loose, kills or stops the
server on schedule and starts it again, checks everything after every restart and at the
end, and prints what it measured (ADR 0034)."""

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.servers import REPO
from bench.soak.ledger import ChatLedger
from bench.soak.server import GRACEFUL_EXIT_CODES, SoakServer
from bench.soak.stats import Latencies, Resources
from bench.soak.traffic import Gate, User, Violations, Worker, new_user
from bench.soak.verify import (
    admin_check,
    check_ledgers,
    check_stopped,
    check_usage,
    end_sandboxes,
    staged_files,
    trashed,
)

SLOW_UPLOADS = 4  # uploads in flight at each SIGTERM
PROGRESS_SECONDS = 60.0


@dataclass(frozen=True)
class Options:
    minutes: float
    users: int
    connections: int
    kill_every: float  # seconds between SIGKILLs; 0: none
    term_every: float  # seconds between SIGTERMs during uploads; 0: none
    shutdown_seconds: float
    sample_every: float
    metadata_url: str | None
    seed: int
    large_files: bool
    json_path: Path | None
    keep_data: bool


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="Mixed traffic from many users against `python -m api` for a set time,"
        " with SIGKILLs and SIGTERMs during uploads; checks after every restart and at the"
        " end that no acknowledged write is lost (ADR 0034). Exit status 1 on a violation.",
    )
    parser.add_argument("--minutes", type=float, default=2.0, help="how long traffic runs")
    parser.add_argument("--users", type=int, default=16, help="users, one workspace each")
    parser.add_argument(
        "--connections", type=int, default=48, help="concurrent connections (workers)"
    )
    parser.add_argument(
        "--kill-every", type=float, default=0.0, metavar="SECONDS", help="SIGKILL, then restart"
    )
    parser.add_argument(
        "--term-during-uploads",
        action="store_true",
        help="SIGTERM while slow uploads are in flight, then restart: halfway between kills,"
        " or every --term-every seconds",
    )
    parser.add_argument("--term-every", type=float, default=None, metavar="SECONDS")
    parser.add_argument(
        "--shutdown-seconds",
        type=float,
        default=5.0,
        help="the server's CHATSTORE_SHUTDOWN_SECONDS (some slow uploads outlast it)",
    )
    parser.add_argument("--sample-every", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument(
        "--metadata-url",
        default=os.environ.get("CHATSTORE_METADATA_URL"),
        help="an existing PostgreSQL store (default: SQLite in the soak's data directory)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-large-files", action="store_true", help="no uploads over 1 MiB")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures")
    parser.add_argument("--keep-data", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)
    term_every = 0.0
    if args.term_during_uploads:
        term_every = args.term_every or args.kill_every or 120.0
    return Options(
        minutes=args.minutes,
        users=args.users,
        connections=args.connections,
        kill_every=args.kill_every,
        term_every=term_every,
        shutdown_seconds=args.shutdown_seconds,
        sample_every=args.sample_every,
        metadata_url=args.metadata_url,
        seed=args.seed if args.seed is not None else random.SystemRandom().getrandbits(32),
        large_files=not args.no_large_files,
        json_path=args.json,
        keep_data=args.keep_data,
    )


def schedule(options: Options) -> list[tuple[float, str]]:
    """(seconds from the start, "kill" or "term") for every disruption, in order: kills
    every `kill_every`, SIGTERMs every `term_every` offset by half of it (so they fall
    between kills), none in the last 10 seconds."""
    end = options.minutes * 60 - 10
    events = []
    for every, kind in ((options.kill_every, "kill"), (options.term_every, "term")):
        if every <= 0:
            continue
        at = every if kind == "kill" else every / 2
        while at < end:
            events.append((at, kind))
            at += every
    return sorted(events)


@dataclass
class Restart:
    kind: str  # "SIGKILL" or "SIGTERM"
    at_seconds: float
    exit_code: int | None
    down_seconds: float  # from the signal until the new server was ready
    check_seconds: float
    chats: int
    files: int
    bytes_read: int
    staged_at_stop: int  # files in staging/ once the server was down (a SIGKILL leaves some)
    slow_uploads: dict[str, int] = field(default_factory=dict)


@dataclass
class Soak:
    options: Options
    work_dir: Path
    violations: Violations = field(default_factory=Violations)
    stats: Latencies = field(default_factory=Latencies)
    resources: Resources = field(default_factory=Resources)
    restarts: list[Restart] = field(default_factory=list)
    serving_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.data_dir = self.work_dir / "data"
        self.data_dir.mkdir()
        self.server = SoakServer(
            self.data_dir, self.work_dir, self.options.metadata_url, self.options.shutdown_seconds
        )
        self.gate = Gate(self.options.connections)
        self.workers: list[Worker] = []
        self.users: list[User] = []
        self.slow: Worker | None = None
        self._opened_at: float | None = None
        self.wall_seconds = 0.0
        self.load_at_start = self.load_at_end = (0.0, 0.0, 0.0)

    @property
    def every_worker(self) -> list[Worker]:
        return [*self.workers, *([self.slow] if self.slow else [])]

    def open_gate(self) -> None:
        self._opened_at = time.monotonic()
        self.gate.open()

    def close_gate(self) -> None:
        if self._opened_at is not None:
            self.serving_seconds += time.monotonic() - self._opened_at
            self._opened_at = None
        self.gate.close()

    async def run(self) -> None:
        self.load_at_start = os.getloadavg()
        self.server.start()
        started = time.monotonic()
        base_url = self.server.base_url
        self.users = [await new_user(base_url) for _ in range(self.options.users)]
        rng = random.Random(self.options.seed)  # noqa: S311 - traffic, not secrets
        for number in range(self.options.connections):
            worker = Worker(
                number,
                self.users[number % len(self.users)],
                self.data_dir,
                self.stats,
                self.violations,
                self.gate,
                random.Random(rng.getrandbits(64)),  # noqa: S311
                self.options.large_files,
            )
            worker.connect(base_url)
            self.workers.append(worker)
        slow_user = await new_user(base_url)
        self.slow = Worker(
            -1, slow_user, self.data_dir, self.stats, self.violations, Gate(0), rng, False
        )
        self.users.append(slow_user)
        sampler = asyncio.create_task(self._sample(started))
        tasks = [asyncio.create_task(worker.run()) for worker in self.workers]
        self.open_gate()
        try:
            for at, kind in schedule(self.options):
                await asyncio.sleep(max(0.0, started + at - time.monotonic()))
                await (self._kill(started) if kind == "kill" else self._term(started))
            await asyncio.sleep(max(0.0, started + self.options.minutes * 60 - time.monotonic()))
            self.close_gate()
            await self.gate.until_parked()
            await self._check("at the end")
            self.gate.finished = True
            self.gate.open()
            await asyncio.gather(*tasks)
            for worker in self.every_worker:
                await worker.disconnect()
            self.server.terminate()
            code = await asyncio.to_thread(
                self.server.wait_stopped, self.options.shutdown_seconds + 20
            )
            if code not in GRACEFUL_EXIT_CODES:
                self.violations.add(f"the final SIGTERM ended the server with {code}")
            check_stopped(self.data_dir, self.violations, "after the final SIGTERM")
            await admin_check(
                self.server.admin_env(),
                self._workspaces(),
                self.violations,
                "after the final stop",
            )
        finally:
            self.wall_seconds = time.monotonic() - started
            self.load_at_end = os.getloadavg()
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            for task in tasks:
                task.cancel()
            self.server.stop_all()

    def _workspaces(self) -> list[str] | None:
        """Check one workspace at a time in a shared store, the whole store otherwise."""
        if self.options.metadata_url is None:
            return None
        return [user.workspace_id for user in self.users]

    async def _sample(self, started: float) -> None:
        next_progress = started + PROGRESS_SECONDS
        while True:
            self.resources.add(self.server.pids(), self.server.life)
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_SECONDS
                done = sum(len(each) for each in self.stats.seconds.values())
                last = self.resources.samples[-1] if self.resources.samples else None
                server = (
                    f", server RSS {last.rss_kib / 1024:.0f} MiB, {last.descriptors} fds,"
                    f" {last.threads} threads"
                    if last
                    else ""
                )
                print(
                    f"[{time.monotonic() - started:6.0f} s] {done} requests,"
                    f" {len(self.restarts)} restarts,"
                    f" {len(self.violations.found)} violations{server}",
                    flush=True,
                )
            await asyncio.sleep(self.options.sample_every)

    async def _kill(self, started: float) -> None:
        at = time.monotonic()
        code = self.server.kill()
        self.close_gate()  # at once: a worker seeing its request cut sees the gate closed
        await self.gate.until_parked()
        await self._restart("SIGKILL", at - started, at, code, {})

    async def _term(self, started: float) -> None:
        slow = self.slow
        if slow is None:
            raise RuntimeError("no slow uploader")
        slow.connect(self.server.base_url, SLOW_UPLOADS)
        chats = []
        for _ in range(SLOW_UPLOADS):
            answer = await slow.call("chat_create", "POST", "/v1/chats", expect=(201,))
            chat = ChatLedger(answer.json()["chat_id"], slow.user.workspace_id)
            slow.chats.append(chat)
            chats.append(chat)
        uploads = [
            asyncio.create_task(
                slow.slow_upload(chat, slow.rng.uniform(1.0, 2 * self.options.shutdown_seconds))
            )
            for chat in chats
        ]
        await asyncio.sleep(0.5)  # every body under way
        at = time.monotonic()
        self.close_gate()
        self.server.terminate()
        code = await asyncio.to_thread(self.server.wait_stopped, self.options.shutdown_seconds + 20)
        if code not in GRACEFUL_EXIT_CODES:
            self.violations.add(f"SIGTERM at {at - started:.0f} s ended the server with {code}")
        for outcome in await asyncio.gather(*uploads, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self.violations.add(f"a slow upload failed: {outcome!r}")
        await self.gate.until_parked()
        await slow.disconnect()
        check_stopped(self.data_dir, self.violations, f"after SIGTERM at {at - started:.0f} s")
        landed = {
            "acknowledged": sum(1 for chat in chats if chat.files and not chat.files_maybe),
            "in_doubt": sum(1 for chat in chats if chat.files_maybe),
        }
        await self._restart("SIGTERM", at - started, at, code, landed)

    async def _restart(
        self, kind: str, at_seconds: float, signalled: float, code: int | None, slow: dict[str, int]
    ) -> None:
        staged = len(staged_files(self.data_dir))  # the next start clears them
        for worker in self.every_worker:
            await worker.disconnect()
        await asyncio.to_thread(self.server.start)
        ready = time.monotonic()
        when = f"after {kind} at {at_seconds:.0f} s (life {self.server.life})"
        summary = await self._check(when)
        self.restarts.append(
            Restart(
                kind,
                round(at_seconds, 1),
                code,
                round(ready - signalled, 2),
                round(summary[0], 2),
                summary[1],
                summary[2],
                summary[3],
                staged,
                slow,
            )
        )
        print(
            f"[{at_seconds:6.0f} s] {kind}, server {'exited ' + str(code)}, up again in"
            f" {ready - signalled:.1f} s; checked {summary[1]} chats, {summary[2]} files,"
            f" {summary[3] / 1e6:.0f} MB in {summary[0]:.1f} s; {staged} files were staged"
            + (f"; slow uploads {slow}" if slow else ""),
            flush=True,
        )
        for worker in self.workers:
            worker.connect(self.server.base_url)
        self.open_gate()

    async def _check(self, when: str) -> tuple[float, int, int, int]:
        """Every check that runs against a live server with the workers parked: (seconds,
        chats, files, bytes read)."""
        started = time.monotonic()
        chats = files = read = 0
        if staged := staged_files(self.data_dir):
            self.violations.add(f"{when}: staging holds {staged[:5]} with nothing in flight")
        if trash := trashed(self.data_dir):
            self.violations.add(f"{when}: trash holds {trash[:5]} with nothing in flight")
        try:
            async with httpx.AsyncClient(base_url=self.server.base_url, timeout=120) as client:
                await end_sandboxes(client, self.every_worker)
                summary = await check_ledgers(client, self.every_worker, self.violations, when)
                await check_usage(client, self.users, self.data_dir, self.violations, when)
            chats, files, read = summary.chats, summary.files, summary.bytes_read
        except httpx.HTTPError as error:
            self.violations.add(f"{when}: the check could not finish: {error!r}")
        await admin_check(self.server.admin_env(), self._workspaces(), self.violations, when)
        return time.monotonic() - started, chats, files, read

    def report(self) -> str:
        wall = max(self.serving_seconds, 1e-9)
        lines = [
            f"soak: {self.options.minutes:g} min, {self.options.users} users,"
            f" {self.options.connections} connections, seed {self.options.seed},"
            f" {len(self.restarts)} restarts, {self.serving_seconds:.0f} s serving",
            self.machine(),
            "",
            self.stats.table(wall),
            "",
            "server processes (RSS, open descriptors, threads) over time:",
            self.resources.table(),
        ]
        if self.restarts:
            lines += ["", "restarts:"]
            lines += [
                f"  {r.kind:<7} at {r.at_seconds:>6.0f} s: exit {r.exit_code}, ready again in"
                f" {r.down_seconds:.1f} s, checked {r.chats} chats / {r.files} files /"
                f" {r.bytes_read / 1e6:.0f} MB in {r.check_seconds:.1f} s,"
                f" {r.staged_at_stop} files staged while down"
                + (f", slow uploads {r.slow_uploads}" if r.slow_uploads else "")
                for r in self.restarts
            ]
        found = self.violations.found
        lines.append("")
        if found:
            lines.append(f"!!! SOAK FAILED: {len(found)} violations; the first ones:")
            lines += [f"!!!   {text}" for text in found[:20]]
        else:
            lines.append("soak passed: no acknowledged write lost, every check consistent")
        return "\n".join(lines)

    def machine(self) -> str:
        """The machine's state: cores, load (other processes share them) and what the soak's
        own client process used."""
        own = os.times()
        client = own.user + own.system
        share = client / self.wall_seconds if self.wall_seconds else 0.0
        start, end = self.load_at_start, self.load_at_end
        return (
            f"machine: {os.cpu_count()} cores, load average {start[0]:.1f} at the start,"
            f" {end[0]:.1f} / {end[1]:.1f} / {end[2]:.1f} (1/5/15 min) at the end;"
            f" the soak's client used {client:.0f} s of CPU ({share:.0%} of a core)"
        )

    def figures(self) -> dict[str, Any]:
        options = asdict(self.options)
        options["json_path"] = str(options["json_path"])
        return {
            "options": options,
            "serving_seconds": self.serving_seconds,
            "wall_seconds": self.wall_seconds,
            "machine": self.machine(),
            "operations": self.stats.rows(),
            "samples": self.resources.as_json(),
            "restarts": [asdict(restart) for restart in self.restarts],
            "violations": self.violations.found,
        }


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    work_dir = Path(tempfile.mkdtemp(prefix="chatstore-soak-"))
    soak = Soak(options, work_dir)
    print(f"soak: data and server logs in {work_dir}", flush=True)
    try:
        asyncio.run(soak.run())
    finally:
        print(soak.report(), flush=True)
        path = options.json_path or (
            REPO / "bench" / "results" / f"soak-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(soak.figures(), indent=1, default=str))
        print(f"figures in {path}", flush=True)
    failed = bool(soak.violations.found)
    if failed or options.keep_data:
        print(f"data directory kept for inspection: {soak.data_dir}", flush=True)
    else:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 1 if failed else 0
