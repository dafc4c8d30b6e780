"""The one table `make bench` prints: each job with chatstore beside every peer, then each
target of issue 5 with its measured ratio and PASS or MISS."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
PEERS = ("chatstore", "nginx", "jupyter", "starlette", "fastapi")
LABELS = {
    "chatstore": "chatstore",
    "nginx": "nginx",
    "jupyter": "Jupyter",
    "starlette": "Starlette",
    "fastapi": "naive FastAPI",
    "baseline": "baseline",
}
# The second chatstore of an A/B run (BENCH_BASELINE_DIR): S1, S2 and S2m only.
BASELINE = "baseline"


def _peers(results: dict[str, Any]) -> tuple[str, ...]:
    ab = any(_get(results, job, BASELINE) is not None for job in ("S1", "S2", "S2m"))
    return (*PEERS, BASELINE) if ab else PEERS


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: float | bool | None
    passed: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "n/a"
        return "PASS" if self.passed else "MISS"


def _get(results: dict[str, Any], *path: str) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _ratio(results: dict[str, Any], job: str, metric: str, peer: str) -> float | None:
    return _share(_get(results, job, "chatstore", metric), _get(results, job, peer, metric))


def _share(mine: float | None, theirs: float | None) -> float | None:
    if mine is None or not theirs or math.isnan(mine) or math.isnan(theirs):
        return None
    return float(mine) / float(theirs)


def _at_least(name: str, goal: float, value: float | None) -> Target:
    return Target(name, f">= {goal:g}x", value, None if value is None else value >= goal)


def _at_most(name: str, goal: float, value: float | None, unit: str = "x") -> Target:
    return Target(name, f"<= {goal:g}{unit}", value, None if value is None else value <= goal)


def _below(name: str, goal: float, value: float | None, unit: str) -> Target:
    return Target(name, f"< {goal:g} {unit}", value, None if value is None else value < goal)


def targets(results: dict[str, Any]) -> list[Target]:
    s2_codes = _get(results, "S2", "chatstore", "statuses")
    non_2xx = None
    if s2_codes is not None:
        bad = sum(count for code, count in s2_codes.items() if not code.startswith("2"))
        errors = _get(results, "S2", "chatstore", "socket_errors") or []
        non_2xx = bad + (1 if errors else 0)
    stored = _get(results, "S2", "chatstore", "stored_is_a_sent_body")
    s2m = _get(results, "S2m", "chatstore", "req_per_s")
    jupyter_s2 = _get(results, "S2", "jupyter", "req_per_s")
    disk = _get(results, "machine", "disk", "atomic_4k_replace_per_s_8_threads")
    kept = _get(results, "S2m", "chatstore", "nothing_lost")
    return [
        _at_least("U1 upload vs Starlette", 0.9, _ratio(results, "U1", "upload_mbps", "starlette")),
        _at_least(
            "U1 upload vs naive FastAPI", 1.2, _ratio(results, "U1", "upload_mbps", "fastapi")
        ),
        _at_most(
            "U1 server RSS growth", 16, _get(results, "U1", "chatstore", "rss_growth_mib"), " MiB"
        ),
        _at_least(
            "D1 download vs Starlette", 2.0, _ratio(results, "D1", "download_mbps", "starlette")
        ),
        _at_least("D1 download vs nginx", 0.5, _ratio(results, "D1", "download_mbps", "nginx")),
        _at_least(
            "S1 GET 4 KiB vs naive FastAPI", 1.0, _ratio(results, "S1", "req_per_s", "fastapi")
        ),
        _at_least("S1 GET 4 KiB vs Jupyter", 7.0, _ratio(results, "S1", "req_per_s", "jupyter")),
        _below("S1 p99", 20, _get(results, "S1", "chatstore", "p99_ms"), "ms"),
        _at_least("S2 PUT 4 KiB vs Jupyter", 2.0, _ratio(results, "S2", "req_per_s", "jupyter")),
        Target("S2 non-2xx answers", "0", non_2xx, None if non_2xx is None else non_2xx == 0),
        _below("S2 p99", 100, _get(results, "S2", "chatstore", "p99_ms"), "ms"),
        Target("S2 stored == one body sent", "yes", stored, stored),
        _at_least("S2m 32 chats vs Jupyter's S2", 2.0, _share(s2m, jupyter_s2)),
        _at_least("S2m vs disk, 8-thread atomic replace", 0.5, _share(s2m, disk)),
        _below("S2m p99", 50, _get(results, "S2m", "chatstore", "p99_ms"), "ms"),
        Target("S2m every chat holds a body sent to it", "yes", kept, kept),
        _at_least("G1 GET 16 MiB history vs attachment", 0.8, _get(results, "G1", "ratio")),
        _at_most("T1 append 2 KiB, 16 MiB vs 4 KiB history", 1.2, _get(results, "T1", "ratio")),
        _at_least("E1 export vs zip -0 -r", 0.8, _get(results, "E1", "ratio")),
        _at_most("E1 server RSS growth", 16, _get(results, "E1", "rss_growth_mib"), " MiB"),
        _at_most("Q1 upload, 50,000 vs 10 files", 1.2, _get(results, "Q1", "ratio")),
        _at_most("L1 last page vs first", 1.2, _get(results, "L1", "ratio")),
    ]


def _number(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int) or digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


Row = tuple[str, str, str, Callable[[Any], str]]  # title, job, metric, format


def _peer_rows(mib: int) -> list[Row]:
    def fmt(digits: int) -> Callable[[Any], str]:
        return lambda value: _number(value, digits)

    def codes(value: Any) -> str:
        if value is None:
            return "-"
        return str(sum(count for code, count in value.items() if not code.startswith("2")))

    return [
        (f"U1 upload {mib} MiB, MB/s", "U1", "upload_mbps", fmt(0)),
        ("   server peak RSS growth, MiB", "U1", "rss_growth_mib", fmt(1)),
        (f"D1 download {mib} MiB, MB/s", "D1", "download_mbps", fmt(0)),
        ("   into /dev/null (unverified), MB/s", "D1", "null_download_mbps", fmt(0)),
        ("S1 GET 4 KiB (32 conn.), req/s", "S1", "req_per_s", fmt(0)),
        ("   p99, ms", "S1", "p99_ms", fmt(1)),
        ("   non-2xx answers", "S1", "non_2xx", fmt(0)),
        ("S2 PUT 4 KiB (32 conn.), req/s", "S2", "req_per_s", fmt(0)),
        ("   p99, ms", "S2", "p99_ms", fmt(1)),
        ("   non-2xx answers", "S2", "statuses", codes),
        ("   stored == one body sent", "S2", "stored_is_a_sent_body", fmt(0)),
        ("S2m PUT 4 KiB, 32 writers x own chat", "S2m", "req_per_s", fmt(0)),
        ("   p99, ms", "S2m", "p99_ms", fmt(1)),
        ("   non-2xx answers", "S2m", "statuses", codes),
        ("   every chat holds a body sent", "S2m", "nothing_lost", fmt(0)),
    ]


def _measured(results: dict[str, Any], job: str) -> dict[str, Any] | None:
    """The job's figures, or None if it did not run or failed (its error is listed apart)."""
    value = results.get(job)
    return value if isinstance(value, dict) and value and "error" not in value else None


def _chatstore_lines(results: dict[str, Any]) -> list[str]:
    """The figures of the jobs only chatstore runs."""
    lines = []
    spread = _get(results, "S2", "chatstore", "spread_over_32_chats")
    if spread:
        lines.append(
            f"S2 chatstore with the 32 writers spread over 32 chats: {spread['req_per_s']:,.0f} "
            f"req/s, p99 {spread['p99_ms']:.1f} ms"
        )
    disk = _get(results, "machine", "disk")
    if disk and _measured(results, "S2m"):
        lines.append(
            "disk, atomic 4 KiB replaces/s: "
            f"{disk['atomic_4k_replace_per_s_1_thread']:,} from one thread, "
            f"{disk['atomic_4k_replace_per_s_8_threads']:,} from eight in one directory, "
            f"{disk.get('atomic_4k_replace_per_s_8_threads_own_dirs', float('nan')):,} "
            "from eight each in its own"
        )
    ab = [
        f"{job} {ratio:.2f}x req/s, CPU per request {mine:.2f} against {theirs:.2f} ms"
        for job in ("S1", "S2", "S2m")
        if (ratio := _ratio(results, job, "req_per_s", BASELINE)) is not None
        and (mine := _get(results, job, "chatstore", "cpu_ms_per_request")) is not None
        and (theirs := _get(results, job, BASELINE, "cpu_ms_per_request")) is not None
    ]
    if ab:
        lines.append("A/B, chatstore against the baseline of the same run: " + "; ".join(ab))
    g1, t1, t2 = _measured(results, "G1"), _measured(results, "T1"), _measured(results, "T2")
    e1 = _measured(results, "E1")
    q1, l1 = _measured(results, "Q1"), _measured(results, "L1")
    if g1:
        lines.append(
            f"G1 GET {g1['size_mib']} MiB history, MB/s: {g1['history_mbps']:,.0f}, beside "
            f"{g1['attachment_mbps']:,.0f} for the same bytes as an attachment"
        )
    if t1:
        lines.append(
            f"T1 append 2 KiB, ms: {t1['small_ms']:.2f} to a 4 KiB history, {t1['big_ms']:.2f} to "
            f"one of {t1['big_start_bytes'] / MIB:.2f}-{t1['big_end_bytes'] / MIB:.2f} MiB"
        )
    if t2:
        lines += [
            f"T2 a {t2['turns']:,}-turn chat (2 KiB turns) written by appends: "
            f"{t2['append_s']:.2f} s, {t2['append_wire_bytes'] / MIB:,.1f} MiB of bodies",
            f"   by GET + PUT with If-Match: {t2['get_put_s']:.2f} s, "
            f"{t2['get_put_wire_bytes'] / MIB:,.1f} MiB ({t2['time_ratio']:,.1f}x the time, "
            f"{t2['bytes_ratio']:,.0f}x the bytes)",
        ]
    if e1:
        lines += [
            f"E1 export of a {e1['size_bytes'] / MIB:,.0f} MiB workspace ({e1['files']:,} files)"
            f" into a file, MB/s: {e1['chatstore_mbps']:,.0f}, beside "
            f"{e1['zip_mbps']:,.0f} for zip -0 -r; server RSS growth "
            f"{e1['rss_growth_mib']:.1f} MiB",
            f"   into /dev/null, MB/s: {e1['chatstore_null_mbps']:,.0f}, beside "
            f"{e1['zip_null_mbps']:,.0f} for zip -0 -r",
        ]
    if q1:
        lines.append(
            f"Q1 4 KiB upload, ms: {q1['small_ms']:.2f} into 10 files, "
            f"{q1['big_ms']:.2f} into {q1['big_files']:,} files"
        )
    if l1:
        lines.append(
            f"L1 page of 100 of {l1['chats']:,} chats, ms: first {l1['first_ms']:.2f}, "
            f"last {l1['last_ms']:.2f}"
        )
    return lines


def table(results: dict[str, Any]) -> str:
    title_width, width = 36, 14
    peers = _peers(results)
    header = "job".ljust(title_width) + "".join(LABELS[p].rjust(width) for p in peers)
    source = results.get("chatstore", {})
    changed = f", with changes to {len(source['changed'])} files" if source.get("changed") else ""
    lines = [
        f"chatstore at {source.get('commit', '?')[:12]}{changed}; {results.get('mode')} run",
        header,
        "-" * len(header),
    ]
    for title, job, metric, fmt in _peer_rows(results.get("transfer_mib", 256)):
        cells = "".join(fmt(_get(results, job, peer, metric)).rjust(width) for peer in peers)
        lines.append(title.ljust(title_width) + cells)
    lines += _chatstore_lines(results)
    noisy = {job: cores for job, cores in results.get("foreign_load", {}).items() if cores > 0.1}
    if noisy:
        named = ", ".join(f"{job} {cores:.2f}" for job, cores in noisy.items())
        lines.append(f"NOISY: other processes took this many cores meanwhile: {named}")
    for job, value in results.items():
        if isinstance(value, dict) and "error" in value:
            lines.append(f"{job}: ERROR {value['error']}")
    # The targets' names may be longer than the jobs' titles.
    title_width = max(title_width, *(len(target.name) + 2 for target in targets(results)))
    lines += [
        "",
        "target".ljust(title_width)
        + "measured".rjust(width)
        + "goal".rjust(width)
        + "result".rjust(8),
    ]
    lines.append("-" * (title_width + 2 * width + 8))
    for target in targets(results):
        if isinstance(target.measured, bool) or target.measured is None:
            measured = _number(target.measured)
        elif target.goal.endswith("x"):
            measured = f"{target.measured:.2f}x"
        elif isinstance(target.measured, int):
            measured = f"{target.measured:,}"
        else:
            measured = f"{target.measured:,.1f}"
        lines.append(
            target.name.ljust(title_width)
            + measured.rjust(width)
            + target.goal.rjust(width)
            + target.verdict.rjust(8)
        )
    return "\n".join(lines)


def sweep_table(sweep: dict[str, Any]) -> str:
    width = 14
    lines = [
        "size".ljust(10) + "".join(LABELS[p].rjust(width) for p in PEERS) + "   (MB/s up / down)"
    ]
    for size, per_peer in sweep.items():
        cells = []
        for peer in PEERS:
            entry = per_peer.get(peer)
            if entry is None:
                cells.append("-".rjust(width))
                continue
            cells.append(
                f"{_number(entry['upload_mbps'])}/{_number(entry['download_mbps'])}".rjust(width)
            )
        lines.append(f"{size} MiB".ljust(10) + "".join(cells))
    return "\n".join(lines)
