"""The composition root: the one place that builds adapters and wires them to routes."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from adapter.clock import SystemClock
from adapter.file_locks import FileKeyedLock
from adapter.fs.census import FilesystemCensus
from adapter.fs.chat_storage import FilesystemChatStorage
from adapter.fs.erasure import FilesystemWorkspaceErasure
from adapter.fs.fsync import FSYNC_TIMES
from adapter.fs.usage import FilesystemUsageReader
from adapter.ids import UuidGenerator
from adapter.open_files import raise_open_file_limit
from api.body_limit import BodyLimitMiddleware
from api.container import UseCases, build_use_cases
from api.docs import install_docs
from api.encoded_slash import EncodedSlashGuard
from api.head import HeadAsGet
from api.metrics import Metrics
from api.observe import ObserveMiddleware
from api.openapi import install_openapi, operation_id
from api.problems import install_problem_handlers, method_table
from api.routes import (
    chat_import,
    chats,
    export,
    files,
    history,
    history_revisions,
    operations,
    sandbox,
    workspace,
)
from api.settings import Settings, load_settings
from api.shutdown import AnswerCancelledRequests
from domain.limits import StorageLimits
from repository.memory import InMemoryMetadataStore
from repository.sql_store import postgres_metadata_store, sqlite_metadata_store
from usecase.ports.census import DiskCensus
from usecase.ports.chat_bytes import ChatStorage
from usecase.ports.erasure import WorkspaceErasure
from usecase.ports.metadata import MetadataStore
from usecase.ports.runtime import Clock, IdGenerator, KeyedLock
from usecase.ports.usage import StorageUsageReader

_log = logging.getLogger("chatstore")


def build_metadata_store(url: str) -> MetadataStore:
    """The store `url` names, not yet open: `memory://`, `sqlite:///<path>` (a relative
    path; `sqlite:////<path>` for an absolute one) or `postgresql://...`."""
    if url.startswith("memory://"):
        return InMemoryMetadataStore()
    if url.startswith("sqlite:///"):
        return sqlite_metadata_store(Path(url.removeprefix("sqlite:///")))
    if url.startswith(("postgresql://", "postgres://")):
        return postgres_metadata_store(url)
    raise ValueError("unsupported metadata store URL")


@dataclass(frozen=True, slots=True)
class Adapters:
    """Every adapter a chatstore process runs on: the server's, and the admin command's."""

    metadata: MetadataStore
    storage: ChatStorage
    usage_reader: StorageUsageReader
    disk: DiskCensus
    erasure: WorkspaceErasure
    ids: IdGenerator
    clock: Clock
    locks: KeyedLock
    limits: StorageLimits

    def use_cases(self) -> UseCases:
        return build_use_cases(
            self.metadata,
            self.storage,
            self.usage_reader,
            self.ids,
            self.clock,
            self.locks,
            self.limits,
            self.disk,
            self.erasure,
        )


def build_adapters(
    settings: Settings,
    *,
    metadata: MetadataStore | None = None,
    storage: ChatStorage | None = None,
    usage_reader: StorageUsageReader | None = None,
    disk: DiskCensus | None = None,
    erasure: WorkspaceErasure | None = None,
    ids: IdGenerator | None = None,
    clock: Clock | None = None,
    locks: KeyedLock | None = None,
) -> Adapters:
    """The adapters `settings` choose, none opened yet; tests pass fakes for any of them."""
    return Adapters(
        metadata=metadata or build_metadata_store(settings.metadata_store_url),
        storage=storage or FilesystemChatStorage(settings.data_dir),
        usage_reader=usage_reader or FilesystemUsageReader(settings.data_dir),
        disk=disk or FilesystemCensus(settings.data_dir),
        erasure=erasure or FilesystemWorkspaceErasure(settings.data_dir),
        ids=ids or UuidGenerator(),
        clock=clock or SystemClock(),
        locks=locks or FileKeyedLock(settings.data_dir),
        limits=StorageLimits(
            quota_bytes=settings.workspace_quota_bytes,
            max_file_bytes=settings.max_file_bytes,
            max_history_bytes=settings.max_history_bytes,
            history_revisions=settings.history_revisions,
        ),
    )


def create_app(
    settings: Settings | None = None,
    *,
    metadata: MetadataStore | None = None,
    storage: ChatStorage | None = None,
    usage_reader: StorageUsageReader | None = None,
    ids: IdGenerator | None = None,
    clock: Clock | None = None,
    locks: KeyedLock | None = None,
    erasure: WorkspaceErasure | None = None,
) -> FastAPI:
    """Build the service. Every collaborator defaults to the real adapter chosen by
    `settings`; tests pass fakes instead."""
    settings = settings or load_settings()
    adapters = build_adapters(
        settings,
        metadata=metadata,
        storage=storage,
        usage_reader=usage_reader,
        ids=ids,
        clock=clock,
        locks=locks,
        erasure=erasure,
    )
    metadata, storage = adapters.metadata, adapters.storage

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise_open_file_limit()
        await metadata.open()
        await storage.prepare()
        erased = await app.state.use_cases.finish_erasures()
        if erased:
            _log.warning("finished erasing %d workspace(s) a crash had cut short", len(erased))
        settled = await app.state.use_cases.settle_chats()
        if settled:
            _log.warning("settled %d chat(s) a crash had left unsettled", len(settled))
        try:
            yield
        finally:
            try:
                await storage.close()
            finally:
                await metadata.close()

    app = FastAPI(
        title="chatstore",
        version="1.0.0",
        summary="Storage for AI chat products: workspaces, chats, history and attachments.",
        lifespan=lifespan,
        # A path that is not a route answers 404, never a redirect to another host's URL.
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    metrics = Metrics(FSYNC_TIMES)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.use_cases = adapters.use_cases()
    modules = (
        workspace,
        chats,
        chat_import,
        history,
        history_revisions,
        files,
        sandbox,
        export,
        operations,
    )
    routers = [module.router for module in modules]
    for router in routers:
        app.include_router(router)
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(HeadAsGet)
    app.add_middleware(EncodedSlashGuard)
    app.add_middleware(ObserveMiddleware, metrics=metrics)
    app.add_middleware(AnswerCancelledRequests)
    install_docs(app)
    install_openapi(app)
    # The routers' routes, and the app's own (/openapi.json, /docs and its assets).
    routes = [route for router in routers for route in router.routes]
    app.state.method_table = method_table([*routes, *app.router.routes])
    return app
