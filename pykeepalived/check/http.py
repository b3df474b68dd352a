"""HTTP_GET and SSL_GET: keepalived's HTTP/1.0 GET per url, status/digest/regex verdicts.

The request is byte-for-byte keepalived's (User-Agent KeepAliveClient, Host from the url's or
checker's virtualhost, else address:port),
and the digest is MD5 over the body only, cut at Content-Length when the server sends one:
that is what `genhash` prints, so digests computed with either tool agree. TLS is done
without certificate verification, like keepalived (it checks liveness, not identity).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from dataclasses import dataclass

from pykeepalived.check.base import Probe, ProbeContext, describe_error, tcp_connect
from pykeepalived.check.results import CheckResult
from pykeepalived.config.model import Url

MAX_REGEX_BODY = 1 << 20  # keep at most this much body for a regex search


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int | None  # None: no parsable status line / headers never ended
    digest: str  # hex MD5 of the body (Content-Length bounded)
    body_len: int
    content_length: int | None
    body: bytes  # kept only when asked (regex), else b""
    header: bytes


def build_request(path: str, vhost: str | None, ip: str, port: int,
                  protocol: str = "1.0") -> bytes:
    """keepalived's GET request. protocol: "1.0", "1.0C" (adds Connection: close) or "1.1".

    Host is the virtualhost as given, else the address with its port (always, even 80),
    IPv6 in brackets: what keepalived 2.2.7 and its genhash send.
    """
    host = vhost or (f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    minor = 1 if protocol == "1.1" else 0
    conn = "Connection: close\r\n" if protocol.upper() in ("1.0C", "1.1") else ""
    return (f"GET {path} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{conn}"
            f"Host: {host}\r\n\r\n").encode("latin-1")


def client_ssl_context() -> ssl.SSLContext:
    """No verification, like keepalived's default SSL context; any TLS version the peer has."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


_STATUS = re.compile(rb"^HTTP/\d+(?:\.\d+)?\s+(\d{3})")
_CLEN = re.compile(rb"^content-length:\s*(\d+)\s*$", re.I | re.M)


async def read_reply(reader: asyncio.StreamReader, timeout: float, keep_body: bool
                     ) -> HttpReply:
    """Read to EOF (HTTP/1.0 closes); each read bounded by timeout, like keepalived."""
    buf = b""
    header: bytes | None = None
    md5 = hashlib.md5()
    clen: int | None = None
    got = 0
    body = bytearray()
    while True:
        async with asyncio.timeout(timeout):
            chunk = await reader.read(65536)
        if not chunk:
            break
        if header is None:
            buf += chunk
            i = buf.find(b"\r\n\r\n")
            j = 4
            if i < 0:
                i, j = buf.find(b"\n\n"), 2
            if i < 0:
                if len(buf) > 65536:
                    break
                continue
            header, chunk = buf[:i], buf[i + j:]
            m = _CLEN.search(header)
            clen = int(m.group(1)) if m else None
        if clen is not None and got >= clen:
            continue
        take = chunk if clen is None else chunk[: clen - got]
        md5.update(take)
        got += len(take)
        if keep_body and len(body) < MAX_REGEX_BODY:
            body += take
        if clen is not None and got >= clen:
            break  # everything promised has arrived: don't wait for a lazy close
    status = None
    if header is not None:
        m = _STATUS.match(header)
        status = int(m.group(1)) if m else None
    return HttpReply(status, md5.hexdigest(), got, clen, bytes(body), header or b"")


async def fetch(ctx: ProbeContext, url: Url, tls: bool, ssl_ctx: ssl.SSLContext | None,
                keep_body: bool = False) -> HttpReply:
    ch = ctx.checker
    default_port = 443 if tls else 80
    ip, port = ctx.dest(default_port)
    vhost = url.virtualhost or ch.virtualhost or ctx.vs.virtualhost
    s = await tcp_connect(ctx, default_port)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(ch.connect_timeout):
            if tls:
                sni = (vhost or "") if ch.enable_sni else ""
                reader, writer = await asyncio.open_connection(
                    sock=s, ssl=ssl_ctx or client_ssl_context(), server_hostname=sni,
                    ssl_handshake_timeout=ch.connect_timeout)
            else:
                reader, writer = await asyncio.open_connection(sock=s)
            writer.write(build_request(url.path, vhost, ip, port, ch.http_protocol))
            await writer.drain()
        return await read_reply(reader, ch.connect_timeout, keep_body)
    finally:
        if writer is not None and tls and (ch.tls_compliant or url.tls_compliant):
            await _close_notify(writer, ch.connect_timeout)
        elif writer is not None:
            writer.transport.abort()
        else:
            s.close()


async def _close_notify(writer: asyncio.StreamWriter, timeout: float) -> None:
    """tls_compliant: end the TLS session with a close_notify alert, not a bare TCP reset."""
    writer.close()
    try:
        async with asyncio.timeout(min(timeout, 1.0)):
            await writer.wait_closed()
    except (TimeoutError, OSError, ssl.SSLError):
        writer.transport.abort()


def status_ok(status: int | None, ranges: tuple[tuple[int, int], ...]) -> bool:
    return status is not None and any(lo <= status <= hi for lo, hi in ranges)


class HttpProbe(Probe):
    kind = "HTTP_GET"
    tls = False
    default_port = 80

    def __init__(self, ctx: ProbeContext) -> None:
        super().__init__(ctx)
        self._ssl = client_ssl_context() if self.tls else None
        self._regex: dict[str, re.Pattern[bytes]] = {}

    def _pattern(self, rx: str) -> re.Pattern[bytes]:
        p = self._regex.get(rx)
        if p is None:
            p = self._regex[rx] = re.compile(rx.encode())
        return p

    async def check(self) -> CheckResult:
        who = self.ctx.rs_name
        code: int | None = None
        for url in self.ctx.checker.urls:
            try:
                r = await fetch(self.ctx, url, self.tls, self._ssl, keep_body=bool(url.regex))
            except TimeoutError:
                return CheckResult(False, f"Timeout connecting server {who}.")
            except ssl.SSLError as e:
                return CheckResult(False, "SSL handshake/communication error connecting to "
                                          f"server {who}: {e.reason or e}.")
            except OSError as e:
                return CheckResult(False, f"Error connecting server {who}: {describe_error(e)}.")
            code = r.status
            if r.status is None:
                return CheckResult(False, f"Read, no data received from server {who}.")
            if not status_ok(r.status, url.status_code):
                return CheckResult(False, f"HTTP status code error to server {who} url("
                                          f"{url.path}), status_code [{r.status}].", code=code)
            if url.digest and r.digest != url.digest.lower():
                return CheckResult(False, f"MD5 digest error to server {who} url({url.path}), "
                                          f"digest [{r.digest}].", code=code)
            if url.regex and (self._pattern(url.regex).search(r.body) is None) \
                    != url.regex_no_match:
                return CheckResult(False, f"Regex match failed server {who} url({url.path}).",
                                   code=code)
        return CheckResult(True, code=code)

    def up_message(self, result: CheckResult) -> str:
        return f"Remote Web server {self.ctx.rs_name} succeed on service."

    def down_message(self, result: CheckResult, retries: int) -> str:
        tail = f" after {retries} retries." if retries else "."
        return f"HTTP_CHECK on service {self.ctx.rs_name} failed{tail}"


class SslProbe(HttpProbe):
    kind = "SSL_GET"
    tls = True
    default_port = 443
