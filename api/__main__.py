"""`python -m api`: serve chatstore with settings from the environment."""

import asyncio
import copy
import sys
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from api.app import build_metadata_store, create_app
from api.http_protocol import GuardedHttpToolsProtocol
from api.settings import Settings, SettingsError, load_settings
from api.shutdown import GracefulServer
from domain.errors import DomainError

_STARTUP_FAILURE = 3


async def _check_metadata_store(settings: Settings) -> None:
    """Open the metadata store once (migrating it) so that a store which cannot be
    reached or is too new stops start-up with one line, not a traceback."""
    store = build_metadata_store(settings.metadata_store_url)
    try:
        await store.open()
    finally:
        await store.close()


_PACKAGES = ("domain", "usecase", "repository", "adapter", "api")


def _log_config() -> dict[str, Any]:
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


def main() -> int:
    try:
        settings = load_settings()
        asyncio.run(_check_metadata_store(settings))
    except (SettingsError, DomainError) as error:
        print(f"chatstore: {error}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http=GuardedHttpToolsProtocol,
        log_config=_log_config(),
        log_level="info",
        access_log=settings.access_log,
    )
    server = GracefulServer(config, deadline_seconds=settings.shutdown_seconds)
    server.run()
    # As uvicorn.run: a server that never started (its port taken, say) exits with 3.
    return 0 if server.started else _STARTUP_FAILURE


if __name__ == "__main__":
    sys.exit(main())
