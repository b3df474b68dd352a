"""Logging as keepalived does it: syslog idents per process, console with -l, detail with -D.

Repeated identical messages are rate-limited (one line, then a count), so a flood of bad
packets or a failing script cannot fill the disk.
"""

from __future__ import annotations

import logging
import sys
import time
from logging.handlers import SysLogHandler

IDENTS = {"parent": "Keepalived", "vrrp": "Keepalived_vrrp",
          "checker": "Keepalived_healthcheckers"}


class RateLimit(logging.Filter):
    """Let the same message through at most `burst` times per `interval`, then count it."""

    def __init__(self, interval: float = 1.0, burst: int = 5, max_keys: int = 1024) -> None:
        super().__init__()
        self.interval = interval
        self.burst = burst
        self.max_keys = max_keys
        self.seen: dict[str, list[float | int]] = {}  # message -> [window start, passed, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.getMessage()}"
        now = time.monotonic()
        ent = self.seen.get(key)
        if ent is None or now - ent[0] >= self.interval:
            dropped = int(ent[2]) if ent else 0
            if dropped:
                record.msg = f"{record.getMessage()} (repeated {dropped} more times)"
                record.args = ()
            if len(self.seen) >= self.max_keys:
                self.seen.clear()
            self.seen[key] = [now, 1, 0]
            return True
        if ent[1] < self.burst:
            ent[1] += 1
            return True
        ent[2] += 1
        return False


def facility_code(name: str | int | None) -> int | None:
    """keepalived's -S: 0-7 (LOCALn), local0-7, user, daemon (the default); None if invalid.

    Names are case-sensitive, as keepalived's ('LOCAL7' is invalid there too)."""
    s = str(name if name is not None else "daemon")
    if s.isdigit():
        return SysLogHandler.LOG_LOCAL0 + int(s) if int(s) <= 7 else None
    if s.startswith("local") and s[5:].isdigit() and len(s) == 6 and int(s[5:]) <= 7:
        return SysLogHandler.LOG_LOCAL0 + int(s[5:])
    return {"user": SysLogHandler.LOG_USER, "daemon": SysLogHandler.LOG_DAEMON}.get(s)


def setup_logging(role: str, console: bool, detail: bool, facility: str | int | None = None,
                  syslog: bool = True) -> None:
    level = logging.DEBUG if detail else logging.INFO
    handlers: list[logging.Handler] = []
    if console:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s: %(message)s", "%a %b %d %H:%M:%S %Y"))
        handlers.append(h)
    if syslog:
        try:
            fac = facility_code(facility)
            s = SysLogHandler(address="/dev/log",
                              facility=SysLogHandler.LOG_DAEMON if fac is None else fac)
            s.setFormatter(logging.Formatter(f"{IDENTS.get(role, 'Keepalived')}"
                                             "[%(process)d]: %(message)s"))
            handlers.append(s)
        except OSError:
            pass  # no syslog daemon (containers, CI): console only
    limiter = RateLimit()
    for h in handlers:
        h.addFilter(limiter)
    root = logging.getLogger("pykeepalived")
    root.handlers[:] = handlers
    root.setLevel(level)
    root.propagate = False
