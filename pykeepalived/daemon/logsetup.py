"""Logging as keepalived does it: syslog idents per process, console with -l, detail with -D.

Repeated identical messages are rate-limited (one line, then a count), so a flood of bad
packets or a failing script cannot fill the disk.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import sys
import time

from pykeepalived.loglevels import ALERT, DETAIL, LOG_DAEMON, facility_code

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


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# (lowest level, syslog severity), highest first: keepalived's LOG_ALERT .. LOG_DEBUG
SEVERITIES = ((ALERT, 1), (logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
              (DETAIL, 6), (0, 7))
RECONNECT_EVERY = 1.0  # seconds between attempts while /dev/log is missing
SEND_WAIT = 0.05  # seconds a line may wait for room in syslogd's queue


def syslog_time(t: float) -> str:
    """syslog(3)'s "%h %e %T" in the C locale: 'Dec  5 21:10:31'."""
    tm = time.localtime(t)
    return f"{MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:" \
           f"{tm.tm_sec:02d}"


def syslog_datagram(facility: int, levelno: int, t: float, ident: str, pid: int,
                    msg: str) -> bytes:
    """What glibc's syslog(3) with LOG_PID sends: `<PRI>Mmm dd hh:mm:ss ident[pid]: msg`,
    no trailing NUL (Python's SysLogHandler appends one and sends no timestamp)."""
    pri = facility * 8 + next(sev for lo, sev in SEVERITIES if levelno >= lo)
    return f"<{pri}>{syslog_time(t)} {ident}[{pid}]: {msg}".encode("utf-8", "replace")


class Syslog(logging.Handler):
    """A datagram to /dev/log per record, as syslog(3): no syslog daemon means the line is
    dropped quietly (keepalived is silent then too) and the socket is retried about once a
    second, so a journald/rsyslog that starts later gets the lines from then on. Sends never
    block the event loop for long: a queue still full after SEND_WAIT drops the line
    (counted)."""

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
                self._send(s, data)
                return
            except BlockingIOError:  # syslogd stalled for SEND_WAIT: the line is lost
                self.dropped += 1
                return
            except OSError:
                self.sock = None
                s.close()
        self.dropped += 1

    @staticmethod
    def _send(s: socket.socket, data: bytes) -> None:
        """syslog(3) blocks while the receiver's queue is full (a burst of lines, a busy
        journald); we wait for it too, but at most SEND_WAIT, so a stalled syslogd cannot
        hold a VRRP advert back for long."""
        flags = socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL
        try:
            s.send(data, flags)
        except BlockingIOError:
            if not select.select([], [s], [], SEND_WAIT)[1]:
                raise
            s.send(data, flags)

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
    level = logging.DEBUG if detail else logging.INFO  # DETAIL lines need -D
    handlers: list[logging.Handler] = []
    if console:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(ConsoleFormatter())
        handlers.append(h)
    if syslog:
        fac = facility_code(facility)
        sh = Syslog(ident(role, namespace), LOG_DAEMON if fac is None else fac)
        sh.setFormatter(logging.Formatter("%(message)s"))
        handlers.append(sh)
    limiter = RateLimit()
    for h in handlers:
        h.addFilter(limiter)
    root = logging.getLogger("pykeepalived")
    root.handlers[:] = handlers
    root.setLevel(level)
    root.propagate = False
