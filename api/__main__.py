"""`python -m api`: serve chatstore with settings from the environment."""

import asyncio
import logging.config
import sys

from api.app import build_metadata_store, create_app
from api.server_config import log_config, server_config
from api.settings import Settings, SettingsError, load_settings
from api.shutdown import GracefulServer
from api.workers import STARTUP_FAILURE, Supervisor, listen
from domain.errors import DomainError

# uvicorn's default backlog of pending connections, for the workers' shared socket.
_BACKLOG = 2048


async def _check_metadata_store(settings: Settings) -> None:
    """Open the metadata store once (migrating it) so that a store which cannot be
    reached or is too new stops start-up with one line, not a traceback."""
    store = build_metadata_store(settings.metadata_store_url)
    try:
        await store.open()
    finally:
        await store.close()


def main() -> int:
    try:
        settings = load_settings()
        asyncio.run(_check_metadata_store(settings))
    except (SettingsError, DomainError) as error:
        print(f"chatstore: {error}", file=sys.stderr)
        return 2
    if settings.workers > 1:
        return _supervise(settings)
    server = GracefulServer(
        server_config(create_app(settings), settings), deadline_seconds=settings.shutdown_seconds
    )
    server.run()
    # As uvicorn.run: a server that never started (its port taken, say) exits with 3.
    return 0 if server.started else STARTUP_FAILURE


def _supervise(settings: Settings) -> int:
    """CHATSTORE_WORKERS processes on one socket, the store already checked (ADR 0033)."""
    logging.config.dictConfig(log_config())
    try:
        listener = listen(settings, _BACKLOG)
    except OSError as error:
        print(
            f"chatstore: cannot listen on {settings.host}:{settings.port}: {error}", file=sys.stderr
        )
        return STARTUP_FAILURE
    return Supervisor(settings, listener).run()


if __name__ == "__main__":
    sys.exit(main())
