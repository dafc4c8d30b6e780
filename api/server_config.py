"""The uvicorn configuration every chatstore server process runs with: the one of
`python -m api`, and each worker's under `CHATSTORE_WORKERS` (ADR 0033)."""

import copy
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from api.http_protocol import GuardedHttpToolsProtocol
from api.settings import Settings

_PACKAGES = ("domain", "usecase", "repository", "adapter", "api")


def log_config() -> dict[str, Any]:
    """uvicorn's logging, and the service's own `chatstore` loggers as JSON lines on stderr,
    each carrying the id of the request it was logged for (ADR 0028)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json"] = {"()": "api.log_format.JsonFormatter"}
    config["filters"] = {"request_id": {"()": "api.request_id.RequestIdFilter"}}
    config["handlers"]["json"] = {
        "formatter": "json",
        "filters": ["request_id"],
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["chatstore"] = {"handlers": ["json"], "level": "INFO", "propagate": False}
    # uvicorn's access log (CHATSTORE_ACCESS_LOG) on stderr too, beside every other line.
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    # The layers log under their module's name; every other library's warnings go there too.
    for package in _PACKAGES:
        config["loggers"][package] = {"level": "INFO"}
    config["root"] = {"handlers": ["json"], "level": "WARNING"}
    return config


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """`app` served as `settings` say; building the Config sets up the process's logging."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=GuardedHttpToolsProtocol,
        log_config=log_config(),
        log_level="info",
        access_log=settings.access_log,
    )
