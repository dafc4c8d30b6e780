"""Prometheus metrics: requests by route and status, latency, bytes in and out."""

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_bytes import CountingReceive

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """One registry per app, so two apps in one process never share figures."""

    def __init__(self) -> None:
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

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _route_of(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        counted = CountingReceive(receive)
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counted, counting_send)
        finally:
            route = _route_of(scope)
            labels = (scope["method"], route, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)
            if counted.received:
                self.metrics.uploaded.labels(route).inc(counted.received)
            if sent:
                self.metrics.downloaded.labels(route).inc(sent)
