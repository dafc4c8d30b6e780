"""What the sync and async clients share: their settings, per-call overrides, the
description of one call (`Call`), and how a call becomes an `httpx.Request`."""

import copy
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, Self, TypedDict, TypeVar, Unpack
from uuid import UUID

import httpx
import pydantic

from chatstore_client._retry import Backoff, RetryState
from chatstore_client.errors import APIConnectionError, APIResponseError, APITimeoutError
from chatstore_client.models import DownloadInfo

VERSION = "0.1.0"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
Timeout = float | httpx.Timeout


class RequestOptions(TypedDict, total=False):
    """Per-call overrides of what the client was built with.

    `user_id=None` and `token=None` send no `X-User-Id` / `Authorization` header.
    """

    user_id: UUID | str | None
    token: str | None
    timeout: Timeout
    max_retries: int
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Settings:
    base_url: str
    user_id: UUID | str | None
    token: str | None
    timeout: httpx.Timeout
    max_retries: int
    backoff: Backoff
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        base_url: str | httpx.URL,
        *,
        user_id: UUID | str | None,
        token: str | None,
        timeout: Timeout,
        max_retries: int,
        backoff: Backoff,
    ) -> "Settings":
        if max_retries < 0:
            raise ValueError("max_retries is 0 or more")
        return cls(
            base_url=str(base_url).rstrip("/"),
            user_id=user_id,
            token=token,
            timeout=_timeout(timeout),
            max_retries=max_retries,
            backoff=backoff,
        )

    def merged(self, options: RequestOptions) -> "Settings":
        if not options:
            return self
        changes: dict[str, Any] = dict(options)
        if "timeout" in options:
            changes["timeout"] = _timeout(options["timeout"])
        if "headers" in options:
            changes["headers"] = {**self.headers, **options["headers"]}
        return replace(self, **changes)

    def request_headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"chatstore-client/{VERSION}", **self.headers}
        if self.user_id is not None:
            headers["X-User-Id"] = str(self.user_id)
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers


def _timeout(timeout: Timeout) -> httpx.Timeout:
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class BaseClient(Generic[HttpT]):
    """What both clients hold: their settings, and the httpx client they send with (and
    close, if they made it)."""

    def __init__(self, settings: Settings, http: HttpT, *, owns_http: bool) -> None:
        self._settings = settings
        self._http: HttpT = http
        self._owns_http = owns_http

    def with_options(self, **options: Unpack[RequestOptions]) -> Self:
        """A client sharing this one's connections, with other defaults."""
        clone = copy.copy(self)
        clone._settings = self._settings.merged(options)
        clone._owns_http = False
        return clone


class Download:
    """An attachment download whose answer has arrived, its body still to be read."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        headers = response.headers
        length = headers.get("content-length")
        self.info = DownloadInfo(
            status=response.status_code,
            etag=headers.get("etag"),
            content_type=headers.get("content-type"),
            content_length=int(length) if length is not None and length.isdigit() else None,
            content_range=headers.get("content-range"),
            content_disposition=headers.get("content-disposition"),
        )


class StreamedBody(Protocol):
    """A request body sent chunk by chunk (see `_content.Source`, `uploads.MultipartBody`)."""

    @property
    def replayable(self) -> bool: ...

    def chunks(self) -> Generator[bytes, None, None]: ...

    def achunks(self) -> AsyncGenerator[bytes, None]: ...


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API call, independent of sync or async: what to send and how to read the answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    body: StreamedBody | None = None
    # The answer's body is left unread for the caller to stream (downloads).
    stream: bool = False

    @property
    def replayable(self) -> bool:
        return self.body is None or self.body.replayable


def json_body(value: Mapping[str, object]) -> tuple[bytes, dict[str, str]]:
    return json.dumps(value).encode(), {"Content-Type": "application/json"}


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    settings: Settings,
    call: Call[Any],
    content: bytes | Iterator[bytes] | AsyncIterator[bytes] | None,
) -> httpx.Request:
    return http.build_request(
        call.method,
        settings.base_url + call.path,
        params=call.params,
        headers={**settings.request_headers(), **call.headers},
        content=content,
        timeout=settings.timeout,
    )


def retry_state(settings: Settings, call: Call[Any]) -> RetryState:
    return RetryState(
        call.method,
        replayable=call.replayable,
        max_retries=settings.max_retries,
        backoff=settings.backoff,
    )


def connection_error(error: httpx.TransportError) -> APIConnectionError:
    cls = APITimeoutError if isinstance(error, httpx.TimeoutException) else APIConnectionError
    try:
        request: httpx.Request | None = error.request
    except RuntimeError:  # httpx raises it when the error was made without a request
        request = None
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return cls(message, request=request)


def is_error(response: httpx.Response) -> bool:
    """Every 4xx and 5xx, and any redirect (the contract never redirects) but `304`."""
    return response.status_code >= 400 or (
        response.status_code >= 300 and response.status_code != 304
    )


def parse_model(model: type[M]) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError as error:
            raise APIResponseError(f"unexpected answer: {error}", response=response) from error

    return parse
