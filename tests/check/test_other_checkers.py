"""SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK and FILE_CHECK against real endpoints."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from checkutil import (
    DnsServer,
    Recorder,
    SmtpServer,
    UdpEcho,
    chk,
    closed_port,
    down,
    messages,
    one,
    run,
    up,
)

from pykeepalived.check.dns import build_query
from pykeepalived.check.pool import CheckerPool
from pykeepalived.check.results import RsChange
from pykeepalived.config.model import Config, TrackFile

TOL = 0.3


def flip(cfg: Config, stop: object, start: object, expect_down_within: float) -> None:
    """Start the pool, take the service down, expect down; bring it back, expect up."""
    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        loop = asyncio.get_running_loop()
        await pool.start()
        await asyncio.sleep(0.3)
        assert [e.alive for e in rec.rs()] == [True]
        t0 = loop.time()
        stop()  # type: ignore[operator]
        ev = await rec.wait(down, expect_down_within + 1.0)
        assert ev.at - t0 <= expect_down_within + TOL
        n = len(rec.events)
        start()  # type: ignore[operator]
        await rec.wait(up, 1.5, start=n)
        await pool.stop()

    run(main())


# --------------------------------------------------------------------------- SMTP
def test_smtp_banner_helo(smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    cfg = one(chk("SMTP_CHECK", helo_name="lb.example"), smtp_server.port)

    def bad() -> None:
        smtp_server.banner = b"554 go away\r\n"

    def good() -> None:
        smtp_server.banner = b"220-first line\r\n220 ready\r\n"

    flip(cfg, bad, good, 0.2)
    assert smtp_server.helos[0] == b"HELO lb.example\r\n"
    assert f"Remote SMTP server [127.0.0.1]:tcp:{smtp_server.port} succeed on service." \
        in messages(caplog)


def test_smtp_bad_helo_reply_and_stop(smtp_server: SmtpServer) -> None:
    cfg = one(chk("SMTP_CHECK"), smtp_server.port)

    def bad() -> None:
        smtp_server.helo_reply = b"500 what\r\n"

    def good() -> None:
        smtp_server.helo_reply = b"250 ok\r\n"

    flip(cfg, bad, good, 0.2)
    assert smtp_server.helos[0] == b"HELO smtpchecker.keepalived.org\r\n"
    flip(cfg, smtp_server.stop, smtp_server.start, 0.2)


# --------------------------------------------------------------------------- DNS
def test_dns_query_format() -> None:
    q = build_query(0x1234, "www.example.org", "A")
    assert q[:12] == bytes.fromhex("123401000001000000000000")
    assert q[12:] == b"\x03www\x07example\x03org\x00\x00\x01\x00\x01"
    assert build_query(1, ".", "SOA")[12:] == b"\x00\x00\x06\x00\x01"


def test_dns_rcode_and_silence(dns_server: DnsServer) -> None:
    dbr = 0.1
    cfg = one(chk("DNS_CHECK", dns_type="A", dns_name="rs.example", retry=3,
                  delay_before_retry=dbr, connect_timeout=0.2), dns_server.port)

    def servfail() -> None:
        dns_server.rcode = 2

    def ok() -> None:
        dns_server.rcode = 0

    flip(cfg, servfail, ok, 0.2 + 3 * dbr)
    q = dns_server.queries[0]
    assert q[12:] == b"\x02rs\x07example\x00\x00\x01\x00\x01"

    def silent() -> None:
        dns_server.silent = True

    def speak() -> None:
        dns_server.silent = False

    # each attempt now waits connect_timeout: 4 attempts
    flip(cfg, silent, speak, 0.2 + 3 * dbr + 4 * 0.2)


def test_dns_closed_port_icmp() -> None:
    cfg = one(chk("DNS_CHECK", retry=0), closed_port(socket.SOCK_DGRAM))

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        t0 = asyncio.get_running_loop().time()
        await pool.start()
        ev = await rec.wait(down, 1.0)
        assert ev.at - t0 < 0.2  # ICMP port unreachable: no need to wait for the timeout
        await pool.stop()

    run(main())


# --------------------------------------------------------------------------- UDP
def test_udp_icmp_unreachable_is_failure(udp_echo: UdpEcho,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    cfg = one(chk("UDP_CHECK", payload=b"ping", connect_timeout=0.2), udp_echo.port)
    flip(cfg, udp_echo.stop, udp_echo.start, 0.2 + 0.2)
    rs = f"[127.0.0.1]:tcp:{udp_echo.port}"
    assert f"UDP connection to {rs} failed." in messages(caplog)
    assert f"UDP_CHECK on service {rs} failed." in messages(caplog)
    assert f"UDP connection to {rs} success." in messages(caplog)


def test_udp_require_reply_pattern(udp_echo: UdpEcho) -> None:
    cfg = one(chk("UDP_CHECK", payload=bytes.fromhex("c0ffee01"), require_reply="c0ffXX01",
                  connect_timeout=0.2), udp_echo.port)

    def wrong() -> None:
        udp_echo.reply = bytes.fromhex("c0ffee02")

    def echo() -> None:
        udp_echo.reply = None

    flip(cfg, wrong, echo, 0.2 + 0.2)


def test_udp_reply_length_bounds(udp_echo: UdpEcho) -> None:
    cfg = one(chk("UDP_CHECK", payload=b"abcd", min_reply_length=2, max_reply_length=8,
                  connect_timeout=0.2), udp_echo.port)

    def long() -> None:
        udp_echo.reply = b"x" * 9

    def echo() -> None:
        udp_echo.reply = None

    flip(cfg, long, echo, 0.4)


# --------------------------------------------------------------------------- PING
def test_ping_loopback_v4_v6() -> None:
    v4 = one(chk("PING_CHECK", connect_timeout=0.5), None, ip="127.0.0.1")
    v6 = one(chk("PING_CHECK", connect_timeout=0.5), None, ip="::1")

    async def main(cfg: Config) -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.6)
        snap = pool.snapshot().virtual_servers[0].real_servers[0]
        assert snap.alive and snap.checkers[0].checks >= 2
        assert snap.checkers[0].failures == 0, snap.checkers[0].last_detail
        await pool.stop()

    if os.geteuid() != 0 and not _dgram_icmp_allowed():
        pytest.skip("needs root or ping_group_range")
    run(main(v4))
    if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):
        run(main(v6))


def _dgram_icmp_allowed() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).close()
        return True
    except OSError:
        return False


@pytest.fixture
def netns_peer() -> Iterator[tuple[str, str]]:
    """A veth peer in a namespace we made: 198.51.100.2 answers pings until its link drops."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2")
    tag = uuid.uuid4().hex[:6]
    ns, a, b = f"pykc-{tag}", f"pkca{tag}", f"pkcb{tag}"

    def ip(*args: str, check: bool = True) -> None:
        subprocess.run(["ip", *args], check=check, capture_output=True, timeout=10)

    try:
        ip("netns", "add", ns)
    except subprocess.CalledProcessError:
        pytest.skip("cannot create a network namespace here")
    try:
        ip("link", "add", a, "type", "veth", "peer", "name", b)
        ip("link", "set", b, "netns", ns)
        ip("addr", "add", "198.51.100.1/30", "dev", a)
        ip("link", "set", a, "up")
        ip("-n", ns, "addr", "add", "198.51.100.2/30", "dev", b)
        ip("-n", ns, "link", "set", b, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        yield ns, b
    finally:
        ip("link", "del", a, check=False)
        ip("netns", "del", ns, check=False)


@pytest.mark.netns
def test_ping_peer_in_netns_down_and_up(netns_peer: tuple[str, str]) -> None:
    ns, dev = netns_peer
    ct = 0.3
    cfg = one(chk("PING_CHECK", connect_timeout=ct, retry=1, delay_before_retry=0.1), None,
              ip="198.51.100.2")

    def link(state: str) -> None:
        subprocess.run(["ip", "-n", ns, "link", "set", dev, state], check=True, timeout=10)

    flip(cfg, lambda: link("down"), lambda: link("up"), 0.2 + 2 * ct + 0.1)


# --------------------------------------------------------------------------- FILE
def test_file_check_plain_and_weighted(tmp_path: Path) -> None:
    f = tmp_path / "state"
    f.write_text("0\n")
    tf = (TrackFile(name="maint", file=str(f)),)
    plain = one(chk("FILE_CHECK", track_file="maint"), 80)
    plain = Config(virtual_servers=plain.virtual_servers, track_files=tf)
    flip(plain, lambda: f.write_text("1\n"), lambda: f.write_text("0\n"), 0.2)

    weighted = one(chk("FILE_CHECK", track_file="maint", weight=-2), 80, weight=10)
    weighted = Config(virtual_servers=weighted.virtual_servers, track_files=tf)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(weighted, on_event=rec)
        await pool.start()
        f.write_text("3\n")  # 10 + 3 * -2
        await rec.wait(lambda e: isinstance(e, RsChange) and e.weight == 4, 1.0)
        f.write_text("200\n")  # -400 <= -254: fault
        await rec.wait(down, 1.0)
        n = len(rec.events)
        f.write_text("-1\n")
        ev = await rec.wait(up, 1.0, start=n)
        assert isinstance(ev, RsChange) and ev.weight == 12
        await pool.stop()

    run(main())
