"""Where Lark may keep its parser cache: only beside our own bytecode, and only when that place
is as trusted as the code itself.

A Lark cache is a pickle, loaded before any check: run as root, a cache another user could
write is code execution (research/deps.md; Lark's own cache=True uses a predictable /tmp name).
The package's `__pycache__` is where Python already loads our compiled code from, so a cache
there adds no trust; it is still used only if the directory and the file are regular, owned by
root or by us, and writable by nobody else. Building the parser without it costs ~11 ms of a
`-t` run, loading it ~1 ms.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys


def _safe(st: os.stat_result, kind: int) -> bool:
    return (stat.S_IFMT(st.st_mode) == kind and st.st_uid in (0, os.geteuid())
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def cache_path(pkg_dir: str, grammar: str, lark_version: str) -> str | None:
    """The cache file to pass as Lark's ``cache=``, or None to build without one.

    None when the directory (or an existing file) fails the ownership/mode test, or when there
    is no file yet and bytecode writing is off (PYTHONDONTWRITEBYTECODE / -B): Lark would
    create one, and we only read what a trusted writer left."""
    d = os.path.join(pkg_dir, "__pycache__")
    h = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    tag = sys.implementation.cache_tag or "py"
    path = os.path.join(d, f"keepalived-lark-{lark_version}-{tag}-{h}.pickle")
    try:
        if not (_safe(os.lstat(pkg_dir), stat.S_IFDIR) and _safe(os.lstat(d), stat.S_IFDIR)):
            return None
    except OSError:
        return None
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None if sys.dont_write_bytecode or not os.access(d, os.W_OK) else path
    except OSError:
        return None
    return path if _safe(st, stat.S_IFREG) else None
