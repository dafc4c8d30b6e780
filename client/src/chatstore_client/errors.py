"""Everything the client raises: one class per problem `code` of the contract, under one
class per HTTP status, under `APIStatusError`; transport failures as `APIConnectionError`.
`ChatstoreError` is the root of both."""

import json
from typing import Any, ClassVar

import httpx


class ChatstoreError(Exception):
    """Base of every error this client raises."""


class APIConnectionError(ChatstoreError):
    """No answer: the connection failed, broke, or the request could not be sent."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""


class APIResponseError(ChatstoreError):
    """The service answered with a success this client could not read."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response


class APIStatusError(ChatstoreError):
    """The service answered with an error status (RFC 9457 problem+json).

    `status` is the HTTP status; `code`, `detail`, `title` and `type` come from the problem
    body (`code` is None when the answer was not a problem, for example from a proxy).
    """

    status_code: ClassVar[int | None] = None

    def __init__(self, response: httpx.Response, body: dict[str, Any] | None) -> None:
        problem = body or {}
        self.response = response
        self.status: int = response.status_code
        self.code: str | None = _text_or_none(problem.get("code"))
        self.detail: str = _text_or_none(problem.get("detail")) or response.reason_phrase
        self.title: str | None = _text_or_none(problem.get("title"))
        self.type: str | None = _text_or_none(problem.get("type"))
        self.body = body
        super().__init__(f"{self.status} {self.code or response.reason_phrase}: {self.detail}")


class BadRequestError(APIStatusError):
    """400; raised as is for code `bad_request` (the HTTP message itself was malformed)."""

    status_code = 400


class InvalidUserIdError(BadRequestError):
    """`X-User-Id` is not a UUID, or was given twice."""


class UnauthorizedError(APIStatusError):
    """401; raised as is for code `unauthorized` (gateway token missing or wrong)."""

    status_code = 401


class UserIdRequiredError(UnauthorizedError):
    """`X-User-Id` is missing."""


class NotFoundError(APIStatusError):
    """404; raised as is for code `not_found` (no such route)."""

    status_code = 404


class WorkspaceNotFoundError(NotFoundError):
    """The user has no workspace yet."""


class ChatNotFoundError(NotFoundError):
    """No such chat in the caller's workspace."""


class ChatFileNotFoundError(NotFoundError):
    """No such file in that chat."""


class SandboxSessionNotFoundError(NotFoundError):
    """No such (active) sandbox session in that chat."""


class HistoryRevisionNotFoundError(NotFoundError):
    """No such revision of that chat's history: never made, or pruned."""


class MethodNotAllowedError(APIStatusError):
    """405 `method_not_allowed`: the route exists, not with this method."""

    status_code = 405


class ConflictError(APIStatusError):
    """409."""

    status_code = 409


class ChatHasActiveSandboxError(ConflictError):
    """The chat cannot be deleted, nor its workspace erased, while a sandbox session is
    active on it."""


class SandboxAlreadyActiveError(ConflictError):
    """A sandbox session is already active on that chat."""


class PreconditionFailedError(APIStatusError):
    """412 `precondition_failed`: `If-Match` does not match the current history ETag."""

    status_code = 412


class ContentTooLargeError(APIStatusError):
    """413."""

    status_code = 413


class FileTooLargeError(ContentTooLargeError):
    """One uploaded file is larger than the service's limit."""


class HistoryTooLargeError(ContentTooLargeError):
    """A history body is larger than the service's limit."""


class UriTooLongError(APIStatusError):
    """414 `uri_too_long`."""

    status_code = 414


class UnsupportedMediaTypeError(APIStatusError):
    """415 `unsupported_media_type`: an upload that is not multipart/form-data."""

    status_code = 415


class RangeNotSatisfiableError(APIStatusError):
    """416 `range_not_satisfiable`: a download range outside the file."""

    status_code = 416


class UnprocessableEntityError(APIStatusError):
    """422."""

    status_code = 422


class ValidationError(UnprocessableEntityError):
    """`validation_error`: a malformed request (bad id, query value, cursor or body)."""


class InvalidAttachmentNameError(UnprocessableEntityError):
    """A file name breaks the attachment name rules."""


class ReservedAttachmentNameError(UnprocessableEntityError):
    """A file named `history.md`."""


class DuplicateAttachmentNameError(UnprocessableEntityError):
    """Two parts of one upload carry the same name."""


class InvalidHistoryEncodingError(UnprocessableEntityError):
    """A history body that is not UTF-8."""


class InvalidArchiveError(UnprocessableEntityError):
    """An import body that is not an archive the service exported, or breaks its limits."""


class RequestHeaderFieldsTooLargeError(APIStatusError):
    """431 `request_header_fields_too_large`."""

    status_code = 431


class InternalServerError(APIStatusError):
    """500; raised as is for code `internal_error`."""

    status_code = 500


class ServiceUnavailableError(APIStatusError):
    """503."""

    status_code = 503


class StorageUnavailableError(ServiceUnavailableError):
    """The service's disk answered an I/O error; nothing was changed."""


class InsufficientStorageError(APIStatusError):
    """507; raised as is for code `insufficient_storage` (the disk is full)."""

    status_code = 507


class WorkspaceQuotaExceededError(InsufficientStorageError):
    """The write would take the workspace over its quota."""


ERROR_OF_CODE: dict[str, type[APIStatusError]] = {
    "bad_request": BadRequestError,
    "invalid_user_id": InvalidUserIdError,
    "unauthorized": UnauthorizedError,
    "user_id_required": UserIdRequiredError,
    "not_found": NotFoundError,
    "workspace_not_found": WorkspaceNotFoundError,
    "chat_not_found": ChatNotFoundError,
    "chat_file_not_found": ChatFileNotFoundError,
    "sandbox_session_not_found": SandboxSessionNotFoundError,
    "history_revision_not_found": HistoryRevisionNotFoundError,
    "method_not_allowed": MethodNotAllowedError,
    "chat_has_active_sandbox": ChatHasActiveSandboxError,
    "sandbox_already_active": SandboxAlreadyActiveError,
    "precondition_failed": PreconditionFailedError,
    "file_too_large": FileTooLargeError,
    "history_too_large": HistoryTooLargeError,
    "uri_too_long": UriTooLongError,
    "unsupported_media_type": UnsupportedMediaTypeError,
    "range_not_satisfiable": RangeNotSatisfiableError,
    "validation_error": ValidationError,
    "invalid_attachment_name": InvalidAttachmentNameError,
    "reserved_attachment_name": ReservedAttachmentNameError,
    "duplicate_attachment_name": DuplicateAttachmentNameError,
    "invalid_history_encoding": InvalidHistoryEncodingError,
    "invalid_archive": InvalidArchiveError,
    "request_header_fields_too_large": RequestHeaderFieldsTooLargeError,
    "internal_error": InternalServerError,
    "storage_unavailable": StorageUnavailableError,
    "insufficient_storage": InsufficientStorageError,
    "workspace_quota_exceeded": WorkspaceQuotaExceededError,
}

ERROR_OF_STATUS: dict[int, type[APIStatusError]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PreconditionFailedError,
        ContentTooLargeError,
        UriTooLongError,
        UnsupportedMediaTypeError,
        RangeNotSatisfiableError,
        UnprocessableEntityError,
        RequestHeaderFieldsTooLargeError,
        InternalServerError,
        ServiceUnavailableError,
        InsufficientStorageError,
    )
    if cls.status_code is not None
}


def error_from_response(response: httpx.Response) -> APIStatusError:
    """The exception for an error answer whose body has been read: by its problem `code`,
    else by its status, else `APIStatusError`. A known code at a status other than its own
    is classed by the status, so that `except NotFoundError` never catches a 500."""
    body = _problem_body(response)
    code = body.get("code") if body else None
    cls = ERROR_OF_CODE.get(code) if isinstance(code, str) else None
    if cls is None or cls.status_code != response.status_code:
        cls = ERROR_OF_STATUS.get(response.status_code, APIStatusError)
    return cls(response, body)


def _problem_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
