"""The service's log lines as JSON objects, one a line (ADR 0028)."""

import json
import logging
import time
from typing import Any

# The LogRecord attribute that holds a request's access fields (api.observe).
ACCESS_FIELDS = "access"


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "pid", "request_id", ...}`: a request's
    access fields are merged in; a traceback, if any, is under `exception`. `pid` tells
    the lines of several workers apart (ADR 0033).

    It is on every request's path, so it keeps one encoder (`json.dumps` with any option
    builds a new one per call) and the text of the current second."""

    def __init__(self) -> None:
        super().__init__()
        self._encoder = json.JSONEncoder(ensure_ascii=False, default=str)
        self._second = -1
        self._stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self._utc(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
            "request_id": getattr(record, "request_id", None),
        }
        fields = getattr(record, ACCESS_FIELDS, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return self._encoder.encode(line)

    def _utc(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int(record.msecs):03d}Z"
