"""The request id: taken from a gateway's sane `X-Request-Id`, made otherwise, echoed in
every answer and carried by every log line logged while the request is served (ADR 0028)."""

import itertools
import logging
import os
import re
from collections.abc import Iterable
from contextvars import ContextVar

from starlette.types import Scope

HEADER = b"x-request-id"
# What a gateway may name a request: 1 to 128 characters of letters, digits and `._:-`
# (a UUID, a ULID, a trace id, `host:seq`); nothing that could split a log line or a header.
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
# Where the id of the request being served is kept, for the log filter and the answer.
SCOPE_KEY = "chatstore.request_id"

current_request_id: ContextVar[str | None] = ContextVar("chatstore_request_id", default=None)


class RequestIds:
    """Makes ids unique across processes and restarts without a uuid4 per request: a
    random prefix chosen once, then a counter (`3f9c0a7be1d24c58-1a`)."""

    __slots__ = ("_count", "_prefix")

    def __init__(self) -> None:
        self._prefix = os.urandom(8).hex() + "-"
        self._count = itertools.count(1)

    def make(self) -> str:
        return f"{self._prefix}{next(self._count):x}"

    def of(self, scope: Scope) -> str:
        """The gateway's id when the request carries exactly one sane `X-Request-Id`; a new
        one when it carries none, an insane one, or the header more than once."""
        return given_request_id(scope["headers"]) or self.make()


def given_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The value of the one `X-Request-Id` among `headers` (names in lower case) if it is
    sane; None if there is none, it is not sane, or there are several."""
    given: bytes | None = None
    for name, value in headers:
        if name == HEADER:
            if given is not None:
                return None
            given = value
    if given is not None and SANE_REQUEST_ID.fullmatch(given):
        return given.decode("ascii")
    return None


def request_id_of(scope: Scope) -> str | None:
    """The id of the request `scope` belongs to, once the edge has given it one."""
    value = scope.get(SCOPE_KEY)
    return value if isinstance(value, str) else None


class RequestIdFilter(logging.Filter):
    """Puts the id of the request being served (or None) on every record as `request_id`,
    unless the record already names one. Install it on a handler: a logger's own filters
    do not see the records of its children."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True
