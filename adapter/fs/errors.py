import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from domain.errors import InsufficientStorageError, StorageError, StorageUnavailableError

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def os_error_reason(error: OSError) -> str:
    """What went wrong, without the file names an OSError carries."""
    return os.strerror(error.errno) if error.errno is not None else type(error).__name__


def storage_error(error: OSError, action: str) -> StorageError:
    """The domain error that `error`, met while trying to `action`, surfaces as."""
    detail = f"could not {action}: {os_error_reason(error)}"
    if error.errno in FULL_ERRNOS:
        return InsufficientStorageError(detail)
    return StorageUnavailableError(detail)


@contextmanager
def translated_os_errors(action: str) -> Iterator[None]:
    """Re-raise any OSError of the block as the domain's storage error."""
    try:
        yield
    except OSError as error:
        raise storage_error(error, action) from error
