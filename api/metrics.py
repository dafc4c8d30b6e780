"""Prometheus metrics: requests by route and status, latency, bytes in and out, requests in
flight, and the time every fsync of the process took."""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from adapter.fs.fsync import FSYNC_BUCKETS, FsyncTimes

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """One registry per app, so two apps in one process never share figures (but the
    fsyncs, which are the process's)."""

    def __init__(self, fsync_times: FsyncTimes) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "chatstore_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "chatstore_http_request_duration_seconds",
            "Time from request start to the last byte of the answer.",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.uploaded = Counter(
            "chatstore_uploaded_bytes",
            "Request body bytes received.",
            ("route",),
            registry=self.registry,
        )
        self.downloaded = Counter(
            "chatstore_downloaded_bytes",
            "Response body bytes sent.",
            ("route",),
            registry=self.registry,
        )

        self.in_flight = Gauge(
            "chatstore_http_requests_in_flight",
            "HTTP requests being served now (a scrape of /metrics counts itself).",
            registry=self.registry,
        )
        self.registry.register(FsyncCollector(fsync_times))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class FsyncCollector(Collector):
    """`chatstore_fsync_duration_seconds`: every fsync of the process (adapter.fs.fsync),
    whichever app asks; a process has one disk."""

    def __init__(self, times: FsyncTimes) -> None:
        self._times = times

    def collect(self) -> Iterator[Metric]:
        counts, total = self._times.snapshot()
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip(
            (*map(floatToGoString, FSYNC_BUCKETS), "+Inf"), counts, strict=True
        ):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            "chatstore_fsync_duration_seconds",
            "Time each fsync of the process took, failed ones too.",
            buckets=buckets,
            sum_value=total,
        )
