"""SSL_GET tls_compliant (keepalived 2.2.8): the checker ends its TLS session with close_notify.

The server sends the whole promised body, so the checker closes first; the server then
waits: with tls_compliant (on SSL_GET or on the url) a close_notify arrives; without it the
checker drops the connection as keepalived does by default, and the server sees a bare EOF.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkutil import HttpServer, Recorder, chk, one, run

from pykeepalived.check.pool import CheckerPool
from pykeepalived.config.model import Url


class ClosingServer(HttpServer):
    """Records, per connection, whether the client ended TLS with close_notify."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        super().__init__(tls=tls)
        self.clean: list[bool] = []

    def handle(self, c: socket.socket) -> None:
        assert self.tls is not None
        t = self.tls.wrap_socket(c, server_side=True, suppress_ragged_eofs=False)
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = t.recv(4096)
            if not chunk:
                return
            req += chunk
        self.requests.append(req)
        # the whole promised body: the checker closes first, without waiting for us
        t.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        try:
            self.clean.append(t.recv(1) == b"")  # b"": close_notify; a bare EOF raises
        except (OSError, ssl.SSLError):
            self.clean.append(False)


@pytest.fixture
def closing_server(cert: tuple[Path, Path]) -> Iterator[ClosingServer]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    s = ClosingServer(ctx)
    s.start()
    yield s
    s.stop()


def sessions(server: ClosingServer, **kw: object) -> list[bool]:
    urls = kw.pop("urls", (Url(path="/health"),))
    cfg = one(chk("SSL_GET", urls=urls, delay_loop=0.2, **kw), server.port)

    async def main() -> None:
        pool = CheckerPool(cfg, on_event=Recorder())
        await pool.start()
        for _ in range(40):  # bounded: 2 s
            if len(server.clean) >= 2:
                break
            await asyncio.sleep(0.05)
        await pool.stop()

    run(main())
    assert len(server.clean) >= 2, "the checker did not reach the TLS server twice"
    return server.clean


def test_default_drops_the_session_without_close_notify(closing_server: ClosingServer) -> None:
    assert not any(sessions(closing_server))


def test_tls_compliant_sends_close_notify(closing_server: ClosingServer) -> None:
    assert all(sessions(closing_server, tls_compliant=True))


def test_tls_compliant_on_the_url(closing_server: ClosingServer) -> None:
    assert all(sessions(closing_server, urls=(Url(path="/", tls_compliant=True),)))
