"""The domain's error tree. Every error carries the stable code of the HTTP contract."""

from typing import ClassVar


class DomainError(Exception):
    """Base of every error a client can cause or observe; `code` is the contract's code."""

    code: ClassVar[str] = "domain_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    code = "not_found"


class WorkspaceNotFoundError(NotFoundError):
    code = "workspace_not_found"


class ChatNotFoundError(NotFoundError):
    code = "chat_not_found"


class ChatFileNotFoundError(NotFoundError):
    code = "chat_file_not_found"


class SandboxSessionNotFoundError(NotFoundError):
    code = "sandbox_session_not_found"


class HistoryRevisionNotFoundError(NotFoundError):
    code = "history_revision_not_found"


class ConflictError(DomainError):
    code = "conflict"


class ChatHasActiveSandboxError(ConflictError):
    code = "chat_has_active_sandbox"


class SandboxAlreadyActiveError(ConflictError):
    code = "sandbox_already_active"


class PreconditionFailedError(DomainError):
    code = "precondition_failed"


class TooLargeError(DomainError):
    code = "too_large"


class FileTooLargeError(TooLargeError):
    code = "file_too_large"


class HistoryTooLargeError(TooLargeError):
    code = "history_too_large"


class RangeNotSatisfiableError(DomainError):
    code = "range_not_satisfiable"

    def __init__(self, detail: str, size_bytes: int) -> None:
        super().__init__(detail)
        self.size_bytes = size_bytes


class InvalidInputError(DomainError):
    code = "validation_error"


class InvalidAttachmentNameError(InvalidInputError):
    code = "invalid_attachment_name"


class ReservedAttachmentNameError(InvalidAttachmentNameError):
    code = "reserved_attachment_name"


class DuplicateAttachmentNameError(InvalidInputError):
    code = "duplicate_attachment_name"


class InvalidHistoryEncodingError(InvalidInputError):
    code = "invalid_history_encoding"


class InvalidArchiveError(InvalidInputError):
    """An import body that is not an archive this service exported, or breaks its limits."""

    code = "invalid_archive"


class InvalidCursorError(InvalidInputError):
    """A paging cursor this service did not make (its code is validation_error)."""


class QuotaExceededError(DomainError):
    code = "workspace_quota_exceeded"


class StorageError(DomainError):
    """The disk failed in a way the client cannot fix; nothing was changed."""

    code = "storage_unavailable"


class StorageUnavailableError(StorageError):
    code = "storage_unavailable"


class InsufficientStorageError(StorageError):
    code = "insufficient_storage"
