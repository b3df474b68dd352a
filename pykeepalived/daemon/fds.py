"""What a forked process (a child, the config loader) closes of the parent's descriptors.

Its own module, light: the loader is forked before the parent imports asyncio, so it must not
import forked.py (asyncio) to get this.
"""

from __future__ import annotations

import os
from collections.abc import Iterable


def close_fds_except(keep: Iterable[int]) -> None:
    """Close every descriptor above 2 not in KEEP (what subprocess's close_fds does;
    os.closerange is one close_range(2) call on Linux)."""
    try:
        top = max(os.sysconf("SC_OPEN_MAX"), 1024)
    except (OSError, ValueError):
        top = 1 << 20
    lo = 3
    for fd in sorted({k for k in keep if k >= 3}):
        os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, top)
