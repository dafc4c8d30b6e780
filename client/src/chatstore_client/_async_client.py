"""`AsyncClient`: the asynchronous twin of `Client`, over an `httpx.AsyncClient`.

Each method sends the same `Call` as its `Client` twin; only the awaiting differs.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self, TypeVar, Unpack, overload

import anyio
import anyio.to_thread
import httpx

from chatstore_client import _endpoints as api
from chatstore_client._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseClient,
    Call,
    Download,
    RequestOptions,
    Settings,
    Timeout,
    build_request,
    connection_error,
    is_error,
    retry_state,
)
from chatstore_client._content import Content
from chatstore_client._endpoints import NOT_GIVEN, HistoryContent, Id, NotGiven, merge_patch
from chatstore_client._retry import Backoff
from chatstore_client.errors import error_from_response
from chatstore_client.models import (
    Chat,
    ChatFile,
    ChatOrder,
    DownloadInfo,
    History,
    HistoryRevision,
    HistoryWritten,
    NotModified,
    Page,
    SandboxSession,
    Workspace,
    WorkspaceUsage,
)
from chatstore_client.ranges import ByteRange
from chatstore_client.sandbox import AsyncSandboxLease
from chatstore_client.uploads import UploadItem

T = TypeVar("T")


class AsyncFileDownload(Download):
    """An attachment's bytes as they arrive (from `AsyncClient.stream_file`)."""

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_bytes(chunk_size):
                yield chunk
        except httpx.TransportError as error:
            raise connection_error(error) from error


class AsyncClient(BaseClient[httpx.AsyncClient]):
    """The chatstore API, asynchronously; built and used as `Client` is, with `await`,
    `async with` and `async for`. Uploads may also stream async iterables of bytes."""

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        user_id: Id | None = None,
        token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen, so one shared default is safe
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass http_client or transport, not both")
        settings = Settings.build(
            base_url,
            user_id=user_id,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            backoff=backoff,
        )
        http = http_client or httpx.AsyncClient(transport=transport)
        super().__init__(settings, http, owns_http=http_client is None)

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # Sending

    async def _send(self, call: Call[T], options: RequestOptions) -> httpx.Response:
        """The answer to `call`, its body read unless `call.stream`; raises on an error."""
        settings = self._settings.merged(options)
        retry = retry_state(settings, call)
        while True:
            body = None if call.body is None else call.body.achunks()
            request = build_request(
                self._http, settings, call, call.content if body is None else body
            )
            try:
                response = await self._http.send(request, stream=True)
                if not call.stream or is_error(response):
                    await _read(response)
            except httpx.TransportError as error:
                delay = retry.after_connection_error()
                if delay is None:
                    raise connection_error(error) from error
            else:
                delay = retry.after_response(response)
                if delay is None:
                    break
                await response.aclose()
            finally:
                if body is not None:
                    await body.aclose()
            await anyio.sleep(delay)
        if is_error(response):
            raise error_from_response(response)
        return response

    async def _call(self, call: Call[T], options: RequestOptions) -> T:
        return call.parse(await self._send(call, options))

    # Workspace

    async def ensure_workspace(self, **options: Unpack[RequestOptions]) -> Workspace:
        """The caller's workspace, created if it has none (safe to retry and to race)."""
        return await self._call(api.ensure_workspace(), options)

    async def get_workspace(self, **options: Unpack[RequestOptions]) -> Workspace:
        return await self._call(api.get_workspace(), options)

    async def get_workspace_usage(self, **options: Unpack[RequestOptions]) -> WorkspaceUsage:
        return await self._call(api.get_workspace_usage(), options)

    async def delete_workspace(self, **options: Unpack[RequestOptions]) -> None:
        """Erase the caller's workspace: every chat, history, revision, attachment,
        record and lease of it, then the workspace itself (`ensure_workspace` then makes a
        new, empty one with a new id). Raises ChatHasActiveSandboxError, erasing nothing,
        while a sandbox session is active on any of its chats. Retried like every DELETE:
        a retry whose first attempt erased the workspace but lost the answer raises
        WorkspaceNotFoundError."""
        await self._call(api.delete_workspace(), options)

    # Exports

    async def export_workspace(
        self, to: str | os.PathLike[str] | BinaryIO, **options: Unpack[RequestOptions]
    ) -> DownloadInfo:
        """Write the workspace, every chat of it, as a ZIP archive to a path or a binary
        file as it arrives (`manifest.json` is its last member). A path left half written
        by a failure, such as an answer cut short, is removed."""
        async with self._streamed(api.export_workspace(), options) as download:
            return await _save(download, to)

    async def export_chat(
        self, chat_id: Id, to: str | os.PathLike[str] | BinaryIO, **options: Unpack[RequestOptions]
    ) -> DownloadInfo:
        """As `export_workspace`, for the one chat."""
        async with self._streamed(api.export_chat(chat_id), options) as download:
            return await _save(download, to)

    # Chats

    async def create_chat(
        self,
        *,
        title: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[RequestOptions],
    ) -> Chat:
        """A new chat with an empty history, and its title and metadata when given. Never
        retried: a retry could make two chats."""
        return await self._call(api.create_chat(title, metadata), options)

    async def update_chat(
        self,
        chat_id: Id,
        *,
        title: str | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, str | None] | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Chat:
        """A merge patch of the chat: `title` replaces the title (None removes it);
        `metadata` is merged key by key (a key set to None is removed; None removes every
        key). What is not given stays as it is."""
        return await self._call(api.update_chat(chat_id, merge_patch(title, metadata)), options)

    async def get_chat(self, chat_id: Id, **options: Unpack[RequestOptions]) -> Chat:
        return await self._call(api.get_chat(chat_id), options)

    async def list_chats(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        order: ChatOrder | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Chat]:
        """A page of chats in `order` (by creation, oldest first, by default); a cursor
        belongs to the order it came from."""
        return await self._call(api.list_chats(limit, cursor, order), options)

    def iter_chats(
        self,
        *,
        page_size: int | None = None,
        order: ChatOrder | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[Chat]:
        """Every chat in `order` (oldest first by default), fetching page after page as the
        loop goes."""
        return _walk(
            lambda cursor: self.list_chats(limit=page_size, cursor=cursor, order=order, **options)
        )

    async def delete_chat(self, chat_id: Id, **options: Unpack[RequestOptions]) -> None:
        await self._call(api.delete_chat(chat_id), options)

    async def fork_chat(
        self,
        chat_id: Id,
        *,
        revision: int | None = None,
        attachments: bool = True,
        **options: Unpack[RequestOptions],
    ) -> Chat:
        """A new chat from a revision of this one's history (the current one by default),
        with a copy of its attachments unless `attachments` is False. Never retried: a
        retry could fork twice."""
        return await self._call(api.fork_chat(chat_id, revision, attachments), options)

    async def import_chats(self, archive: Content, **options: Unpack[RequestOptions]) -> list[Chat]:
        """A new chat for each chat of an export archive (as `GET /v1/workspace/export`
        answers it), all of them or none; the chats in the archive's order. `archive` is
        bytes, a path, a binary file, or an iterable or async iterable of bytes,
        streamed. Never retried: a
        retry could import twice. `InvalidArchiveError` when the service did not export it
        or it breaks its limits."""
        return await self._call(api.import_chats(archive), options)

    # History

    @overload
    async def get_history(
        self, chat_id: Id, *, if_none_match: None = None, **options: Unpack[RequestOptions]
    ) -> History: ...

    @overload
    async def get_history(
        self, chat_id: Id, *, if_none_match: str, **options: Unpack[RequestOptions]
    ) -> History | NotModified: ...

    async def get_history(
        self, chat_id: Id, *, if_none_match: str | None = None, **options: Unpack[RequestOptions]
    ) -> History | NotModified:
        """The history and its ETag; `NotModified` when `if_none_match` is still current."""
        return await self._call(api.get_history(chat_id, if_none_match), options)

    async def put_history(
        self,
        chat_id: Id,
        content: HistoryContent,
        *,
        if_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> HistoryWritten:
        """Replace the history; returns its new ETag and revision (see
        `Client.put_history`); `content` may also be an async iterable of bytes."""
        return await self._call(api.put_history(chat_id, content, if_match), options)

    async def append_history(
        self,
        chat_id: Id,
        content: HistoryContent,
        *,
        if_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> HistoryWritten:
        """Add `content` to the end of the history; returns its new ETag and revision (see
        `Client.append_history`); `content` may also be an async iterable of bytes."""
        return await self._call(api.append_history(chat_id, content, if_match), options)

    # History revisions

    async def list_history_revisions(
        self,
        chat_id: Id,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[HistoryRevision]:
        """One page of the chat's history revisions, newest first."""
        return await self._call(api.list_history_revisions(chat_id, limit, cursor), options)

    def iter_history_revisions(
        self, chat_id: Id, *, page_size: int | None = None, **options: Unpack[RequestOptions]
    ) -> AsyncIterator[HistoryRevision]:
        """Every kept revision, newest first, fetching page after page as the loop goes."""
        return _walk(
            lambda cursor: self.list_history_revisions(
                chat_id, limit=page_size, cursor=cursor, **options
            )
        )

    @overload
    async def get_history_revision(
        self,
        chat_id: Id,
        revision: int,
        *,
        if_none_match: None = None,
        **options: Unpack[RequestOptions],
    ) -> History: ...

    @overload
    async def get_history_revision(
        self, chat_id: Id, revision: int, *, if_none_match: str, **options: Unpack[RequestOptions]
    ) -> History | NotModified: ...

    async def get_history_revision(
        self,
        chat_id: Id,
        revision: int,
        *,
        if_none_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> History | NotModified:
        """That revision's content and ETag (see `Client.get_history_revision`)."""
        call = api.get_history_revision(chat_id, revision, if_none_match)
        return await self._call(call, options)

    async def restore_history_revision(
        self,
        chat_id: Id,
        revision: int,
        *,
        if_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> HistoryWritten:
        """Make that revision's content the current history, as a new revision; never
        retried (see `Client.restore_history_revision`)."""
        call = api.restore_history_revision(chat_id, revision, if_match)
        return await self._call(call, options)

    async def prune_history_revisions(self, chat_id: Id, **options: Unpack[RequestOptions]) -> None:
        """Forget every revision but the current one (see `Client.prune_history_revisions`)."""
        await self._call(api.prune_history_revisions(chat_id), options)

    # Files

    async def upload_files(
        self, chat_id: Id, files: Iterable[UploadItem], **options: Unpack[RequestOptions]
    ) -> list[ChatFile]:
        """Upload in one streamed request, stored all or none (see `Client.upload_files`)."""
        return await self._call(api.upload_files(chat_id, files), options)

    async def upload_file(
        self, chat_id: Id, file: UploadItem, **options: Unpack[RequestOptions]
    ) -> ChatFile:
        (record,) = await self.upload_files(chat_id, [file], **options)
        return record

    async def list_files(
        self,
        chat_id: Id,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[ChatFile]:
        return await self._call(api.list_files(chat_id, limit, cursor), options)

    def iter_files(
        self, chat_id: Id, *, page_size: int | None = None, **options: Unpack[RequestOptions]
    ) -> AsyncIterator[ChatFile]:
        return _walk(
            lambda cursor: self.list_files(chat_id, limit=page_size, cursor=cursor, **options)
        )

    async def get_file(
        self, chat_id: Id, file_id: Id, **options: Unpack[RequestOptions]
    ) -> ChatFile:
        return await self._call(api.get_file(chat_id, file_id), options)

    @asynccontextmanager
    async def stream_file(
        self,
        chat_id: Id,
        file_id: Id,
        *,
        byte_range: ByteRange | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncIterator[AsyncFileDownload]:
        """The file's bytes as they arrive: `async with client.stream_file(...) as d:`."""
        call = api.download_file(chat_id, file_id, byte_range)
        async with self._streamed(call, options) as download:
            yield download

    @asynccontextmanager
    async def _streamed(
        self, call: Call[Download], options: RequestOptions
    ) -> AsyncIterator[AsyncFileDownload]:
        response = await self._send(call, options)
        try:
            yield AsyncFileDownload(response)
        finally:
            await response.aclose()

    async def download_file(
        self,
        chat_id: Id,
        file_id: Id,
        to: str | os.PathLike[str] | BinaryIO,
        *,
        byte_range: ByteRange | None = None,
        **options: Unpack[RequestOptions],
    ) -> DownloadInfo:
        """Write the file's bytes (or `byte_range` of them) to a path or a binary file as
        they arrive. A path left half written by a failure is removed."""
        async with self.stream_file(chat_id, file_id, byte_range=byte_range, **options) as download:
            return await _save(download, to)

    async def delete_file(
        self, chat_id: Id, file_id: Id, **options: Unpack[RequestOptions]
    ) -> None:
        await self._call(api.delete_file(chat_id, file_id), options)

    async def delete_files(self, chat_id: Id, **options: Unpack[RequestOptions]) -> None:
        """Remove every attachment of the chat; its history stays."""
        await self._call(api.delete_files(chat_id), options)

    async def rescan_files(self, chat_id: Id, **options: Unpack[RequestOptions]) -> list[ChatFile]:
        """Reconcile the records with the chat's directory; the whole list after it."""
        return await self._call(api.rescan_files(chat_id), options)

    # Sandbox sessions

    async def start_sandbox_session(
        self, chat_id: Id, *, ttl_seconds: int | None = None, **options: Unpack[RequestOptions]
    ) -> SandboxSession:
        return await self._call(api.start_sandbox_session(chat_id, ttl_seconds), options)

    async def get_active_sandbox_session(
        self, chat_id: Id, **options: Unpack[RequestOptions]
    ) -> SandboxSession:
        return await self._call(api.get_active_sandbox_session(chat_id), options)

    async def heartbeat_sandbox_session(
        self,
        chat_id: Id,
        session_id: Id,
        *,
        ttl_seconds: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> SandboxSession:
        call = api.heartbeat_sandbox_session(chat_id, session_id, ttl_seconds)
        return await self._call(call, options)

    async def end_sandbox_session(
        self, chat_id: Id, session_id: Id, **options: Unpack[RequestOptions]
    ) -> None:
        """End the session; the service then rescans the chat's files."""
        await self._call(api.end_sandbox_session(chat_id, session_id), options)

    def sandbox_session(
        self,
        chat_id: Id,
        *,
        ttl_seconds: int | None = None,
        heartbeat_every: float | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncSandboxLease:
        """`async with client.sandbox_session(chat_id, ttl_seconds=60) as lease:`, as
        `Client.sandbox_session` but heartbeating from a task."""
        return AsyncSandboxLease(
            start=lambda: self.start_sandbox_session(chat_id, ttl_seconds=ttl_seconds, **options),
            heartbeat=lambda session: self.heartbeat_sandbox_session(
                chat_id, session.session_id, **options
            ),
            end=lambda session: self.end_sandbox_session(chat_id, session.session_id, **options),
            heartbeat_every=heartbeat_every,
        )


async def _read(response: httpx.Response) -> None:
    try:
        await response.aread()
    finally:
        await response.aclose()


async def _walk(fetch: Callable[[str | None], Awaitable[Page[T]]]) -> AsyncIterator[T]:
    cursor: str | None = None
    while True:
        page = await fetch(cursor)
        for item in page.items:
            yield item
        cursor = page.next_cursor
        if cursor is None:
            return


async def _save(download: AsyncFileDownload, to: str | os.PathLike[str] | BinaryIO) -> DownloadInfo:
    """Write the body to a path or a binary file as it arrives, off the event loop; a path
    left half written by a failure is removed."""
    if not isinstance(to, str | os.PathLike):
        async for chunk in download.aiter_bytes():
            await anyio.to_thread.run_sync(to.write, chunk)
        return download.info
    path = anyio.Path(Path(to))
    try:
        async with await anyio.open_file(path, "wb") as file:
            async for chunk in download.aiter_bytes():
                await file.write(chunk)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await path.unlink(missing_ok=True)
        raise
    return download.info
