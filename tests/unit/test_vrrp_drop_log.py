"""A flood of bad adverts logs one line per drop reason per second, then the count of the
lines it held back (the receive path's rate limit), while every packet is counted; a bound
LoopClock reads the loop's own clock."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from helpers.engine import engine_rt
from test_vrrp_engine_injected import FakeClock

from pykeepalived.vrrp import codec
from pykeepalived.vrrp.effectors import LoopClock
from pykeepalived.vrrp.sockets import RxPacket


def wrong_auth_packet() -> RxPacket:
    msg = codec.encode_advert(version=2, vrid=51, priority=100, adver_int=1,
                              addresses=[IPv4Address("192.0.2.100")],
                              auth_type=codec.AuthType.PASS, auth_data="wrong",
                              src="192.0.2.99", dst="224.0.0.18")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(msg), 0, 0, 255, 112, 0,
                     socket.inet_aton("192.0.2.99"), socket.inet_aton("224.0.0.18"))
    return RxPacket(4, ip + msg)


def test_drop_log_rate_limited(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(100.0, 1e9)
    eng, rt = engine_rt(tmp_path, clock=clock)
    pkt = wrong_auth_packet()
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            eng._on_packet(rt, pkt)
        clock.now = 100.5
        eng._on_packet(rt, pkt)
        clock.now = 101.0
        eng._on_packet(rt, pkt)
    lines = [r.getMessage() for r in caplog.records if "passwd" in r.getMessage()]
    assert lines == ["(VI_1) received an invalid passwd!",
                     "(VI_1) received an invalid passwd! (3 more suppressed)"]
    assert rt.counters["drop_auth_failure"] == 5
    assert rt.counters["auth_failure"] == 5
    assert rt.counters["advert_rcvd"] == 0


def test_loop_clock_binds_to_the_loop() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        c = LoopClock()
        t0 = loop.time()
        assert t0 <= c.time() <= loop.time()  # unbound: the running loop
        c.loop = loop
        assert c.loop is loop
        assert t0 <= c.time() <= loop.time()
        c.loop = None
        assert c.loop is None
        assert t0 <= c.time() <= loop.time()

    asyncio.run(main())
