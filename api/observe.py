"""What the service observes of each request, measured once: the request id, the metrics
and the one JSON access line (ADR 0028)."""

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.body_bytes import CountingReceive
from api.log_format import ACCESS_FIELDS
from api.metrics import Metrics
from api.request_id import HEADER, SCOPE_KEY, RequestIds, current_request_id

ACCESS_LOGGER = "chatstore.access"


def route_of(scope: Scope) -> str:
    """The template of the route that served the request (`/v1/chats/{chat_id}`), or
    `unmatched`, so that labels and log fields never hold a raw path."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObserveMiddleware:
    """Outermost: gives the request its id (echoed as `X-Request-Id`, set for the log
    filter), counts it in flight, and when it ends counts it in the metrics and logs one
    line on `chatstore.access` with its method, route, status, bytes and duration. A client
    that hung up is status 499 (api.problems)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.ids = RequestIds()
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self.ids.of(scope)
        scope[SCOPE_KEY] = request_id
        echoed = (HEADER, request_id.encode("ascii"))
        token = current_request_id.set(request_id)
        status = 500
        counted = CountingReceive(receive)
        sent = 0

        async def observing_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers")
                if isinstance(headers, list):
                    headers.append(echoed)
                else:
                    message["headers"] = [*(headers or ()), echoed]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        in_flight = self.metrics.in_flight
        in_flight.inc()
        try:
            await self.app(scope, counted, observing_send)
        finally:
            current_request_id.reset(token)
            in_flight.dec()
            duration = time.perf_counter() - started
            route = route_of(scope)
            method = scope["method"]
            labels = (method, route, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(duration)
            if counted.received:
                self.metrics.uploaded.labels(route).inc(counted.received)
            if sent:
                self.metrics.downloaded.labels(route).inc(sent)
            log = self.log
            if log.isEnabledFor(logging.INFO):
                # Made and handled here: `info` would also look up the caller's frame.
                record = log.makeRecord(
                    log.name, logging.INFO, __file__, 0, "%s %s %d", (method, route, status), None
                )
                record.request_id = request_id
                fields = {
                    "method": method,
                    "route": route,
                    "status": status,
                    "bytes_sent": sent,
                    "bytes_received": counted.received,
                    "duration_ms": round(duration * 1000, 3),
                }
                setattr(record, ACCESS_FIELDS, fields)
                log.handle(record)
