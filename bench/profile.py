"""py-spy on chatstore while one job's workload runs, and a summary of where time went.

`py-spy record --format raw` writes collapsed stacks (`frame;frame;... count`); the summary
gives each function's share of the samples as the innermost frame (self) and anywhere on
the stack (total), and each thread's share.
"""

import argparse
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.procs import pinned


class PySpy:
    """`py-spy record` of `pid` into `out` until `stop`: every thread that is not idle, or
    only the thread holding the GIL (where Python spends the CPU)."""

    def __init__(
        self, py_spy: Path, core: int, pid: int, out: Path, *, gil: bool, rate: int = 200
    ) -> None:
        self.out = out
        self._process = subprocess.Popen(
            pinned(
                core,
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(rate),
                    "--threads",
                    *(["--gil"] if gil else []),
                    "--format",
                    "raw",
                    "--output",
                    out,
                    # The GIL view pauses the server at each sample, so that it reads
                    # a consistent GIL holder; the every-thread view never pauses it.
                    *([] if gil else ["--nonblocking"]),
                ],
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


# Frames every stack of a thread or of the event loop carries; they say nothing.
_SCAFFOLDING = {
    "Thread._bootstrap",
    "Thread._bootstrap_inner",
    "Thread.run",
    "_run_code",
    "_run_module_as_main",
    "<module>",
    "main",
    "run",
    "Server.run",
    "Server.serve",
    "Server._serve",
    "asyncio_run",
    "Runner.run",
    "BaseEventLoop.run_until_complete",
    "BaseEventLoop.run_forever",
    "BaseEventLoop._run_once",
}


def _short(frame: str, *, line: bool = False) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    if line and match.group("line"):
        path = f"{path}:{match.group('line')}"
    return f"{match.group('func')} ({path})"


def _func(frame: str) -> str:
    match = _FRAME.match(frame)
    return match.group("func") if match else frame


def _package(frame: str) -> str:
    """Who the innermost frame belongs to: a project layer, a library, or a stdlib module."""
    match = _FRAME.match(frame)
    if not match:
        return "?"
    path = match.group("file")
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    head = path.split("/", 1)[0]
    return head.removesuffix(".py")


def summarise(raw: Path, top: int = 20) -> dict[str, Any]:
    packages: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        thread, *calls = frames
        threads[thread] += count
        if calls:
            self_time[_short(calls[-1], line=True)] += count
            packages[_package(calls[-1])] += count
        for name in {_short(frame) for frame in calls if _func(frame) not in _SCAFFOLDING}:
            total_time[name] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, 100 * count / samples) for name, count in counter.most_common(top)]

    return {
        "samples": samples,
        "threads": share(threads),
        "packages": share(packages),
        "self": share(self_time),
        "total": share(total_time),
    }


def format_summary(job: str, every_thread: dict[str, Any], gil: dict[str, Any]) -> str:
    """The GIL holder's frames (where Python spends the CPU), then each thread's share of
    the samples in which it was not idle (runnable threads contend for the one core)."""
    lines = [
        f"profile of chatstore during {job}",
        f"  GIL holder, {gil['samples']} samples; by package of the innermost frame:",
        *(f"    {pct:5.1f}%  {name}" for name, pct in gil["packages"][:12]),
        "  GIL holder; innermost frame:",
        *(f"    {pct:5.1f}%  {name}" for name, pct in gil["self"]),
        "  GIL holder; anywhere on the stack:",
        *(f"    {pct:5.1f}%  {name}" for name, pct in gil["total"]),
        f"  every thread not idle, {every_thread['samples']} samples; by thread:",
        *(f"    {pct:5.1f}%  {name}" for name, pct in every_thread["threads"][:8]),
        "  every thread not idle; innermost frame:",
        *(f"    {pct:5.1f}%  {name}" for name, pct in every_thread["self"][:12]),
    ]
    return "\n".join(lines)


def inclusive_share(raw: Path, needles: list[str]) -> dict[str, float]:
    """Per needle, the share of samples with a frame containing it anywhere on the stack."""
    hits = dict.fromkeys(needles, 0)
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        samples += int(count_text)
        for needle in needles:
            if needle in stack:
                hits[needle] += int(count_text)
    return {needle: 100 * hits[needle] / max(samples, 1) for needle in needles}


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.profile RAW [NEEDLE ...]`: the summary of a saved py-spy raw file,
    and the share of samples whose stack holds each NEEDLE (e.g. `run_in_threadpool`)."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("raw", type=Path)
    parser.add_argument("needles", nargs="*")
    args = parser.parse_args(argv)
    summary = summarise(args.raw, top=40)
    print(f"{summary['samples']} samples")
    for key in ("packages", "self", "total"):
        print(f"{key}:")
        for name, pct in summary[key]:
            print(f"  {pct:5.1f}%  {name}")
    for needle, pct in inclusive_share(args.raw, args.needles).items():
        print(f"{pct:5.1f}%  anywhere on the stack: {needle}")


if __name__ == "__main__":
    main()
