"""The probe interface every checker kind implements, and the shared socket plumbing.

A probe does one attempt and says ok or not; the retry/delay/state logic lives once in
pool.py so every checker kind gets keepalived's exact semantics for free. Probes use raw
non-blocking sockets with loop.sock_* calls where they can: at 10,000 checks a second the
transport/stream machinery of asyncio costs more CPU than the check itself.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from pykeepalived.check.results import CheckResult, fmt_addr, fmt_rs
from pykeepalived.config.model import Checker, GlobalDefs, RealServer, VirtualServer

SO_MARK = getattr(socket, "SO_MARK", 36)


@dataclass(slots=True)
class ProbeContext:
    """Everything a probe may read. Rebuilt on reload, so probes must not cache config."""

    checker: Checker
    rs: RealServer
    vs: VirtualServer
    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    track_files: Mapping[str, str] = field(default_factory=dict)  # track_file name -> path
    rng: random.Random = field(default_factory=random.Random)

    @property
    def rs_name(self) -> str:
        return fmt_rs(self.rs, self.vs)

    @property
    def vs_name(self) -> str:
        return self.vs.key

    def dest(self, default_port: int | None = None) -> tuple[str, int]:
        """connect_ip/connect_port, falling back to the real server's address and port."""
        ip = str(self.checker.connect_ip or self.rs.ip)
        port = self.checker.connect_port or self.rs.port or default_port or 0
        return ip, port

    def target(self, default_port: int | None = None, proto: str | None = None) -> str:
        ip, port = self.dest(default_port)
        return fmt_addr(ip, port, proto or self.vs.protocol)


class Probe:
    """One checker kind. Subclasses implement check() and the keepalived log wording."""

    kind: ClassVar[str] = ""
    log_attempts: ClassVar[bool] = False  # log each failed attempt while up (TCP/UDP/ICMP do)
    from_start: ClassVar[bool] = False  # next run counted from the start (MISC) or the end
    default_port: ClassVar[int | None] = None

    def __init__(self, ctx: ProbeContext) -> None:
        self.ctx = ctx

    async def check(self) -> CheckResult:
        raise NotImplementedError

    def close(self) -> None:
        """Release anything held between attempts (sockets, children)."""

    def refresh(self) -> None:
        """The context changed (reload): recompute anything cached from it."""

    def target(self) -> str:
        return self.ctx.target(self.default_port)

    def interval(self) -> float:
        """Seconds between checks when healthy (or known down)."""
        return self.ctx.checker.delay_loop

    def retries(self) -> int:
        """Failed attempts tolerated (each after delay_before_retry) before going down."""
        return max(0, self.ctx.checker.retry)

    # keepalived's words -------------------------------------------------------------
    def up_message(self, result: CheckResult) -> str | None:
        return None

    def down_message(self, result: CheckResult, retries: int) -> str:
        name = self.kind
        tail = f" after {retries} retries." if retries else "."
        return f"{name} on service {self.ctx.rs_name} failed{tail}"


def family_of(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def sockaddr(ip: str, port: int) -> tuple[str, int] | tuple[str, int, int, int]:
    return (ip, port, 0, 0) if ":" in ip else (ip, port)


def make_socket(ctx: ProbeContext, ip: str, kind: int = socket.SOCK_STREAM,
                proto: int = 0) -> socket.socket:
    """A non-blocking socket with bindto/bind_port/bind_if/fwmark applied."""
    ch = ctx.checker
    fam = family_of(ip)
    s = socket.socket(fam, kind | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, proto)
    try:
        if ch.fwmark:
            s.setsockopt(socket.SOL_SOCKET, SO_MARK, ch.fwmark)
        if ch.bind_if:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ch.bind_if.encode())
        if ch.bindto is not None or ch.bind_port:
            if ch.bind_port:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            bip = str(ch.bindto) if ch.bindto is not None else ("::" if fam == socket.AF_INET6
                                                                 else "0.0.0.0")
            s.bind(sockaddr(bip, ch.bind_port or 0))
    except BaseException:
        s.close()
        raise
    return s


async def tcp_connect(ctx: ProbeContext, default_port: int | None = None) -> socket.socket:
    """Connect within connect_timeout; raises TimeoutError or OSError. Caller closes."""
    ip, port = ctx.dest(default_port)
    s = make_socket(ctx, ip)
    try:
        async with asyncio.timeout(ctx.checker.connect_timeout):
            await asyncio.get_running_loop().sock_connect(s, sockaddr(ip, port))
    except BaseException:
        s.close()
        raise
    return s


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
