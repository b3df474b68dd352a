"""Logging as keepalived does it: syslog idents per process, console with -l, detail with -D.

Repeated identical messages are rate-limited (one line, then a count), so a flood of bad
packets or a failing script cannot fill the disk.
"""

from __future__ import annotations

import logging
import os
import socket
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


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SEVERITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
            logging.CRITICAL: 2}
RECONNECT_EVERY = 1.0  # seconds between attempts while /dev/log is missing


def syslog_time(t: float) -> str:
    """syslog(3)'s "%h %e %T" in the C locale: 'Dec  5 21:10:31'."""
    tm = time.localtime(t)
    return f"{MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:" \
           f"{tm.tm_sec:02d}"


def syslog_datagram(facility: int, levelno: int, t: float, ident: str, pid: int,
                    msg: str) -> bytes:
    """What glibc's syslog(3) with LOG_PID sends: `<PRI>Mmm dd hh:mm:ss ident[pid]: msg`,
    no trailing NUL (Python's SysLogHandler appends one and sends no timestamp)."""
    pri = facility * 8 + SEVERITY.get(levelno, 6 if levelno < logging.WARNING else 3)
    return f"<{pri}>{syslog_time(t)} {ident}[{pid}]: {msg}".encode("utf-8", "replace")


class Syslog(logging.Handler):
    """A datagram to /dev/log per record, as syslog(3): no syslog daemon means the line is
    dropped quietly (keepalived is silent then too) and the socket is retried about once a
    second, so a journald/rsyslog that starts later gets the lines from then on. Sends never
    block the event loop: a full socket buffer drops the line (counted)."""

    def __init__(self, ident: str, facility: int, address: str = "/dev/log") -> None:
        super().__init__()
        self.ident = ident
        self.facility = facility
        self.address = address
        self.sock: socket.socket | None = None
        self.next_try = 0.0
        self.dropped = 0

    def _connect(self) -> socket.socket | None:
        now = time.monotonic()
        if now < self.next_try:
            return None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            s.connect(self.address)
        except OSError:
            s.close()
            self.next_try = now + RECONNECT_EVERY
            return None
        self.sock = s
        return s

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = syslog_datagram(self.facility, record.levelno, record.created, self.ident,
                                   record.process or os.getpid(), self.format(record))
        except Exception:  # a bad format argument: the logging module's own report
            self.handleError(record)
            return
        for _ in range(2):  # once more on a fresh socket if syslogd restarted
            s = self.sock or self._connect()
            if s is None:
                self.dropped += 1
                return
            try:
                s.send(data, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
                return
            except BlockingIOError:
                self.dropped += 1
                return
            except OSError:
                self.sock = None
                s.close()
        self.dropped += 1

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        super().close()


class ConsoleFormatter(logging.Formatter):
    """keepalived's -l lines: 'Sat Dec  5 21:10:08 2026: msg' (ctime without the newline)."""

    def format(self, record: logging.LogRecord) -> str:
        tm = time.localtime(record.created)
        return (f"{DAYS[tm.tm_wday]} {MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} "
                f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {tm.tm_year}: "
                f"{record.getMessage()}")


def ident(role: str, namespace: str | None = None) -> str:
    """keepalived's syslog idents; with -s NAME it appends _NAME (Keepalived_vrrp_NAME)."""
    base = IDENTS.get(role, "Keepalived")
    return f"{base}_{namespace}" if namespace else base


def setup_logging(role: str, console: bool, detail: bool, facility: str | int | None = None,
                  syslog: bool = True, namespace: str | None = None) -> None:
    level = logging.DEBUG if detail else logging.INFO
    handlers: list[logging.Handler] = []
    if console:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(ConsoleFormatter())
        handlers.append(h)
    if syslog:
        fac = facility_code(facility)
        sh = Syslog(ident(role, namespace), SysLogHandler.LOG_DAEMON if fac is None else fac)
        sh.setFormatter(logging.Formatter("%(message)s"))
        handlers.append(sh)
    limiter = RateLimit()
    for h in handlers:
        h.addFilter(limiter)
    root = logging.getLogger("pykeepalived")
    root.handlers[:] = handlers
    root.setLevel(level)
    root.propagate = False
