"""keepalived 2.2.7's fixed parent log lines (start/stop banners, command line, CPU usage),
so what operators grep and alert on reads the same. The version in parentheses is ours where
keepalived has its build date: `Starting Keepalived v2.2.7 (pykeepalived 0.1.0)`."""

from __future__ import annotations

import os
import resource
import sys

from pykeepalived import __version__

KEEPALIVED_VERSION = "v2.2.7"
CMDLINE_WIDTH = 88  # keepalived wraps its "Command line:" after 88 characters of arguments
CMDLINE_PREFIX = "Command line: "


def banner(verb: str) -> str:
    """'Starting' / 'Stopped' Keepalived v2.2.7 (pykeepalived X)."""
    return f"{verb} Keepalived {KEEPALIVED_VERSION} (pykeepalived {__version__})"


def running_on() -> str:
    u = os.uname()
    return f"Running on {u.sysname} {u.release} {u.version} " \
           f"(Python {sys.version.split()[0]})"


def command_line(argv: list[str]) -> list[str]:
    """keepalived's `Command line: 'a' 'b' ...`, wrapped as it wraps it: the arguments are
    quoted and packed into lines of at most 88 characters, an argument longer than a line
    running on into the next; continuations indented under the first."""
    lines: list[str] = []
    cur = ""
    for a in argv:
        q = f"'{a}'"
        if cur and len(cur) + 1 + len(q) > CMDLINE_WIDTH:
            lines.append(cur)
            cur = ""
        cur = f"{cur} {q}" if cur else q
        while len(cur) > CMDLINE_WIDTH:
            lines.append(cur[:CMDLINE_WIDTH])
            cur = cur[CMDLINE_WIDTH:]
    lines.append(cur)
    pad = " " * len(CMDLINE_PREFIX)
    return [f"{CMDLINE_PREFIX}{lines[0]}", *(pad + x for x in lines[1:])]


def cpu_usage() -> str:
    """-D: the parent's last line before the stop banner."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (f"CPU usage (self/children) user: {s.ru_utime:.6f}/{c.ru_utime:.6f} "
            f"system: {s.ru_stime:.6f}/{c.ru_stime:.6f}")


def child_stopped(with_children: bool = False) -> str:
    """-D: a child's last line ("Stopped" without -D)."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    if not with_children:
        return f"Stopped - used {s.ru_utime:.6f} user time, {s.ru_stime:.6f} system time"
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (f"Stopped - used (self/children) {s.ru_utime:.6f}/{c.ru_utime:.6f} user time, "
            f"{s.ru_stime:.6f}/{c.ru_stime:.6f} system time")
