"""`make bench`: start every server, run every job, print one table, save JSON and a plot.

    .venv/bin/python -m bench.run [--quick] [--no-sweep] [--only U1,S1,...] [--profile S1,...]

Servers run on the first core (`taskset`), one worker process each; this driver and its
clients (curl, wrk, httpx) run on the second. Everything started is stopped by PID at the
end, on Ctrl-C and on any error.
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from bench import export_jobs, history_jobs, jobs, report, s2m, scale
from bench.clients import wrk
from bench.install import Installed, ensure_installed
from bench.jobs import Context
from bench.payloads import MIB, Payload, make_payload
from bench.probe import disk_facts
from bench.procs import Fleet, ForeignLoad, cores
from bench.profile import PySpy, format_summary, summarise
from bench.servers import (
    REPO,
    Peer,
    Tools,
    start_chatstore,
    start_jupyter,
    start_nginx,
    start_uvicorn_peer,
)

RESULTS = REPO / "bench" / "results"
PLOT = REPO / "docs" / "performance-throughput.png"
JOBS = ("U1", "D1", "S1", "S2", "S2m", "G1", "T1", "T2", "E1", "Q1", "L1")
# G1's history: the largest a history may be by default (CHATSTORE_MAX_HISTORY_BYTES).
G1_MIB = 16
SERVICE_PACKAGES = ("domain", "usecase", "repository", "adapter", "api")
BASELINE = "baseline"  # the second chatstore of an A/B run (BENCH_BASELINE_DIR)


@dataclass(frozen=True)
class Plan:
    """How much of everything to do: the full run, or `--quick` for development."""

    u1_mib: int
    transfer_runs: int
    wrk_runs: int
    wrk_seconds: float
    t1_samples: int
    t2_turns: int
    q1_files: int
    q1_chats: int
    q1_samples: int
    l1_chats: int
    l1_samples: int
    e1_mib: int
    sweep: dict[int, int]  # MiB -> runs

    @classmethod
    def full(cls) -> "Plan":
        return cls(
            u1_mib=256,
            transfer_runs=7,
            wrk_runs=3,
            wrk_seconds=5,
            t1_samples=200,
            t2_turns=1_000,
            q1_files=50_000,
            q1_chats=50,
            q1_samples=100,
            l1_chats=10_000,
            l1_samples=60,
            e1_mib=1024,
            sweep={1: 7, 4: 7, 16: 5, 64: 5, 1024: 2},
        )

    @classmethod
    def quick(cls) -> "Plan":
        return cls(
            u1_mib=64,
            transfer_runs=1,
            wrk_runs=1,
            wrk_seconds=2,
            t1_samples=20,
            t2_turns=200,
            q1_files=2_000,
            q1_chats=4,
            q1_samples=20,
            l1_chats=1_000,
            l1_samples=10,
            e1_mib=256,
            sweep={1: 1, 4: 1, 16: 1},
        )


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _command_output(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout + done.stderr).strip()


def machine_facts(installed: Installed, work: Path) -> dict[str, Any]:
    lscpu = _command_output("lscpu")
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in lscpu.splitlines()
            if line.startswith("Model name")
        ),
        "?",
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "uvicorn": _command_output(sys.executable, "-m", "uvicorn", "--version"),
        "jupyter_server": _command_output(str(installed.jupyter_bin), "server", "--version"),
        "nginx": _command_output("nginx", "-v"),
        "wrk": _command_output("wrk", "-v").splitlines()[0]
        if _command_output("wrk", "-v")
        else "?",
        "curl": _command_output("curl", "--version").splitlines()[0],
        "work_dir_fs": _command_output(
            "findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", str(work)
        ),
        "load_before": os.getloadavg(),
    }


def chatstore_source(chatstore_dir: Path) -> dict[str, Any]:
    """Which chatstore was measured: the commit, and the service files changed since it."""
    if chatstore_dir != REPO:
        commit_file = chatstore_dir / "COMMIT"  # written by whoever exported the copy
        commit = commit_file.read_text().strip() if commit_file.exists() else "?"
        return {"dir": str(chatstore_dir), "commit": commit, "changed": []}
    commit = _command_output("git", "-C", str(REPO), "rev-parse", "HEAD")
    status = _command_output(
        "git", "-C", str(REPO), "status", "--porcelain", "--", *SERVICE_PACKAGES
    )
    return {"dir": str(REPO), "commit": commit, "changed": status.splitlines()}


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    _ = frame
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _scratch() -> Iterator[tuple[Path, Path]]:
    """The run's work directory (same disk as the servers' data) and a tmpfs one for
    downloads; both removed at the end."""
    work = Path(tempfile.mkdtemp(prefix="chatstore-bench-", dir=os.environ.get("BENCH_WORK_DIR")))
    shm = Path("/dev/shm")  # noqa: S108  (tmpfs on purpose: the client's writes skip the disk)
    downloads = Path(tempfile.mkdtemp(prefix="chatstore-bench-", dir=shm if shm.is_dir() else work))
    try:
        yield work, downloads
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)


def start_peers(fleet: Fleet, tools: Tools, work: Path, baseline: Path | None) -> list[Peer]:
    _log("starting chatstore, nginx, Jupyter Server, Starlette, naive FastAPI")
    peers = [
        start_chatstore(fleet, tools, work),
        start_nginx(fleet, tools, work),
        start_jupyter(fleet, tools, work),
        start_uvicorn_peer(fleet, tools, work, "starlette"),
        start_uvicorn_peer(fleet, tools, work, "fastapi"),
    ]
    if baseline is not None:
        _log(f"starting the baseline chatstore from {baseline}")
        peers.append(start_chatstore(fleet, tools, work, "baseline", source=baseline))
    return peers


def _payload(cache: dict[int, Payload], work: Path, mib: int) -> Payload:
    if mib not in cache:
        cache[mib] = make_payload(work / "payloads", mib * MIB)
    return cache[mib]


def run_transfer_jobs(
    ctx: Context, plan: Plan, selected: set[str], sweep: bool, results: dict[str, Any]
) -> None:
    payloads: dict[int, Payload] = {}
    peers = [peer for peer in ctx.peers if peer.key != BASELINE]  # S1, S2 and S2m only
    (ctx.work / "payloads").mkdir()
    by_size: dict[str, Any] = {}
    if selected & {"U1", "D1"} or sweep:
        _log(f"U1/D1: upload and download {plan.u1_mib} MiB")
        by_size[str(plan.u1_mib)] = jobs.transfers(
            ctx,
            _payload(payloads, ctx.work, plan.u1_mib),
            peers,
            plan.transfer_runs,
            300,
            null_downloads=plan.transfer_runs,
        )
        results["U1"] = results["D1"] = by_size[str(plan.u1_mib)]
        results["transfer_mib"] = plan.u1_mib
    if sweep:
        for mib, runs in plan.sweep.items():
            if str(mib) in by_size:
                continue
            _log(f"sweep: {mib} MiB, {runs} run(s)")
            by_size[str(mib)] = jobs.transfers(
                ctx, _payload(payloads, ctx.work, mib), peers, runs, 120 + mib * 0.25
            )
            for peer in peers:  # the sweep's files are not needed again
                with contextlib.suppress(FileNotFoundError):
                    peer.stored_path(f"up-{payloads[mib].name}").unlink()
        results["sweep"] = {str(mib): by_size[str(mib)] for mib in sorted(int(m) for m in by_size)}
    for payload in payloads.values():
        payload.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            payload.path.with_suffix(".json").unlink()


def run_scale_jobs(
    fleet: Fleet,
    tools: Tools,
    ctx: Context,
    plan: Plan,
    selected: set[str],
    profiler: "Profiler",
    results: dict[str, Any],
) -> None:
    if not selected & {"Q1", "L1"}:
        return
    scaled = start_chatstore(fleet, tools, ctx.work, "chatstore-scale")
    try:
        if "Q1" in selected:
            _log(f"Q1: seeding {plan.q1_files:,} files, then 4 KiB uploads")
            q1 = scale.Q1(scaled, plan.q1_files, plan.q1_chats)
            q1.seed(budget_s=300)
            results["Q1"] = q1.measure(plan.q1_samples, budget_s=120)
            _log(f"  Q1: {results['Q1']}")
            if "Q1" in profiler.jobs:
                with profiler.attached("Q1", scaled.server.pid):
                    q1.measure(plan.q1_samples * 10, budget_s=15)
        if "L1" in selected:
            _log(f"L1: creating {plan.l1_chats:,} chats, then first and last pages")
            l1 = scale.L1(scaled.server.base_url, plan.l1_chats)
            l1.seed(budget_s=300)
            results["L1"] = l1.measure(plan.l1_samples, budget_s=60)
            _log(f"  L1: {results['L1']}")
            if "L1" in profiler.jobs:
                with profiler.attached("L1", scaled.server.pid):
                    l1.measure(plan.l1_samples * 20, budget_s=15)
    finally:
        fleet.stop(scaled.server)


@dataclass
class Profiler:
    """py-spy on a chatstore process while it alone runs one job's workload."""

    installed: Installed
    core: int
    jobs: list[str]
    stamp: str
    profiles: dict[str, Any]

    @contextlib.contextmanager
    def attached(self, job: str, pid: int) -> Iterator[None]:
        _log(f"profiling chatstore (pid {pid}) during {job}")
        raw = {
            kind: RESULTS / f"profile-{job}-{kind}-{self.stamp}.txt" for kind in ("threads", "gil")
        }
        spies = [
            PySpy(self.installed.py_spy, self.core, pid, raw[kind], gil=kind == "gil")
            for kind in raw
        ]
        time.sleep(1)  # py-spy attaches
        try:
            yield
        finally:
            for spy in spies:
                spy.stop()
        every_thread, gil = summarise(raw["threads"]), summarise(raw["gil"], top=25)
        self.profiles[job] = {
            "raw": {kind: str(path.relative_to(REPO)) for kind, path in raw.items()},
            "threads": every_thread,
            "gil": gil,
        }
        print(format_summary(job, every_thread, gil), flush=True)


def run_profiles(ctx: Context, plan: Plan, profiler: Profiler) -> None:
    """U1, D1, S1 and S2 again, chatstore alone, for about 15 seconds each under py-spy."""
    chatstore = ctx.chatstore
    wanted = [job for job in profiler.jobs if job in {"U1", "D1", "S1", "S2", "S2M"}]
    payload = make_payload(ctx.work, plan.u1_mib * MIB) if {"U1", "D1"} & set(wanted) else None
    for job in wanted:
        if payload is not None:
            jobs.upload_once(ctx, chatstore, payload, None)
        with profiler.attached(job, chatstore.server.pid):
            if job in {"U1", "D1"} and payload is not None:
                transfer = jobs.upload_once if job == "U1" else jobs.download_once
                for _ in jobs.rounds(30, 15):
                    transfer(ctx, chatstore, payload, None)
            elif job == "S2M":
                chats = s2m.make_chats(chatstore)
                script = s2m.s2m_script(ctx, chatstore, "profile", chats)
                url = chatstore.history_url()
                wrk(
                    ctx.client_core,
                    chatstore.server,
                    url,
                    script,
                    connections=s2m.WRITERS,
                    threads=s2m.WRITERS,
                    seconds=15,
                )
            else:
                script = (
                    jobs.s1_script(ctx, chatstore)
                    if job == "S1"
                    else jobs.s2_script(ctx, chatstore, "profile")
                )
                url = chatstore.history_url()
                wrk(ctx.client_core, chatstore.server, url, script, connections=32, seconds=15)


def run_jobs(
    fleet: Fleet,
    tools: Tools,
    ctx: Context,
    plan: Plan,
    args: argparse.Namespace,
    profiler: Profiler,
    results: dict[str, Any],
) -> None:
    _guarded(
        fleet,
        results,
        ("U1", "D1", "sweep"),
        lambda: run_transfer_jobs(ctx, plan, args.only, not args.no_sweep, results),
    )
    runs, seconds = plan.wrk_runs, plan.wrk_seconds
    if "S1" in args.only:
        _log(f"S1: GET 4 KiB history, 32 connections, {runs} x {seconds:g} s")
        _guarded(
            fleet,
            results,
            ("S1",),
            lambda: results.update(S1=jobs.s1(ctx, runs=runs, seconds=seconds, budget_s=240)),
        )
    if "S2" in args.only:
        _log(f"S2: PUT 4 KiB history, 32 writers on one chat, {runs} x {seconds:g} s")
        _guarded(
            fleet,
            results,
            ("S2",),
            lambda: results.update(S2=jobs.s2(ctx, runs=runs, seconds=seconds, budget_s=240)),
        )
    if "S2M" in args.only:
        _log(f"S2m: PUT 4 KiB history, 32 writers each on its own chat, {runs} x {seconds:g} s")
        _guarded(
            fleet,
            results,
            ("S2m",),
            lambda: results.update(S2m=s2m.s2m(ctx, runs=runs, seconds=seconds, budget_s=240)),
        )
    if "G1" in args.only:
        _log(f"G1: GET of a {G1_MIB} MiB history beside the same bytes as an attachment")
        _guarded(
            fleet,
            results,
            ("G1",),
            lambda: results.update(
                G1=history_jobs.g1(ctx, size_mib=G1_MIB, runs=plan.transfer_runs, budget_s=120)
            ),
        )
    if "T1" in args.only:
        _log(f"T1: append 2 KiB to a 4 KiB and to a 16 MiB history, {plan.t1_samples} samples")
        _guarded(
            fleet,
            results,
            ("T1",),
            lambda: results.update(T1=history_jobs.t1(ctx, samples=plan.t1_samples, budget_s=120)),
        )
    if "T2" in args.only:
        _log(f"T2: a {plan.t2_turns:,}-turn chat by appends and by GET + PUT with If-Match")
        _guarded(
            fleet,
            results,
            ("T2",),
            lambda: results.update(T2=history_jobs.t2(ctx, turns=plan.t2_turns, budget_s=600)),
        )
    if "E1" in args.only:
        _log(f"E1: export of a {plan.e1_mib} MiB workspace beside zip -0 -r of its chat")
        _guarded(
            fleet,
            results,
            ("E1",),
            lambda: results.update(
                E1=export_jobs.e1(
                    ctx,
                    total_mib=plan.e1_mib,
                    runs=plan.transfer_runs,
                    null_runs=max(1, plan.transfer_runs // 2),
                    budget_s=300,
                )
            ),
        )
    _guarded(
        fleet,
        results,
        ("Q1", "L1"),
        lambda: run_scale_jobs(fleet, tools, ctx, plan, args.only, profiler, results),
    )
    _guarded(fleet, results, ("profiles",), lambda: run_profiles(ctx, plan, profiler))


def _guarded(
    fleet: Fleet, results: dict[str, Any], keys: tuple[str, ...], step: Callable[[], object]
) -> None:
    """Run `step`; if it fails, log why, mark what it should have measured, and go on.
    Either way, note how much CPU other processes took meanwhile."""
    load = ForeignLoad(fleet)
    try:
        step()
    except Exception as error:  # one failed job must not lose the others
        _log(f"{'/'.join(keys)} failed:\n{traceback.format_exc()}")
        for key in keys:
            if key not in results or not results[key]:
                results[key] = {"error": f"{type(error).__name__}: {error}"}
    finally:
        results.setdefault("foreign_load", {})["/".join(keys)] = round(load.cores(), 3)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and one run each")
    parser.add_argument("--no-sweep", action="store_true", help="skip the file-size sweep")
    parser.add_argument("--only", default=",".join(JOBS), help="comma-separated jobs to run")
    parser.add_argument("--profile", default="", help="jobs to profile chatstore during (py-spy)")
    args = parser.parse_args(argv)
    args.only = {job.strip().upper() for job in args.only.split(",") if job.strip()}
    args.profile = [job.strip().upper() for job in args.profile.split(",") if job.strip()]
    unknown = (args.only | set(args.profile)) - {job.upper() for job in JOBS}
    if unknown:
        parser.error(f"unknown job(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan.quick() if args.quick else Plan.full()
    server_core, client_core = cores()
    os.sched_setaffinity(0, {client_core})
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_on_signal)
    started = time.monotonic()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    installed = ensure_installed()
    RESULTS.mkdir(exist_ok=True)
    # BENCH_SERVER_PYTHON: run chatstore and the uvicorn peers with another interpreter
    # (a venv with other packages, e.g. uvloop and httptools) to measure the difference.
    server_python = Path(os.environ.get("BENCH_SERVER_PYTHON", sys.executable))
    # BENCH_CHATSTORE_DIR: run chatstore from another copy of the source tree (an A/B of a
    # change: the copy's packages shadow the installed ones, as `python -m` puts cwd first).
    chatstore_dir = Path(os.environ.get("BENCH_CHATSTORE_DIR", REPO)).resolve()
    tools = Tools(server_python, installed.jupyter_bin, server_core, chatstore_dir)
    # BENCH_BASELINE_DIR: a second chatstore, from another checkout, run beside the first
    # in S1, S2 and S2m: an A/B within one run, so the machine's drift touches both alike.
    baseline_dir = os.environ.get("BENCH_BASELINE_DIR")
    baseline = Path(baseline_dir).resolve() if baseline_dir else None
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "started": stamp,
        "server_python": str(server_python),
        "chatstore": chatstore_source(chatstore_dir),
    }
    if baseline is not None:
        results["baseline_source"] = chatstore_source(baseline)
    fleet = Fleet()
    profiler = Profiler(
        installed, client_core, args.profile, stamp, results.setdefault("profiles", {})
    )
    with _scratch() as (work, downloads):
        results["machine"] = machine_facts(installed, work)
        results["machine"]["disk"] = disk_facts(work / "probe")
        _log(f"disk: {results['machine']['disk']}")
        source = results["chatstore"]
        _log(f"chatstore from {source['dir']} at {source['commit'][:12]}")
        if source["changed"]:
            _log(f"  with uncommitted changes: {' '.join(source['changed'])}")
        load = results["machine"]["load_before"][0]
        if load > 0.5:
            _log(f"load average is {load:.2f}: other work is running, figures may be noisy")
        try:
            ctx = Context(
                start_peers(fleet, tools, work, baseline), client_core, work, downloads, _log
            )
            run_jobs(fleet, tools, ctx, plan, args, profiler, results)
        finally:
            fleet.stop_all()
    results["machine"]["load_after"] = os.getloadavg()
    results["seconds"] = round(time.monotonic() - started, 1)
    path = RESULTS / f"bench-{stamp}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(results, indent=2))
    print(report.table(results))
    if "sweep" in results:
        print()
        print(report.sweep_table(results["sweep"]))
        plot = PLOT if not args.quick else RESULTS / f"throughput-{stamp}-quick.png"
        subprocess.run([installed.tools_python, REPO / "bench" / "plot.py", path, plot], check=True)
        _log(f"plot: {plot.relative_to(REPO)}")
    _log(f"results: {path.relative_to(REPO)}; took {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
