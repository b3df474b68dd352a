"""Pidfiles and dump files, created safely as root: no symlink or pre-created-file attacks.

/tmp is world-writable, so a dump written there by root must never follow a link or reuse a
file someone else created: write a fresh O_EXCL|O_NOFOLLOW temp file in the same directory
and rename it over the target (rename replaces a planted link instead of writing through it).

No fsync: readers never see a partial file (the rename is atomic), and what is written here
(pidfiles, state files under /run, dumps) does not outlive a reboot anyway; keepalived does not
sync them either. An fsync on a disk-backed /tmp cost ~5-15 ms per file on the start path.
"""

from __future__ import annotations

import contextlib
import os


def write_atomic(path: str, data: str | bytes, mode: int = 0o600) -> None:
    d = os.path.dirname(os.path.abspath(path)) or "."
    tmp = os.path.join(d, f".{os.path.basename(path)}.{os.urandom(6).hex()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_pidfile(path: str, pid: int | None = None) -> None:
    write_atomic(path, f"{pid or os.getpid()}\n", 0o644)


def read_pidfile(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def remove_pidfile(path: str) -> None:
    if read_pidfile(path) == os.getpid():
        with contextlib.suppress(OSError):
            os.unlink(path)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
