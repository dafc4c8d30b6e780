"""`Client`: the synchronous client, over an `httpx.Client`."""

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self, TypeVar, Unpack, overload

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
from chatstore_client.sandbox import SandboxLease
from chatstore_client.uploads import UploadItem

T = TypeVar("T")


class FileDownload(Download):
    """An attachment's bytes as they arrive (from `Client.stream_file`)."""

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        try:
            yield from self.response.iter_bytes(chunk_size)
        except httpx.TransportError as error:
            raise connection_error(error) from error


class Client(BaseClient[httpx.Client]):
    """The chatstore API, synchronously.

    Built once with the service's `base_url`, the gateway `token` (sent as
    `Authorization: Bearer`) and the end user's `user_id` (sent as `X-User-Id`); every
    method takes the same as keyword overrides (`RequestOptions`), and `with_options`
    makes a copy with new defaults. Idempotent calls are retried `max_retries` times
    after a connection error or a `503`. Pass a `transport` (an `httpx.MockTransport`, or
    for `AsyncClient` an `httpx.ASGITransport(app=app)` to call an app in process) or a
    whole `http_client`; a client this object made is
    closed by `close()` or on leaving `with`, one handed in is left to its owner. `timeout`
    applies to every request, also those sent through a client handed in.
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        user_id: Id | None = None,
        token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: Backoff = Backoff(),  # noqa: B008 - frozen, so one shared default is safe
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
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
        http = http_client or httpx.Client(transport=transport)
        super().__init__(settings, http, owns_http=http_client is None)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Sending

    def _send(self, call: Call[T], options: RequestOptions) -> httpx.Response:
        """The answer to `call`, its body read unless `call.stream`; raises on an error."""
        settings = self._settings.merged(options)
        retry = retry_state(settings, call)
        while True:
            body = None if call.body is None else call.body.chunks()
            request = build_request(
                self._http, settings, call, call.content if body is None else body
            )
            try:
                response = self._http.send(request, stream=True)
                if not call.stream or is_error(response):
                    _read(response)
            except httpx.TransportError as error:
                delay = retry.after_connection_error()
                if delay is None:
                    raise connection_error(error) from error
            else:
                delay = retry.after_response(response)
                if delay is None:
                    break
                response.close()
            finally:
                if body is not None:
                    body.close()
            time.sleep(delay)
        if is_error(response):
            raise error_from_response(response)
        return response

    def _call(self, call: Call[T], options: RequestOptions) -> T:
        return call.parse(self._send(call, options))

    # Workspace

    def ensure_workspace(self, **options: Unpack[RequestOptions]) -> Workspace:
        """The caller's workspace, created if it has none (safe to retry and to race)."""
        return self._call(api.ensure_workspace(), options)

    def get_workspace(self, **options: Unpack[RequestOptions]) -> Workspace:
        return self._call(api.get_workspace(), options)

    def get_workspace_usage(self, **options: Unpack[RequestOptions]) -> WorkspaceUsage:
        return self._call(api.get_workspace_usage(), options)

    def delete_workspace(self, **options: Unpack[RequestOptions]) -> None:
        """Erase the caller's workspace: every chat, history, revision, attachment,
        record and lease of it, then the workspace itself (`ensure_workspace` then makes a
        new, empty one with a new id). Raises ChatHasActiveSandboxError, erasing nothing,
        while a sandbox session is active on any of its chats. Retried like every DELETE:
        a retry whose first attempt erased the workspace but lost the answer raises
        WorkspaceNotFoundError."""
        self._call(api.delete_workspace(), options)

    # Exports

    def export_workspace(
        self, to: str | os.PathLike[str] | BinaryIO, **options: Unpack[RequestOptions]
    ) -> DownloadInfo:
        """Write the workspace, every chat of it, as a ZIP archive to a path or a binary
        file as it arrives (`manifest.json` is its last member). A path left half written
        by a failure, such as an answer cut short, is removed."""
        with self._streamed(api.export_workspace(), options) as download:
            return _save(download, to)

    def export_chat(
        self, chat_id: Id, to: str | os.PathLike[str] | BinaryIO, **options: Unpack[RequestOptions]
    ) -> DownloadInfo:
        """As `export_workspace`, for the one chat."""
        with self._streamed(api.export_chat(chat_id), options) as download:
            return _save(download, to)

    # Chats

    def create_chat(
        self,
        *,
        title: str | None = None,
        metadata: Mapping[str, str] | None = None,
        **options: Unpack[RequestOptions],
    ) -> Chat:
        """A new chat with an empty history, and its title and metadata when given. Never
        retried: a retry could make two chats."""
        return self._call(api.create_chat(title, metadata), options)

    def update_chat(
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
        return self._call(api.update_chat(chat_id, merge_patch(title, metadata)), options)

    def get_chat(self, chat_id: Id, **options: Unpack[RequestOptions]) -> Chat:
        return self._call(api.get_chat(chat_id), options)

    def list_chats(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        order: ChatOrder | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[Chat]:
        """A page of chats in `order` (by creation, oldest first, by default); a cursor
        belongs to the order it came from."""
        return self._call(api.list_chats(limit, cursor, order), options)

    def iter_chats(
        self,
        *,
        page_size: int | None = None,
        order: ChatOrder | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Iterator[Chat]:
        """Every chat in `order` (oldest first by default), fetching page after page as the
        loop goes."""
        return _walk(
            lambda cursor: self.list_chats(limit=page_size, cursor=cursor, order=order, **options)
        )

    def delete_chat(self, chat_id: Id, **options: Unpack[RequestOptions]) -> None:
        self._call(api.delete_chat(chat_id), options)

    def fork_chat(
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
        return self._call(api.fork_chat(chat_id, revision, attachments), options)

    def import_chats(self, archive: Content, **options: Unpack[RequestOptions]) -> list[Chat]:
        """A new chat for each chat of an export archive (as `GET /v1/workspace/export`
        answers it), all of them or none; the chats in the archive's order. `archive` is
        bytes, a path, a binary file or an iterable of bytes, streamed. Never retried: a
        retry could import twice. `InvalidArchiveError` when the service did not export it
        or it breaks its limits."""
        return self._call(api.import_chats(archive), options)

    # History

    @overload
    def get_history(
        self, chat_id: Id, *, if_none_match: None = None, **options: Unpack[RequestOptions]
    ) -> History: ...

    @overload
    def get_history(
        self, chat_id: Id, *, if_none_match: str, **options: Unpack[RequestOptions]
    ) -> History | NotModified: ...

    def get_history(
        self, chat_id: Id, *, if_none_match: str | None = None, **options: Unpack[RequestOptions]
    ) -> History | NotModified:
        """The history and its ETag; `NotModified` when `if_none_match` is still current."""
        return self._call(api.get_history(chat_id, if_none_match), options)

    def put_history(
        self,
        chat_id: Id,
        content: HistoryContent,
        *,
        if_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> HistoryWritten:
        """Replace the history; returns its new ETag, which also carries the number of the
        revision this made (`HistoryWritten.revision`). `content` is text (sent as UTF-8),
        bytes, a path, a binary file or an iterable of bytes (the last three streamed).
        With `if_match`, a changed history raises `PreconditionFailedError`."""
        return self._call(api.put_history(chat_id, content, if_match), options)

    def append_history(
        self,
        chat_id: Id,
        content: HistoryContent,
        *,
        if_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> HistoryWritten:
        """Add `content` to the end of the history (a chat's next turn); returns its new
        ETag and revision, as `put_history` does (an empty `content` changes nothing and
        returns the current ones). `content` as for `put_history`. Appends are never
        retried: a retry after a lost answer could add the turn twice. With `if_match`, a
        changed history raises `PreconditionFailedError`."""
        return self._call(api.append_history(chat_id, content, if_match), options)

    # History revisions

    def list_history_revisions(
        self,
        chat_id: Id,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[HistoryRevision]:
        """One page of the revisions the service keeps of the chat's history, newest first."""
        return self._call(api.list_history_revisions(chat_id, limit, cursor), options)

    def iter_history_revisions(
        self, chat_id: Id, *, page_size: int | None = None, **options: Unpack[RequestOptions]
    ) -> Iterator[HistoryRevision]:
        """Every kept revision, newest first, fetching page after page as the loop goes."""
        return _walk(
            lambda cursor: self.list_history_revisions(
                chat_id, limit=page_size, cursor=cursor, **options
            )
        )

    @overload
    def get_history_revision(
        self,
        chat_id: Id,
        revision: int,
        *,
        if_none_match: None = None,
        **options: Unpack[RequestOptions],
    ) -> History: ...

    @overload
    def get_history_revision(
        self, chat_id: Id, revision: int, *, if_none_match: str, **options: Unpack[RequestOptions]
    ) -> History | NotModified: ...

    def get_history_revision(
        self,
        chat_id: Id,
        revision: int,
        *,
        if_none_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> History | NotModified:
        """That revision's content and ETag, as `get_history` answers the current one. A
        revision never made or pruned raises `HistoryRevisionNotFoundError`."""
        return self._call(api.get_history_revision(chat_id, revision, if_none_match), options)

    def restore_history_revision(
        self,
        chat_id: Id,
        revision: int,
        *,
        if_match: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> HistoryWritten:
        """Make that revision's content the current history, as a new revision (source
        `restore`); returns its ETag and revision. Never retried: a retry after a lost
        answer would restore twice. With `if_match`, a changed history raises
        `PreconditionFailedError`."""
        return self._call(api.restore_history_revision(chat_id, revision, if_match), options)

    def prune_history_revisions(self, chat_id: Id, **options: Unpack[RequestOptions]) -> None:
        """Forget every revision but the current one, freeing what they kept
        (`WorkspaceUsage.revision_bytes`)."""
        self._call(api.prune_history_revisions(chat_id), options)

    # Files

    def upload_files(
        self, chat_id: Id, files: Iterable[UploadItem], **options: Unpack[RequestOptions]
    ) -> list[ChatFile]:
        """Upload in one streamed request, stored all or none; the records in that order.
        Each item is a path, a binary file or an `Upload` (content, name, content type)."""
        return self._call(api.upload_files(chat_id, files), options)

    def upload_file(
        self, chat_id: Id, file: UploadItem, **options: Unpack[RequestOptions]
    ) -> ChatFile:
        (record,) = self.upload_files(chat_id, [file], **options)
        return record

    def list_files(
        self,
        chat_id: Id,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Page[ChatFile]:
        return self._call(api.list_files(chat_id, limit, cursor), options)

    def iter_files(
        self, chat_id: Id, *, page_size: int | None = None, **options: Unpack[RequestOptions]
    ) -> Iterator[ChatFile]:
        return _walk(
            lambda cursor: self.list_files(chat_id, limit=page_size, cursor=cursor, **options)
        )

    def get_file(self, chat_id: Id, file_id: Id, **options: Unpack[RequestOptions]) -> ChatFile:
        return self._call(api.get_file(chat_id, file_id), options)

    @contextmanager
    def stream_file(
        self,
        chat_id: Id,
        file_id: Id,
        *,
        byte_range: ByteRange | None = None,
        **options: Unpack[RequestOptions],
    ) -> Iterator[FileDownload]:
        """The file's bytes as they arrive: `with client.stream_file(...) as download:`."""
        with self._streamed(api.download_file(chat_id, file_id, byte_range), options) as download:
            yield download

    @contextmanager
    def _streamed(self, call: Call[Download], options: RequestOptions) -> Iterator[FileDownload]:
        response = self._send(call, options)
        try:
            yield FileDownload(response)
        finally:
            response.close()

    def download_file(
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
        with self.stream_file(chat_id, file_id, byte_range=byte_range, **options) as download:
            return _save(download, to)

    def delete_file(self, chat_id: Id, file_id: Id, **options: Unpack[RequestOptions]) -> None:
        self._call(api.delete_file(chat_id, file_id), options)

    def delete_files(self, chat_id: Id, **options: Unpack[RequestOptions]) -> None:
        """Remove every attachment of the chat; its history stays."""
        self._call(api.delete_files(chat_id), options)

    def rescan_files(self, chat_id: Id, **options: Unpack[RequestOptions]) -> list[ChatFile]:
        """Reconcile the records with the chat's directory; the whole list after it."""
        return self._call(api.rescan_files(chat_id), options)

    # Sandbox sessions

    def start_sandbox_session(
        self, chat_id: Id, *, ttl_seconds: int | None = None, **options: Unpack[RequestOptions]
    ) -> SandboxSession:
        return self._call(api.start_sandbox_session(chat_id, ttl_seconds), options)

    def get_active_sandbox_session(
        self, chat_id: Id, **options: Unpack[RequestOptions]
    ) -> SandboxSession:
        return self._call(api.get_active_sandbox_session(chat_id), options)

    def heartbeat_sandbox_session(
        self,
        chat_id: Id,
        session_id: Id,
        *,
        ttl_seconds: int | None = None,
        **options: Unpack[RequestOptions],
    ) -> SandboxSession:
        call = api.heartbeat_sandbox_session(chat_id, session_id, ttl_seconds)
        return self._call(call, options)

    def end_sandbox_session(
        self, chat_id: Id, session_id: Id, **options: Unpack[RequestOptions]
    ) -> None:
        """End the session; the service then rescans the chat's files."""
        self._call(api.end_sandbox_session(chat_id, session_id), options)

    def sandbox_session(
        self,
        chat_id: Id,
        *,
        ttl_seconds: int | None = None,
        heartbeat_every: float | None = None,
        **options: Unpack[RequestOptions],
    ) -> SandboxLease:
        """`with client.sandbox_session(chat_id, ttl_seconds=60) as lease:` starts a session,
        heartbeats it from a thread every `heartbeat_every` seconds (default: a third of its
        ttl) and ends it on leaving the block, also when the block raises."""
        return SandboxLease(
            start=lambda: self.start_sandbox_session(chat_id, ttl_seconds=ttl_seconds, **options),
            heartbeat=lambda session: self.heartbeat_sandbox_session(
                chat_id, session.session_id, **options
            ),
            end=lambda session: self.end_sandbox_session(chat_id, session.session_id, **options),
            heartbeat_every=heartbeat_every,
        )


def _read(response: httpx.Response) -> None:
    try:
        response.read()
    finally:
        response.close()


def _walk(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _save(download: FileDownload, to: str | os.PathLike[str] | BinaryIO) -> DownloadInfo:
    """Write the body to a path or a binary file as it arrives; a path left half written by
    a failure is removed."""
    if not isinstance(to, str | os.PathLike):
        for chunk in download.iter_bytes():
            to.write(chunk)
        return download.info
    path = Path(to)
    try:
        with path.open("wb") as file:
            for chunk in download.iter_bytes():
                file.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return download.info
