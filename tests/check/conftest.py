"""Fixtures: real servers on loopback (see checkutil.py), each stopped at teardown."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkutil import DnsServer, HttpServer, HungServer, SmtpServer, TcpServer, UdpEcho


@pytest.fixture
def tcp_server() -> Iterator[TcpServer]:
    s = TcpServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    s = HttpServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate made with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(crt), "-days", "2", "-subj", "/CN=rs.example"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


@pytest.fixture
def https_server(cert: tuple[Path, Path]) -> Iterator[HttpServer]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    sni: list[str | None] = []
    ctx.sni_callback = lambda sock, name, c: sni.append(name)  # type: ignore[assignment,misc]
    s = HttpServer(tls=ctx)
    s.sni = sni  # type: ignore[attr-defined]
    s.start()
    yield s
    s.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    s = SmtpServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    s = DnsServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def udp_echo() -> Iterator[UdpEcho]:
    s = UdpEcho()
    s.start()
    yield s
    s.stop()


@pytest.fixture
def hung_server() -> Iterator[HungServer]:
    s = HungServer()
    yield s
    s.close()


