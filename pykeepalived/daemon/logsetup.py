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
    """Let a message through at most once per `interval`; then say how many were dropped."""

    def __init__(self, interval: float = 1.0, max_keys: int = 1024) -> None:
        super().__init__()
        self.interval = interval
        self.max_keys = max_keys
        self.seen: dict[str, tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.msg}"
        now = time.monotonic()
        last = self.seen.get(key)
        if last is None or now - last[0] >= self.interval:
            if last is not None and last[1]:
                record.msg = f"{record.msg} (repeated {last[1]} more times)"
            if len(self.seen) >= self.max_keys:
                self.seen.clear()
            self.seen[key] = (now, 0)
            return True
        self.seen[key] = (last[0], last[1] + 1)
        return False


def setup_logging(role: str, console: bool, detail: bool, facility: int = 0,
                  syslog: bool = True) -> None:
    level = logging.DEBUG if detail else logging.INFO
    handlers: list[logging.Handler] = []
    if console:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(asctime)s: %(message)s", "%a %b %d %H:%M:%S %Y"))
        handlers.append(h)
    if syslog:
        try:
            fac = SysLogHandler.LOG_DAEMON if not facility else SysLogHandler.LOG_LOCAL0 + facility
            s = SysLogHandler(address="/dev/log", facility=fac)
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
