"""The load clients, pinned to the client core: curl for big bodies, wrk for small ones."""

import hashlib
import re
import resource
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Server, pinned

_CURL_FORMAT = "%{http_code} %{time_total} %{size_upload} %{size_download}"


@dataclass(frozen=True)
class Transfer:
    """One curl transfer: status, wall time, server CPU share and client CPU time."""

    status: int
    seconds: float
    bytes_up: int
    bytes_down: int
    server_user: float  # share of one core the server group used in user space
    server_sys: float  # ... and in the kernel, during the transfer
    client_cpu_seconds: float
    body: bytes  # the response body of an upload (empty for downloads)

    def mb_per_s(self, payload_bytes: int) -> float:
        """Payload bytes (not wire bytes: no multipart or base64 overhead) per second."""
        return payload_bytes / self.seconds / 1e6


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def curl(
    core: int,
    server: Server,
    args: Sequence[str | Path],
    *,
    out: Path,
    timeout: float,
) -> Transfer:
    """Run curl with `args` (URL included), the response body written to `out`."""
    argv = pinned(
        core,
        ["curl", "-sS", "--fail-with-body", "-H", "Expect:", "-o", out, "-w", _CURL_FORMAT, *args],
    )
    meter, client_before = server.meter(), _children_cpu()
    done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    server_user, server_sys = meter.shares()
    client_cpu = _children_cpu() - client_before
    fields = done.stdout.decode().split()
    if len(fields) != 4:
        raise RuntimeError(f"curl failed ({done.returncode}): {done.stderr.decode().strip()}")
    status = int(fields[0])
    body = b""
    if out.exists() and out.stat().st_size < 1 << 20:
        body = out.read_bytes()
    if not 200 <= status < 300:
        raise RuntimeError(f"{server.name}: HTTP {status} from curl {args[-1]}: {body[:500]!r}")
    return Transfer(
        status=status,
        seconds=float(fields[1]),
        bytes_up=int(float(fields[2])),
        bytes_down=int(float(fields[3])),
        server_user=server_user,
        server_sys=server_sys,
        client_cpu_seconds=client_cpu,
        body=body,
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(4 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    req_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int
    socket_errors: str
    server_user: float
    server_sys: float
    extra: dict[str, str]  # lines the script's done() printed as `key=value`


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def wrk(
    core: int,
    server: Server,
    url: str,
    script: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
) -> WrkResult:
    argv = pinned(
        core,
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            script,
            url,
        ],
    )
    meter = server.meter()
    done = subprocess.run(argv, capture_output=True, timeout=seconds + 60, check=False)
    server_user, server_sys = meter.shares()
    text = done.stdout.decode()
    if done.returncode != 0 or done.stderr.strip():
        # wrk reports a broken script on stderr but still runs, with default requests.
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.decode()}{text}")
    totals = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.MULTILINE)
    if not (totals and rate and p50 and p99):
        raise RuntimeError(f"unreadable wrk output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    extra = dict(line.split("=", 1) for line in text.splitlines() if re.fullmatch(r"\w+=.*", line))
    return WrkResult(
        requests=int(totals.group(1)),
        seconds=_latency_ms(totals.group(2) + totals.group(3)) / 1000,
        req_per_s=float(rate.group(1)),
        p50_ms=_latency_ms(p50.group(1)),
        p99_ms=_latency_ms(p99.group(1)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors.group(1).strip() if errors else "",
        server_user=server_user,
        server_sys=server_sys,
        extra=extra,
    )
