import errno

import pytest

from adapter.fs.errors import translated_os_errors
from domain.errors import InsufficientStorageError, StorageError, StorageUnavailableError


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(errno.ENOSPC, InsufficientStorageError, id="ENOSPC"),
        pytest.param(errno.EDQUOT, InsufficientStorageError, id="EDQUOT"),
        pytest.param(errno.EFBIG, InsufficientStorageError, id="EFBIG"),
        pytest.param(errno.EIO, StorageUnavailableError, id="EIO"),
        pytest.param(errno.EROFS, StorageUnavailableError, id="EROFS"),
    ],
)
def test_os_errors_surface_as_the_matching_storage_error(
    code: int, expected: type[StorageError]
) -> None:
    original = OSError(code, "boom", "workspaces/secret-name")

    with pytest.raises(StorageError) as raised, translated_os_errors("write the attachment"):
        raise original

    assert type(raised.value) is expected
    assert raised.value.__cause__ is original
    assert raised.value.detail.startswith("could not write the attachment: ")
    assert "secret-name" not in raised.value.detail


def test_errors_other_than_os_errors_pass_through() -> None:
    with pytest.raises(KeyError), translated_os_errors("read the history"):
        raise KeyError("not an I/O error")
