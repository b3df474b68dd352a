"""UDP_CHECK: send the payload; an ICMP port unreachable (ECONNREFUSED) is the failure signal.

Without require_reply, silence for connect_timeout counts as success (a UDP service need not
answer), as in keepalived; a reply must still respect min/max_reply_length. With
require_reply the reply must match the hex pattern, where X/x is a wildcard nibble.
"""

from __future__ import annotations

import asyncio
import socket

from pykeepalived.check.base import Probe, ProbeContext, make_socket, sockaddr
from pykeepalived.check.results import CheckResult


def reply_matches(data: bytes, pattern: str) -> bool:
    """keepalived's require_reply: hex digits, X matching any nibble; a prefix match."""
    hexd = data.hex()
    pat = pattern.replace(" ", "").lower()
    if len(hexd) < len(pat):
        return False
    return all(p == "x" or p == h for p, h in zip(pat, hexd, strict=False))


class UdpProbe(Probe):
    kind = "UDP_CHECK"
    log_attempts = True

    def __init__(self, ctx: ProbeContext) -> None:
        super().__init__(ctx)
        ch = ctx.checker
        self._payload = ch.payload if ch.payload is not None else ctx.rng.randbytes(8)

    async def check(self) -> CheckResult:
        ctx = self.ctx
        ch = ctx.checker
        ip, port = ctx.dest()
        who = ctx.rs_name
        loop = asyncio.get_running_loop()
        s = make_socket(ctx, ip, socket.SOCK_DGRAM)
        try:
            await loop.sock_connect(s, sockaddr(ip, port))
            await loop.sock_sendall(s, self._payload)
            try:
                async with asyncio.timeout(ch.connect_timeout):
                    data = await loop.sock_recv(s, 65536)
            except TimeoutError:
                if ch.require_reply is not None:
                    return CheckResult(False, f"UDP connection to {who} failed.")
                return CheckResult(True)
            if not ch.min_reply_length <= len(data) <= ch.max_reply_length:
                return CheckResult(False, f"UDP check to {who} reply data mismatch.")
            if ch.require_reply and not reply_matches(data, ch.require_reply):
                return CheckResult(False, f"UDP check to {who} reply data mismatch.")
            return CheckResult(True)
        except OSError:
            return CheckResult(False, f"UDP connection to {who} failed.")
        finally:
            s.close()

    def up_message(self, result: CheckResult) -> str:
        return f"UDP connection to {self.ctx.rs_name} success."
