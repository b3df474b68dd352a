"""keepalived's signals, by the names `--signum` knows, and the set every process handles.

Exporters poll a director with these signals on every scrape (DATA and STATS, or JSON), so a
process that leaves one at its default action dies of a scrape. keepalived 2.2.7's names and
numbers (checked against `keepalived --signum=NAME`; names are case-sensitive there):
STOP 15, RELOAD 1, DATA 10 (SIGUSR1), STATS 12 (SIGUSR2), STATS_CLEAR 63 (SIGRTMAX - 1 on
Linux glibc), JSON 36 (SIGRTMIN + 2). Its parent sends DATA and RELOAD to every child but
STATS, STATS_CLEAR and JSON to the VRRP child only; every process still has a handler for
each of them, so a signal sent to a child's pid directly never kills it either.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

JSON = signal.SIGRTMIN + 2
STATS_CLEAR = signal.SIGRTMAX - 1

SIGFUNCS: dict[str, int] = {
    "STOP": signal.SIGTERM,
    "RELOAD": signal.SIGHUP,
    "DATA": signal.SIGUSR1,
    "STATS": signal.SIGUSR2,
    "STATS_CLEAR": STATS_CLEAR,
    "JSON": JSON,
}

DUMPS = (signal.SIGUSR1, signal.SIGUSR2, JSON, STATS_CLEAR)
VRRP_ONLY = frozenset({signal.SIGUSR2, JSON, STATS_CLEAR})  # the parent's forwarding rule
# SIGXCPU: keepalived logs it (a realtime child over its rlimit_rttime) instead of dying
HANDLED = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU, *DUMPS})


def signum(name: str) -> int | None:
    """`--signum=NAME`: keepalived's number, None for a name keepalived does not know."""
    n = SIGFUNCS.get(name)
    return int(n) if n is not None else None


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold (block) every handled signal in this thread for the block. A child forked and
    exec'd inside it inherits the mask, so a signal that reaches it while the interpreter
    starts waits for its handler instead of killing it (run_child unblocks them)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
