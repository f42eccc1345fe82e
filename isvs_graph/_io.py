"""Files written whole or not at all: one atomic writer, and the clean-up of what a
killed writer left behind.

A writer fills a temporary file in the target's folder, flushes it to disk and renames
it over the target, so a reader sees the old file or the new one, never half of one.
The temporary name carries the host and the pid, so that :func:`remove_orphans` deletes
only files whose writer is gone from this host (on a shared filesystem a live writer on
another host is left alone). The file gets the permissions ``open`` would give it: the
user's umask for a new file, the old file's mode when one is replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket
import stat
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["atomic_write", "remove_orphans"]

_MARK = ".isvs-tmp-"


def _host() -> str:
    return "".join(c if c.isalnum() else "_" for c in socket.gethostname()[:40]) or "host"


@contextlib.contextmanager
def atomic_write(file: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open ``file`` for writing in binary, atomically: the body writes to a handle, and
    only when it ends without an exception does the file appear (flushed to disk).

    An ``OSError`` of the writer's own (a missing folder, a folder at ``file``, no
    permission) names ``file``, not the temporary file; a folder at ``file`` is refused
    before the body runs."""
    file = os.fspath(file)
    if os.path.isdir(file):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", file)
    folder, name = os.path.split(os.path.abspath(file))
    temporary = os.path.join(  # (a long name cut: any name open() takes gets a temporary)
        folder, f".{name[:128]}{_MARK}{_host()}-{os.getpid()}-{secrets.token_hex(4)}")
    # os.open applies the umask, as open() does; mkstemp would make it 0600.
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _naming(error, file) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(file).st_mode))
        try:
            os.replace(temporary, file)
        except OSError as error:
            raise _naming(error, file) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _naming(error: OSError, file: str) -> OSError:
    """``error`` again (its type and errno), naming ``file``."""
    return type(error)(error.errno, error.strerror, file)


def remove_orphans(folder: str | os.PathLike) -> int:
    """Delete the temporary files that writers on this host left when they were killed
    (their pid is gone). Returns how many were deleted."""
    host, removed = _host(), 0
    for entry in os.scandir(folder):
        _, mark, tail = entry.name.partition(_MARK)
        parts = tail.split("-")  # host (no dashes), pid, random token
        if not mark or len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        try:
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
        except PermissionError:
            pass  # alive, another user's
    return removed
