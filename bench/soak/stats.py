"""What the soak measures: latency per operation, and the server's RSS, descriptors and
threads over time, printed as tables at the end."""

import math
import os
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import CLK_TCK


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of `values` (sorted or not); NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Latencies:
    """Per operation: the seconds of every answered request, the answers that were not
    what the operation expects (errors), and requests cut by a kill or a shutdown."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cut: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def record(self, operation: str, seconds: float) -> None:
        self.seconds[operation].append(seconds)

    def error(self, operation: str) -> None:
        self.errors[operation] += 1

    def interrupted(self, operation: str) -> None:
        self.cut[operation] += 1

    def rows(self) -> list[dict[str, Any]]:
        operations = sorted(set(self.seconds) | set(self.errors) | set(self.cut))
        return [
            {
                "operation": name,
                "count": len(self.seconds[name]),
                "p50_ms": percentile(self.seconds[name], 0.50) * 1000,
                "p99_ms": percentile(self.seconds[name], 0.99) * 1000,
                "max_ms": max(self.seconds[name], default=math.nan) * 1000,
                "errors": self.errors[name],
                "cut": self.cut[name],
            }
            for name in operations
        ]

    def table(self, wall_seconds: float) -> str:
        lines = [
            f"{'operation':<18} {'count':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}"
            f" {'max ms':>8} {'errors':>6} {'cut':>5}"
        ]
        for row in self.rows():
            lines.append(
                f"{row['operation']:<18} {row['count']:>7} {row['count'] / wall_seconds:>7.1f}"
                f" {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['max_ms']:>8.1f}"
                f" {row['errors']:>6} {row['cut']:>5}"
            )
        return "\n".join(lines)


WARM_SECONDS = 30.0  # a new server's caches and pools fill in its first seconds


@dataclass(frozen=True, slots=True)
class Sample:
    """The server's processes at one moment (summed over its process group)."""

    seconds: float  # since the soak began
    life: int  # which start of the server (1 = the first)
    rss_kib: int
    descriptors: int
    threads: int
    cpu_seconds: float  # user and system time of the server's processes so far
    load1: float  # the machine's one-minute load average (other engineers share it)


def sample_processes(pids: list[int], seconds: float, life: int) -> Sample | None:
    """RSS, open descriptors, threads and CPU time of `pids` from /proc; None if all are
    gone."""
    rss = descriptors = threads = ticks = 0
    found = False
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text()
            fds = sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        found = True
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss += int(fields["VmRSS"].split()[0])
        threads += int(fields["Threads"])
        descriptors += fds
        after_name = stat[stat.rindex(")") + 2 :].split()
        ticks += int(after_name[11]) + int(after_name[12])
    if not found:
        return None
    cpu = ticks / CLK_TCK
    return Sample(seconds, life, rss, descriptors, threads, cpu, os.getloadavg()[0])


@dataclass
class Resources:
    samples: list[Sample] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, pids: list[int], life: int) -> None:
        sample = sample_processes(pids, time.monotonic() - self.started, life)
        if sample is not None:
            self.samples.append(sample)

    def table(self, rows: int = 40) -> str:
        """At most about `rows` samples, evenly spread, always with each life's first and
        last, then the growth first to last of every life and of the whole run."""
        keep = set()
        for life in sorted({sample.life for sample in self.samples}):
            of_life = [sample for sample in self.samples if sample.life == life]
            keep |= {id(of_life[0]), id(of_life[-1])}
        step = max(1, math.ceil(len(self.samples) / rows))
        keep |= {id(sample) for sample in self.samples[::step]}
        lines = [
            f"{'t s':>7} {'life':>4} {'RSS MiB':>8} {'fds':>5} {'threads':>7}"
            f" {'server CPU':>10} {'load':>5}"
        ]
        before: Sample | None = None
        for sample in self.samples:
            share = ""
            if before is not None and before.life == sample.life:
                wall = sample.seconds - before.seconds
                share = f"{(sample.cpu_seconds - before.cpu_seconds) / wall:.0%}" if wall else ""
            before = sample
            if id(sample) in keep:
                lines.append(
                    f"{sample.seconds:>7.0f} {sample.life:>4} {sample.rss_kib / 1024:>8.1f}"
                    f" {sample.descriptors:>5} {sample.threads:>7} {share:>10}"
                    f" {sample.load1:>5.1f}"
                )
        lines.append(
            f"growth, from {WARM_SECONDS:.0f} s into each life (caches warm) to its last sample:"
        )
        for label, first, last in self.growth():
            lines.append(
                f"  {label:<9} {last.seconds - first.seconds:>6.0f} s:"
                f" RSS {first.rss_kib / 1024:.1f} -> {last.rss_kib / 1024:.1f} MiB"
                f" ({(last.rss_kib - first.rss_kib) / 1024:+.1f}),"
                f" fds {first.descriptors} -> {last.descriptors}"
                f" ({last.descriptors - first.descriptors:+d}),"
                f" threads {first.threads} -> {last.threads}"
                f" ({last.threads - first.threads:+d})"
            )
        return "\n".join(lines)

    def growth(self) -> list[tuple[str, Sample, Sample]]:
        """(label, first, last) for each life of the server that lasted past its warm-up,
        from the first sample `WARM_SECONDS` into it; then the whole run, first to last."""
        found = []
        for life in sorted({sample.life for sample in self.samples}):
            of_life = [sample for sample in self.samples if sample.life == life]
            warm = [s for s in of_life if s.seconds - of_life[0].seconds >= WARM_SECONDS]
            if warm:
                found.append((f"life {life}", warm[0], warm[-1]))
        if self.samples:
            found.append(("whole run", self.samples[0], self.samples[-1]))
        return found

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(sample) for sample in self.samples]
