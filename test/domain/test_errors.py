import pytest

from domain import errors
from domain.errors import (
    ChatFileNotFoundError,
    ChatHasActiveSandboxError,
    ChatNotFoundError,
    DomainError,
    DuplicateAttachmentNameError,
    FileTooLargeError,
    HistoryRevisionNotFoundError,
    HistoryTooLargeError,
    InsufficientStorageError,
    InvalidArchiveError,
    InvalidAttachmentNameError,
    InvalidCursorError,
    InvalidHistoryEncodingError,
    InvalidInputError,
    PreconditionFailedError,
    QuotaExceededError,
    RangeNotSatisfiableError,
    ReservedAttachmentNameError,
    SandboxAlreadyActiveError,
    SandboxSessionNotFoundError,
    StorageUnavailableError,
    WorkspaceNotFoundError,
)

# The rows of api.md's error table that the domain raises (the identity codes belong to the
# API edge).
CONTRACT_CODES: list[tuple[type[DomainError], str]] = [
    (WorkspaceNotFoundError, "workspace_not_found"),
    (ChatNotFoundError, "chat_not_found"),
    (ChatFileNotFoundError, "chat_file_not_found"),
    (SandboxSessionNotFoundError, "sandbox_session_not_found"),
    (HistoryRevisionNotFoundError, "history_revision_not_found"),
    (ChatHasActiveSandboxError, "chat_has_active_sandbox"),
    (SandboxAlreadyActiveError, "sandbox_already_active"),
    (PreconditionFailedError, "precondition_failed"),
    (FileTooLargeError, "file_too_large"),
    (HistoryTooLargeError, "history_too_large"),
    (RangeNotSatisfiableError, "range_not_satisfiable"),
    (InvalidAttachmentNameError, "invalid_attachment_name"),
    (ReservedAttachmentNameError, "reserved_attachment_name"),
    (DuplicateAttachmentNameError, "duplicate_attachment_name"),
    (InvalidHistoryEncodingError, "invalid_history_encoding"),
    (InvalidArchiveError, "invalid_archive"),
    (InvalidInputError, "validation_error"),
    (InvalidCursorError, "validation_error"),
    (StorageUnavailableError, "storage_unavailable"),
    (QuotaExceededError, "workspace_quota_exceeded"),
    (InsufficientStorageError, "insufficient_storage"),
]
CODE_TABLE = [pytest.param(cls, code, id=cls.__name__) for cls, code in CONTRACT_CODES]

DOMAIN_CODES_IN_CONTRACT = {code for _, code in CONTRACT_CODES}

# Bases that group errors for handlers; nothing raises them directly.
ABSTRACT_BASES = {
    DomainError,
    errors.NotFoundError,
    errors.ConflictError,
    errors.TooLargeError,
}


def raise_one(error_class: type[DomainError]) -> DomainError:
    if error_class is RangeNotSatisfiableError:
        return RangeNotSatisfiableError("nothing selected", 10)
    return error_class("what went wrong")


@pytest.mark.parametrize(("error_class", "code"), CODE_TABLE)
def test_error_carries_the_contract_code(error_class: type[DomainError], code: str) -> None:
    assert raise_one(error_class).code == code


@pytest.mark.parametrize(("error_class", "code"), CODE_TABLE)
def test_error_keeps_its_detail_for_humans(error_class: type[DomainError], code: str) -> None:
    error = raise_one(error_class)

    assert error.detail in {"what went wrong", "nothing selected"}
    assert str(error) == error.detail


def all_subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


def test_every_raisable_domain_error_has_a_code_from_the_contract() -> None:
    raisable = [cls for cls in all_subclasses(DomainError) if cls not in ABSTRACT_BASES]

    assert {cls.code for cls in raisable} <= DOMAIN_CODES_IN_CONTRACT
    assert set(raisable) == {cls for cls, _ in CONTRACT_CODES} | {errors.StorageError}


def test_range_error_carries_the_file_size_for_content_range() -> None:
    assert RangeNotSatisfiableError("nothing selected", 42).size_bytes == 42


def test_storage_errors_share_a_base_for_the_nothing_changed_answers() -> None:
    assert issubclass(StorageUnavailableError, errors.StorageError)
    assert issubclass(InsufficientStorageError, errors.StorageError)
