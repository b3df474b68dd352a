"""Real servers on loopback and small helpers for the checker tests.

Servers run in threads with blocking sockets, so they are independent of the event loop the
pool runs in (a stalled pool cannot make a server look dead, and vice versa). Every server
binds an ephemeral port once and rebinds the same port when it comes back up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pykeepalived.check.results import Event, QuorumChange, RsChange
from pykeepalived.config.model import Checker, Config, RealServer, VirtualServer


# --------------------------------------------------------------------------- helpers
def run(coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
    """Run one test coroutine with a hard time bound."""
    async def bounded() -> Any:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


@dataclass
class Recorder:
    """Collects pool events with their loop time; wait() finds the next matching one."""

    events: list[Event] = field(default_factory=list)
    _wake: asyncio.Event | None = None

    def __call__(self, ev: Event) -> None:
        self.events.append(ev)
        if self._wake is not None:
            self._wake.set()

    def rs(self) -> list[RsChange]:
        return [e for e in self.events if isinstance(e, RsChange)]

    def quorum(self) -> list[QuorumChange]:
        return [e for e in self.events if isinstance(e, QuorumChange)]

    async def wait(self, pred: Callable[[Event], bool], timeout: float, start: int = 0
                   ) -> Event:
        """First event from index `start` matching pred; TimeoutError after `timeout` s."""
        if self._wake is None:
            self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        i = start
        while True:
            while i < len(self.events):
                if pred(self.events[i]):
                    return self.events[i]
                i += 1
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no matching event within {timeout}s; got {self.events}")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._wake.wait()


def down(ev: Event) -> bool:
    return isinstance(ev, RsChange) and not ev.alive and not ev.initial


def up(ev: Event) -> bool:
    return isinstance(ev, RsChange) and ev.alive and not ev.initial


class _Thread:
    """Base: a listening socket served by a daemon thread; start()/stop() toggle it."""

    kind = socket.SOCK_STREAM

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.port = 0
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None
        self.running = False
        self.hits = 0
        self.peers: list[Any] = []

    def _bind(self) -> socket.socket:
        s = socket.socket(self.family, self.kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        self.port = s.getsockname()[1]
        return s

    def start(self) -> None:
        assert not self.running
        s = self._bind()
        if self.kind == socket.SOCK_STREAM:
            s.listen(64)
        s.settimeout(0.05)
        self.sock = s
        self.running = True
        self.thread = threading.Thread(target=self._serve, args=(s,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        assert self.thread is not None and self.sock is not None
        self.thread.join(5)
        self.sock.close()
        self.sock = None

    def _serve(self, s: socket.socket) -> None:
        while self.running:
            try:
                if self.kind == socket.SOCK_STREAM:
                    c, peer = s.accept()
                    self.peers.append(peer)
                else:
                    data, peer = s.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.hits += 1
            try:
                if self.kind == socket.SOCK_STREAM:
                    c.settimeout(5)
                    with c:
                        self.handle(c)
                else:
                    self.handle_dgram(s, data, peer)
            except OSError:
                pass

    def handle(self, c: socket.socket) -> None:
        pass

    def handle_dgram(self, s: socket.socket, data: bytes, peer: Any) -> None:
        pass


class TcpServer(_Thread):
    """Accepts and closes."""


class HttpServer(_Thread):
    """HTTP/1.0: answers any GET with `status` and `body` after `delay` seconds."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        super().__init__(host)
        self.status = 200
        self.body = b"hello pykeepalived\n"
        self.delay = 0.0
        self.tls = tls
        self.requests: list[bytes] = []
        self.content_length = True
        self.trailer = b""  # sent after the body, beyond Content-Length

    def handle(self, c: socket.socket) -> None:
        if self.tls is not None:
            c = self.tls.wrap_socket(c, server_side=True)
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = c.recv(4096)
            if not chunk:
                return
            req += chunk
        self.requests.append(req)
        if self.delay:
            time.sleep(self.delay)
        head = f"HTTP/1.0 {self.status} X\r\nServer: test\r\n"
        if self.content_length:
            head += f"Content-Length: {len(self.body)}\r\n"
        c.sendall(head.encode() + b"\r\n" + self.body + self.trailer)
        if self.tls is not None:
            with contextlib.suppress(OSError, ValueError):
                c.unwrap()


class SmtpServer(_Thread):
    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.banner = b"220 test.example ESMTP\r\n"
        self.helo_reply = b"250 test.example\r\n"
        self.helos: list[bytes] = []

    def handle(self, c: socket.socket) -> None:
        c.sendall(self.banner)
        f = c.makefile("rb")
        line = f.readline()
        self.helos.append(line)
        c.sendall(self.helo_reply)
        if f.readline().upper().startswith(b"QUIT"):
            c.sendall(b"221 bye\r\n")


class DnsServer(_Thread):
    """Answers every query with the same id; `rcode` and `silent` select failures."""

    kind = socket.SOCK_DGRAM

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.rcode = 0
        self.silent = False
        self.queries: list[bytes] = []

    def handle_dgram(self, s: socket.socket, data: bytes, peer: Any) -> None:
        self.queries.append(data)
        if self.silent or len(data) < 12:
            return
        qid = struct.unpack_from("!H", data)[0]
        hdr = struct.pack("!HHHHHH", qid, 0x8180 | self.rcode, 1, 0, 0, 0)
        s.sendto(hdr + data[12:], peer)


class UdpEcho(_Thread):
    kind = socket.SOCK_DGRAM

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.reply: bytes | None = None  # None: echo

    def handle_dgram(self, s: socket.socket, data: bytes, peer: Any) -> None:
        s.sendto(self.reply if self.reply is not None else data, peer)


class HungServer:
    """A listener whose accept queue is full and never drained: SYNs go unanswered."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(2):
            f = socket.socket()
            f.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                f.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(f)
        time.sleep(0.05)

    def close(self) -> None:
        for f in self.fillers:
            f.close()
        self.sock.close()


def closed_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on (bound then released)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


# --------------------------------------------------------------------------- model builders
VS_IP = ipaddress.ip_address("192.0.2.100")


def chk(kind: str = "TCP_CHECK", **kw: Any) -> Checker:
    """A checker with fast test timings; warmup 0 so the first check is immediate."""
    base: dict[str, Any] = {"delay_loop": 0.2, "connect_timeout": 0.5, "retry": 0,
                            "delay_before_retry": 0.1, "warmup": 0.0}
    base.update(kw)
    return Checker(kind=kind, **base)


def rserver(port: int | None, *checkers: Checker, ip: str = "127.0.0.1", **kw: Any
            ) -> RealServer:
    return RealServer(ip=ipaddress.ip_address(ip), port=port, checkers=checkers, **kw)


def vserver(*rss: RealServer, **kw: Any) -> VirtualServer:
    base: dict[str, Any] = {"ip": VS_IP, "port": 80, "protocol": "TCP", "delay_loop": 0.2}
    base.update(kw)
    return VirtualServer(real_servers=rss, **base)


def config(*vss: VirtualServer, **kw: Any) -> Config:
    return Config(virtual_servers=vss, **kw)


def one(checker: Checker, port: int | None, **rs_kw: Any) -> Config:
    return config(vserver(rserver(port, checker, **rs_kw)))


def messages(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("pykeepalived.check")]
