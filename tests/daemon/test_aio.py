"""daemon/aio.py: asyncio imported without ssl (the parent, the VRRP child) loads no OpenSSL;
restore_tls() (the checker child) gives it a working TLS client and server again: a real
handshake and an echo over it, with a certificate from the openssl CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
from pykeepalived.daemon import aio
done = aio.import_without_tls()
import asyncio
out = {"done": done, "ssl_loaded": "ssl" in sys.modules or "_ssl" in sys.modules,
       "ready_before": aio.tls_ready()}
if len(sys.argv) > 1:
    cert, key = sys.argv[1], sys.argv[2]
    aio.restore_tls()
    import ssl
    out["ready_after"] = aio.tls_ready()

    async def main():
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(cert, key)

        async def echo(r, w):
            w.write(await r.readline())
            await w.drain()
            w.close()

        srv = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=sctx)
        port = srv.sockets[0].getsockname()[1]
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.check_hostname = False
        cctx.verify_mode = ssl.CERT_NONE
        r, w = await asyncio.wait_for(asyncio.open_connection(
            "127.0.0.1", port, ssl=cctx, ssl_handshake_timeout=10), 20)
        w.write(b"hello over tls\n")
        line = await asyncio.wait_for(r.readline(), 20)
        version = w.get_extra_info("ssl_object").version()
        w.close()
        srv.close()
        return line.decode(), version

    out["echo"], out["version"] = asyncio.run(main())
print(json.dumps(out))
"""


def _run(*argv: str) -> dict[str, object]:
    p = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                       timeout=90, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_asyncio_without_openssl() -> None:
    out = _run()
    assert out == {"done": True, "ssl_loaded": False, "ready_before": False}


def test_restore_tls_gives_a_working_tls_connection(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True, timeout=60)
    out = _run(str(cert), str(key))
    assert out["ready_before"] is False and out["ready_after"] is True
    assert out["echo"] == "hello over tls\n"
    assert str(out["version"]).startswith("TLS")


CHILD_PROBE = r"""
import json, sys
from pykeepalived.daemon import aio
aio.import_without_tls()  # as daemon/main.py does in the parent
from pykeepalived.cli import build_parser
from pykeepalived.config import LoadOptions, load_config
import pykeepalived.daemon.checker_child as cc
from pykeepalived.daemon import child

seen = {"parent": aio.tls_ready()}

class Probe:
    # the checker child's class, replaced: what it finds when run_child starts it
    def __init__(self, args, config):
        self.exit_reason = None

    async def main(self):
        seen["checker"] = aio.tls_ready()
        seen["ssl_loaded"] = "ssl" in sys.modules
        return 0

cc.CheckerChild = Probe
tmp = sys.argv[1]
args = build_parser().parse_args(["-n", "-G", "-c", tmp + "/c.pid", "--state-dir", tmp,
                                  "-f", sys.argv[2]])
rc = child.run_child("checker", args, load_config(sys.argv[2], LoadOptions()).config)
print(json.dumps({"rc": rc, **seen}))
"""


SSL_VS = """virtual_server 192.0.2.100 443 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.0.2.21 443 {
    %s {
      url {
        path /
        status_code 200
      }
    }
  }
}
"""


def _child_probe(tmp_path: Path, conf: Path) -> dict[str, object]:
    p = subprocess.run([sys.executable, "-c", CHILD_PROBE, str(tmp_path), str(conf)],
                       capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_checker_child_gets_tls_back(tmp_path: Path) -> None:
    """The daemon's checker child (run_child) with an SSL_GET checker has asyncio's TLS
    again, although the parent it is forked from imported asyncio without it."""
    conf = tmp_path / "ssl.conf"
    conf.write_text(SSL_VS % "SSL_GET")
    out = _child_probe(tmp_path, conf)
    assert out == {"rc": 0, "parent": False, "checker": True, "ssl_loaded": True}


def test_checker_child_without_ssl_get_loads_no_openssl(tmp_path: Path) -> None:
    """Without an SSL_GET checker the checker child does not import ssl (OpenSSL would delay
    its first IPVS sync and the sync daemon)."""
    conf = tmp_path / "http.conf"
    conf.write_text(SSL_VS % "HTTP_GET")
    assert _child_probe(tmp_path, conf) == {"rc": 0, "parent": False, "checker": False,
                                            "ssl_loaded": False}
    seed = ROOT / "conf.d" / "lvs-dr-master.conf"
    assert _child_probe(tmp_path, seed)["checker"] is False


RELOAD_PROBE = r"""
import json, sys
from pykeepalived.daemon import aio
aio.import_without_tls()
import asyncio
from pykeepalived.config import LoadOptions, load_config
from pykeepalived.daemon.checker_child import CheckerChild

class Pool:
    async def reload(self, cfg):
        pass

child = CheckerChild.__new__(CheckerChild)  # only what apply_reload touches
child.pool, child.dirty = Pool(), asyncio.Event()
before = aio.tls_ready()
asyncio.run(child.apply_reload(load_config(sys.argv[1], LoadOptions()).config))
print(json.dumps({"before": before, "after": aio.tls_ready()}))
"""


def test_a_reload_that_brings_ssl_get_gives_tls_back(tmp_path: Path) -> None:
    conf = tmp_path / "ssl.conf"
    conf.write_text(SSL_VS % "SSL_GET")
    p = subprocess.run([sys.executable, "-c", RELOAD_PROBE, str(conf)],
                       capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == {"before": False, "after": True}
