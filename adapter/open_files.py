"""The process's limit on open descriptors (ADR 0023)."""

import logging
import resource

# What the soft limit is raised to when the hard one is unlimited (Linux refuses
# RLIM_INFINITY for RLIMIT_NOFILE): systemd's default hard limit.
_UNLIMITED_TARGET = 524_288

_log = logging.getLogger(__name__)


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; return the soft limit in force.

    An export holds one descriptor per attachment of the chat it is streaming (each opened
    under the chat's lock, so that the chat goes out as one state), and downloads hold one
    each. The usual soft limit, 1024, is kept low for programs that use select(), which
    cannot watch a descriptor above 1023; this one waits on epoll, so it takes what the
    hard limit allows, as systemd's documentation advises such programs to do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as error:
            _log.warning("could not raise the open files limit from %d: %s", soft, error)
            return soft
        return target
    return soft
