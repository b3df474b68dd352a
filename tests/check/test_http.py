"""HTTP_GET / SSL_GET against real loopback HTTP(S) servers, and genhash."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from checkutil import HttpServer, Recorder, chk, down, messages, one, run, up

from pykeepalived.check import genhash
from pykeepalived.check.pool import CheckerPool
from pykeepalived.config.model import Url

TOL = 0.25


def http(kind: str = "HTTP_GET", **kw: object) -> object:
    urls = kw.pop("urls", (Url(path="/health"),))
    return chk(kind, urls=urls, **kw)


def test_status_code_flip_down_and_up(http_server: HttpServer,
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    dl, dbr = 0.3, 0.1
    cfg = one(http(delay_loop=dl, delay_before_retry=dbr, retry=1), http_server.port)
    rs = f"[127.0.0.1]:tcp:{http_server.port}"

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        loop = asyncio.get_running_loop()
        await pool.start()
        await asyncio.sleep(0.1)
        t0 = loop.time()
        http_server.status = 503
        ev = await rec.wait(down, 2.0)
        assert dbr - 0.02 <= ev.at - t0 <= dl + dbr + TOL
        n = len(rec.events)
        t1 = loop.time()
        http_server.status = 204  # inside the default 200-299
        ev = await rec.wait(up, 2.0, start=n)
        assert ev.at - t1 <= dl + TOL
        await pool.stop()

    run(main())
    assert f"HTTP_CHECK on service {rs} failed after 1 retries." in messages(caplog)
    assert f"Remote Web server {rs} succeed on service." in messages(caplog)
    req = http_server.requests[0]
    assert req == (f"GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\n"
                   f"Host: 127.0.0.1:{http_server.port}\r\n\r\n").encode()


def test_status_code_ranges_and_virtualhost(http_server: HttpServer) -> None:
    http_server.status = 302
    url = Url(path="/a", status_code=((200, 200), (300, 302)), virtualhost="www.example")
    cfg = one(http(urls=(url,), http_protocol="1.1"), http_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.3)
        http_server.status = 301
        await asyncio.sleep(0.3)
        assert not [e for e in rec.rs() if not e.initial]  # 302 and 301 are both fine
        http_server.status = 200
        await asyncio.sleep(0.3)
        http_server.status = 303
        await rec.wait(down, 1.0)
        await pool.stop()

    run(main())
    assert http_server.requests[0] == (b"GET /a HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\n"
                                       b"Connection: close\r\nHost: www.example\r\n\r\n")


def test_digest_mismatch_goes_down(http_server: HttpServer) -> None:
    body = b"<html>ok</html>\n"
    http_server.body = body
    good = hashlib.md5(body).hexdigest()
    cfg = one(http(urls=(Url(path="/", digest=good),)), http_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.3)
        assert len(rec.rs()) == 1
        http_server.body = b"<html>changed</html>\n"
        await rec.wait(down, 1.0)
        n = len(rec.events)
        http_server.body = body
        await rec.wait(up, 1.0, start=n)
        await pool.stop()

    run(main())


def test_digest_honours_content_length(http_server: HttpServer) -> None:
    # Content-Length: 5 then 6 more bytes: keepalived digests only the first 5
    http_server.body, http_server.trailer = b"hello", b" world"
    cfg = one(http(urls=(Url(path="/", digest=hashlib.md5(b"hello").hexdigest()),)),
              http_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.5)
        assert len(rec.rs()) == 1
        await pool.stop()

    run(main())


def test_regex_match_and_no_match(http_server: HttpServer) -> None:
    http_server.body = b"status: GREEN\n"
    cfg = one(http(urls=(Url(path="/", regex="GREEN|YELLOW"),
                         Url(path="/x", regex="ERROR", regex_no_match=True))),
              http_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.3)
        assert len(rec.rs()) == 1
        http_server.body = b"status: RED ERROR\n"
        await rec.wait(down, 1.0)
        await pool.stop()

    run(main())


def test_slow_response_times_out(http_server: HttpServer) -> None:
    ct = 0.3
    cfg = one(http(connect_timeout=ct), http_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        loop = asyncio.get_running_loop()
        await pool.start()
        await asyncio.sleep(0.3)
        t0 = loop.time()
        http_server.delay = 1.0
        ev = await rec.wait(down, 2.0)
        assert ct - 0.02 <= ev.at - t0 <= 0.2 + ct + TOL
        http_server.delay = 0
        await pool.stop()

    run(main())


def test_server_stopped_goes_down(http_server: HttpServer) -> None:
    cfg = one(http(), http_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        http_server.stop()
        await rec.wait(down, 1.0)
        http_server.start()
        await rec.wait(up, 1.0)
        await pool.stop()

    run(main())


def test_ssl_get_with_self_signed_cert_and_sni(https_server: HttpServer) -> None:
    cfg = one(http("SSL_GET", virtualhost="rs.example", enable_sni=True), https_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.4)
        assert len(rec.rs()) == 1  # unverified self-signed certificate is fine
        assert https_server.requests, "no request reached the TLS server"
        https_server.status = 500
        await rec.wait(down, 1.0)
        n = len(rec.events)
        https_server.status = 200
        await rec.wait(up, 1.0, start=n)
        https_server.stop()
        await rec.wait(down, 1.0, start=n + 1)
        await pool.stop()

    run(main())
    assert "rs.example" in https_server.sni  # type: ignore[attr-defined]
    assert b"Host: rs.example\r\n" in https_server.requests[0]


def test_ssl_get_against_plain_http_fails(http_server: HttpServer) -> None:
    cfg = one(http("SSL_GET"), http_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await rec.wait(down, 1.0)
        await pool.stop()

    run(main())


def test_genhash_main(http_server: HttpServer, capsys: pytest.CaptureFixture[str]) -> None:
    http_server.body = b"some page\n" * 100
    want = hashlib.md5(http_server.body).hexdigest()
    rc = genhash.main(["-s", "127.0.0.1", "-p", str(http_server.port), "-u", "/p",
                       "-V", "v.example"])
    assert rc == 0
    assert capsys.readouterr().out.strip() == want
    assert b"Host: v.example\r\n" in http_server.requests[-1]
    assert genhash.main(["-s", "127.0.0.1", "-u", "/"]) == 1  # -p is required
    http_server.stop()
    assert genhash.main(["-s", "127.0.0.1", "-p", str(http_server.port), "-u", "/"]) == 1
    assert "Connection failed" in capsys.readouterr().out


def test_genhash_ssl(https_server: HttpServer, capsys: pytest.CaptureFixture[str]) -> None:
    rc = genhash.main(["-S", "-s", "127.0.0.1", "-p", str(https_server.port), "-u", "/"])
    assert rc == 0
    assert capsys.readouterr().out.strip() == hashlib.md5(https_server.body).hexdigest()


@pytest.mark.skipif(shutil.which("genhash") is None, reason="keepalived's genhash not installed")
@pytest.mark.parametrize("vhost", [None, "www.example"])
def test_same_request_and_digest_as_keepalived_genhash(http_server: HttpServer,
                                                       tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       vhost: str | None) -> None:
    http_server.body = bytes(range(256)) * 9
    args = ["-s", "127.0.0.1", "-p", str(http_server.port), "-u", "/d?x=1"]
    if vhost:
        args += ["-V", vhost]
    real = subprocess.run(["genhash", *args], capture_output=True, text=True, timeout=20)
    assert genhash.main(args) == 0
    ours = capsys.readouterr().out.strip()
    assert real.stdout.strip() == ours
    assert http_server.requests[0] == http_server.requests[1]
