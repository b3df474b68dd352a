"""DNS_CHECK: one query over UDP (built with struct); any reply with our id and RCODE 0 is up."""

from __future__ import annotations

import asyncio
import socket
import struct

from pykeepalived.check.base import Probe, describe_error, make_socket, sockaddr
from pykeepalived.check.results import CheckResult

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
          "RRSIG": 46, "DNSKEY": 48}


def build_query(qid: int, name: str, qtype: str) -> bytes:
    """A standard query, RD set, one question of class IN."""
    labels = [p for p in name.strip(".").split(".") if p] if name not in (".", "") else []
    qname = b"".join(bytes([len(lb)]) + lb.encode("idna") for lb in labels) + b"\x00"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + \
        struct.pack("!HH", QTYPES.get(qtype.upper(), 6), 1)


def reply_ok(data: bytes, qid: int) -> tuple[bool, int | None]:
    """(ok, rcode): a response (QR) with our id and no error."""
    if len(data) < 12:
        return False, None
    rid, flags = struct.unpack_from("!HH", data)
    rcode = flags & 0x000F
    return rid == qid and bool(flags & 0x8000) and rcode == 0, rcode


class DnsProbe(Probe):
    kind = "DNS_CHECK"
    default_port = 53

    async def check(self) -> CheckResult:
        ctx = self.ctx
        ip, port = ctx.dest(53)
        who = ctx.rs_name
        loop = asyncio.get_running_loop()
        qid = ctx.rng.getrandbits(16)
        s = make_socket(ctx, ip, socket.SOCK_DGRAM)
        try:
            async with asyncio.timeout(ctx.checker.connect_timeout):
                await loop.sock_connect(s, sockaddr(ip, port))
                await loop.sock_sendall(s, build_query(qid, ctx.checker.dns_name,
                                                       ctx.checker.dns_type))
                for _ in range(16):  # ignore stray datagrams with another id
                    data = await loop.sock_recv(s, 4096)
                    ok, rcode = reply_ok(data, qid)
                    if ok:
                        return CheckResult(True, code=0)
                    if len(data) >= 2 and struct.unpack_from("!H", data)[0] == qid:
                        return CheckResult(False, f"DNS_CHECK ({who}) bad response, "
                                                  f"rcode {rcode}", code=rcode)
                return CheckResult(False, f"DNS_CHECK ({who}) no matching response")
        except TimeoutError:
            return CheckResult(False, f"DNS_CHECK ({who}) read timeout from socket.")
        except OSError as e:
            return CheckResult(False, f"DNS_CHECK ({who}) connection error: "
                                      f"{describe_error(e)}")
        finally:
            s.close()

    def up_message(self, result: CheckResult) -> str:
        return f"DNS_CHECK ({self.ctx.rs_name}) succeed"

    def down_message(self, result: CheckResult, retries: int) -> str:
        tail = f" after {retries} retries" if retries else ""
        return f"DNS_CHECK ({self.ctx.rs_name}) failed{tail}"
