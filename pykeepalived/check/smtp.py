"""SMTP_CHECK: banner 220, HELO <helo_name> answered 250, then QUIT (keepalived's dialogue)."""

from __future__ import annotations

import asyncio

from pykeepalived.check.base import Probe, describe_error, tcp_connect
from pykeepalived.check.results import CheckResult

DEFAULT_HELO = "smtpchecker.keepalived.org"  # keepalived's default helo_name


async def read_reply(reader: asyncio.StreamReader) -> int | None:
    """One (possibly multi-line "250-...") SMTP reply; returns its code."""
    for _ in range(100):
        line = await reader.readline()
        if not line:
            return None
        if len(line) >= 4 and line[:3].isdigit() and line[3:4] != b"-":
            return int(line[:3])
        if len(line) == 5 and line[:3].isdigit():  # "250\r\n"
            return int(line[:3])
    return None


class SmtpProbe(Probe):
    kind = "SMTP_CHECK"
    default_port = 25

    async def check(self) -> CheckResult:
        ctx = self.ctx
        who = ctx.target(25)
        try:
            s = await tcp_connect(ctx, 25)
        except TimeoutError:
            return CheckResult(False, f"Connection timeout to server {who}")
        except OSError as e:
            return CheckResult(False, f"Could not connect to server {who}: {describe_error(e)}")
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(ctx.checker.connect_timeout):
                reader, writer = await asyncio.open_connection(sock=s)
                code = await read_reply(reader)
                if code != 220:
                    return CheckResult(False, f"Bad greeting banner from server {who}", code=code)
                helo = ctx.checker.helo_name or DEFAULT_HELO
                writer.write(f"HELO {helo}\r\n".encode())
                code = await read_reply(reader)
                if code != 250:
                    return CheckResult(False, f"Bad HELO response from server {who}", code=code)
                writer.write(b"QUIT\r\n")
                await writer.drain()
            return CheckResult(True, code=250)
        except TimeoutError:
            return CheckResult(False, f"Read timeout from server {who}")
        except OSError as e:
            return CheckResult(False, f"Read failure from server {who}: {describe_error(e)}")
        finally:
            if writer is not None:
                writer.transport.abort()
            else:
                s.close()

    def up_message(self, result: CheckResult) -> str:
        return f"Remote SMTP server {self.target()} succeed on service."
