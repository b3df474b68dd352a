"""PING_CHECK: one ICMP/ICMPv6 echo, answered within connect_timeout.

An unprivileged ICMP datagram socket is tried first (the kernel matches replies to the
socket, cheap at scale); when ping_group_range forbids it we fall back to a raw socket,
which needs root and sees every echo reply, so replies are matched by identifier and sequence.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct

from pykeepalived.check.base import Probe, family_of, make_socket, sockaddr
from pykeepalived.check.results import CheckResult

_seq = itertools.count(1)
_dgram_ok: dict[int, bool] = {}  # family -> may we use SOCK_DGRAM ICMP sockets?


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def echo_request(v6: bool, ident: int, seq: int, payload: bytes) -> bytes:
    typ = 128 if v6 else 8
    hdr = struct.pack("!BBHHH", typ, 0, 0, ident, seq)
    if v6:
        return hdr + payload  # the kernel fills the ICMPv6 checksum on raw and dgram sockets
    return struct.pack("!BBHHH", typ, 0, checksum(hdr + payload), ident, seq) + payload


def parse_reply(data: bytes, v6: bool, raw: bool) -> tuple[int, int, int] | None:
    """(type, id, seq) of an ICMP message; raw IPv4 sockets include the IP header."""
    if raw and not v6 and data and data[0] >> 4 == 4:
        data = data[(data[0] & 0x0F) * 4:]
    if len(data) < 8:
        return None
    typ, _code, _ck, ident, seq = struct.unpack_from("!BBHHH", data)
    return typ, ident, seq


def open_icmp(ctx_ip: str) -> tuple[socket.socket, bool]:
    fam = family_of(ctx_ip)
    proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
    if _dgram_ok.get(fam, True):
        try:
            s = socket.socket(fam, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                              | socket.SOCK_CLOEXEC, proto)
            _dgram_ok[fam] = True
            return s, False
        except PermissionError:
            _dgram_ok[fam] = False
    s = socket.socket(fam, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, proto)
    return s, True


class PingProbe(Probe):
    kind = "PING_CHECK"
    log_attempts = True

    async def check(self) -> CheckResult:
        ctx = self.ctx
        ip = str(ctx.checker.connect_ip or ctx.rs.ip)
        v6 = family_of(ip) == socket.AF_INET6
        who = f"[{ip}]"
        loop = asyncio.get_running_loop()
        try:
            s, raw = open_icmp(ip)
        except OSError as e:
            return CheckResult(False, f"ICMP connect fail to create socket: {e.strerror}")
        try:
            if ctx.checker.bindto is not None or ctx.checker.fwmark or ctx.checker.bind_if:
                s.close()
                s = make_socket(ctx, ip, socket.SOCK_RAW if raw else socket.SOCK_DGRAM,
                                socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
            ident = os.getpid() & 0xFFFF
            seq = next(_seq) & 0xFFFF
            payload = b"pykeepalived" + struct.pack("!d", loop.time())
            async with asyncio.timeout(ctx.checker.connect_timeout):
                s.connect(sockaddr(ip, 0))  # immediate for ICMP; loop.sock_connect can't
                await loop.sock_sendall(s, echo_request(v6, ident, seq, payload))
                for _ in range(1000):
                    data = await loop.sock_recv(s, 2048)
                    rep = parse_reply(data, v6, raw)
                    if rep is None:
                        continue
                    typ, rid, rseq = rep
                    if typ == (129 if v6 else 0) and rseq == seq and (not raw or rid == ident):
                        return CheckResult(True)
            return CheckResult(False, f"ICMP connection to {who} of {ctx.vs_name} failed.")
        except TimeoutError:
            return CheckResult(False, f"ICMP connection to address {who} timeout.")
        except OSError:
            return CheckResult(False, f"ICMP connection to {who} of {ctx.vs_name} failed.")
        finally:
            s.close()

    def up_message(self, result: CheckResult) -> str:
        ip = str(self.ctx.checker.connect_ip or self.ctx.rs.ip)
        return f"ICMP connection to [{ip}] success."

    def down_message(self, result: CheckResult, retries: int) -> str:
        if retries:
            return (f"ICMP CHECK on service {self.ctx.rs_name} of {self.ctx.vs_name} "
                    f"failed after {retries} retries.")
        return f"ICMP CHECK on service {self.ctx.rs_name} failed."
