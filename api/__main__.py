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


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with the service's own `chatstore` logger on the same handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["chatstore"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
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
    )
    server = GracefulServer(config, deadline_seconds=settings.shutdown_seconds)
    server.run()
    # As uvicorn.run: a server that never started (its port taken, say) exits with 3.
    return 0 if server.started else _STARTUP_FAILURE


if __name__ == "__main__":
    sys.exit(main())
