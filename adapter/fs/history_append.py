"""Blocking steps of an append to `history.md` (ADR 0021): the appended bytes are copied
by the kernel onto the end of the history in place, then fsynced once for the batch; only
when the history reads as empty (a sandbox removed it or planted something under its name),
or is a hard link a sandbox made to another file, is a whole new history built in staging
and renamed in, as a PUT does.

Readers through the API never see part of an append: the use case opens a history whose
stat key it does not know under the chat's lock, which the append holds. A crash in the
middle leaves the chat marked with the append's note, and settling cuts the history back
to where the append began unless the whole append landed (`settle`).
"""

import errno
import os
import stat
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from adapter.fs.commit import commit_one
from adapter.fs.digest import HashState, pread_chunks, sha256_state_up_to
from adapter.fs.dirs import MISSING_ERRNOS, READ_FLAGS, open_regular_status
from adapter.fs.fsync import fsync
from adapter.fs.layout import FILE_MODE
from adapter.fs.staging import new_token
from domain.attachment_name import HISTORY_FILE_NAME
from domain.errors import StorageUnavailableError

_WRITE_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# Errors after which copy_file_range is given up for a plain read and write.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


def append_in_place(
    chat_fd: int,
    staging_fd: int,
    base_size: int,
    tokens: Sequence[str],
    before: Callable[[os.stat_result], None],
) -> os.stat_result | None:
    """Copy the staged files `tokens` onto the end of the history, which must be a regular
    file of `base_size` bytes with no other name (a hard link a sandbox made to an
    attachment is never written through), and fsync it; `before` is shown its status
    first. Returns its status after, or None (nothing written) when the history must be
    rebuilt instead: it is missing or not a regular file and `base_size` is 0, or it is
    linked elsewhere. Raises StorageUnavailableError, nothing written, when it is anything
    else (a sandbox changed it since it was read), or when fewer bytes landed than staged."""
    try:
        fd = os.open(HISTORY_FILE_NAME, _WRITE_FLAGS, dir_fd=chat_fd)
    except OSError as error:
        if error.errno in MISSING_ERRNOS and base_size == 0:
            return None
        if error.errno in MISSING_ERRNOS:
            raise _changed() from error
        raise
    try:
        status = os.fstat(fd)
        regular = stat.S_ISREG(status.st_mode)
        if regular and status.st_size == base_size and status.st_nlink > 1:
            return None
        if not regular and base_size == 0:
            return None
        if not regular or status.st_size != base_size:
            raise _changed()
        before(status)
        _append_all(fd, staging_fd, base_size, tokens)
        return os.fstat(fd)
    finally:
        os.close(fd)


def _append_all(fd: int, staging_fd: int, base_size: int, tokens: Sequence[str]) -> None:
    try:
        offset = base_size
        for token in tokens:
            offset += copy_staged(staging_fd, token, fd, offset)
        fsync(fd)
    except BaseException:
        # What landed past base_size is an append that failed: cut it off again.
        os.ftruncate(fd, base_size)
        raise


def _changed() -> StorageUnavailableError:
    return StorageUnavailableError("the history changed on disk while it was appended to")


def rebuild(chat_fd: int, staging_fd: int, base_size: int, tokens: Sequence[str]) -> None:
    """Make the history the first `base_size` bytes of what stands under its name (nothing
    when that is not a regular file) followed by the staged files, through a new staged
    file renamed over it, fsynced."""
    token = new_token()
    fd = os.open(
        token, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE, dir_fd=staging_fd
    )
    try:
        offset = _copy_current_prefix(chat_fd, fd, base_size)
        for staged in tokens:
            offset += copy_staged(staging_fd, staged, fd, offset)
        fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(token, dir_fd=staging_fd)
        raise
    os.close(fd)
    commit_one(chat_fd, staging_fd, HISTORY_FILE_NAME, token)


def _copy_current_prefix(chat_fd: int, target_fd: int, base_size: int) -> int:
    if base_size == 0:
        return 0
    with ExitStack() as stack:
        opened = open_regular_status(stack, chat_fd, HISTORY_FILE_NAME)
        if opened is None or copy_range(opened[0], 0, target_fd, 0, base_size) != base_size:
            raise _changed()
    return base_size


def copy_staged(staging_fd: int, token: str, target_fd: int, offset: int) -> int:
    """Copy the whole staged file `token` to `target_fd` at `offset`; returns its size.
    Fewer bytes copied than it holds is a StorageUnavailableError."""
    source = os.open(token, READ_FLAGS, dir_fd=staging_fd)
    try:
        size = os.fstat(source).st_size
        if copy_range(source, 0, target_fd, offset, size) != size:
            raise StorageUnavailableError("fewer bytes reached the history than were appended")
    finally:
        os.close(source)
    return size


def copy_range(source: int, start: int, target: int, offset: int, length: int) -> int:
    """Copy `length` bytes (fewer if the source ends first) by the kernel where it can,
    never through more than one chunk of memory where it cannot. Returns the count."""
    copied = 0
    while copied < length:
        try:
            done = os.copy_file_range(
                source, target, length - copied, start + copied, offset + copied
            )
        except OSError as error:
            if error.errno not in _NO_KERNEL_COPY:
                raise
            return copied + _copy_by_reads(
                source, start + copied, target, offset + copied, length - copied
            )
        if done == 0:
            break
        copied += done
    return copied


def _copy_by_reads(source: int, start: int, target: int, offset: int, length: int) -> int:
    copied = 0
    for data in pread_chunks(source, start, start + length):
        os.pwrite(target, data, offset + copied)
        copied += len(data)
    return copied


def hash_staged(staging_fd: int, token: str, state: HashState) -> int:
    """Feed the staged file's bytes to the hash `state`; returns how many there were."""
    source = os.open(token, READ_FLAGS, dir_fd=staging_fd)
    count = 0
    try:
        for data in pread_chunks(source, 0, os.fstat(source).st_size):
            state.update(data)
            count += len(data)
    finally:
        os.close(source)
    return count


def settle(chat_fd: int, from_size: int, to_size: int, to_sha256: str) -> None:
    """After a crash in an append from `from_size` to `to_size` bytes: keep the history if
    the whole append landed (its size and sha256), else cut it back to `from_size`. A
    history shorter than `from_size`, or not a regular file, is not this append's doing
    and is left for settling to take as found."""
    try:
        fd = os.open(
            HISTORY_FILE_NAME,
            os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
            dir_fd=chat_fd,
        )
    except OSError as error:
        if error.errno in MISSING_ERRNOS:
            return
        raise
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_nlink > 1 or status.st_size < from_size:
            return
        if status.st_size == to_size:
            state, _ = sha256_state_up_to(fd, to_size)
            if state.hexdigest() == to_sha256:
                return
        os.ftruncate(fd, from_size)
        fsync(fd)
    finally:
        os.close(fd)
