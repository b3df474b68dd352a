"""genhash: print the MD5 digest of a URL's body, the value HTTP_GET/SSL_GET `digest` expects.

Same options as keepalived's genhash (-s -p -u required; -S ssl, -I sni, -V virtualhost,
-P 1.0|1.0c|1.1, -t timeout, -m fwmark, -v verbose) and the same request and digest, so
digests are interchangeable. One difference on purpose: keepalived's genhash exits 0 after
"Connection failed"; we exit 1 so scripts can tell.
"""

from __future__ import annotations

import asyncio
import getopt
import ipaddress
import sys
import time

from pykeepalived.check.base import ProbeContext
from pykeepalived.check.http import client_ssl_context, fetch
from pykeepalived.config.model import Checker, RealServer, Url, VirtualServer

USAGE = """Usage: genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
"""

LONG = ["use-ssl", "use-sni", "server=", "port=", "url=", "use-virtualhost=", "verbose", "help",
        "fwmark=", "protocol=", "timeout="]


def _hexdump(data: bytes) -> str:
    out = []
    for off in range(0, len(data), 16):
        row = data[off:off + 16]
        hx = " ".join(f"{b:02x}" for b in row)
        asc = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        out.append(f"{off:04d}  {hx:<48}  {asc}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt.getopt(args, "SIs:p:u:V:vhm:P:t:", LONG)
    except getopt.GetoptError as e:
        print(f"genhash: {e}", file=sys.stderr)
        print(USAGE, file=sys.stderr, end="")
        return 1
    o: dict[str, str] = {}
    for k, v in opts:
        o[_short(k) if k.startswith("--") else k[1:]] = v
    if "h" in o:
        print(USAGE, end="")
        return 0
    if rest or not all(k in o for k in "spu"):
        print(USAGE, file=sys.stderr, end="")
        return 1
    try:
        ip = ipaddress.ip_address(o["s"])
        port = int(o["p"])
        timeout = float(o.get("t", "5"))
        fwmark = int(o["m"]) if "m" in o else None
    except ValueError as e:
        print(f"genhash: {e}", file=sys.stderr)
        return 1
    proto = o.get("P", "1.0")
    if proto.lower() not in ("1.0", "1.0c", "1.1"):
        print(f"genhash: invalid protocol '{proto}'", file=sys.stderr)
        return 1
    tls = "S" in o
    vhost = o.get("V")
    ch = Checker(kind="SSL_GET" if tls else "HTTP_GET", connect_ip=ip, connect_port=port,
                 connect_timeout=timeout, fwmark=fwmark, virtualhost=vhost,
                 http_protocol="1.0C" if proto.lower() == "1.0c" else proto,
                 enable_sni="I" in o, urls=(Url(path=o["u"]),))
    rs = RealServer(ip=ip, port=port, checkers=(ch,))
    ctx = ProbeContext(ch, rs, VirtualServer(ip=ip, port=port, real_servers=(rs,)))
    t0 = time.monotonic()
    try:
        reply = asyncio.run(fetch(ctx, ch.urls[0], tls, client_ssl_context() if tls else None,
                                  keep_body="v" in o))
    except TimeoutError:
        print("Connection timed out")
        return 1
    except OSError:
        print("Connection failed")
        return 1
    if reply.status is None and not reply.body_len:
        print("no data received from remote webserver", file=sys.stderr)
        return 1
    if "v" in o:
        print("-----------------------[ HTTP Header Ascii Buffer ]-----------------------")
        print(reply.header.decode("latin-1"))
        print("-----------------------[        HTML Buffer        ]-----------------------")
        print(_hexdump(reply.body))
        print("-----------------------[ HTML hash final resulting ]-----------------------")
        print(reply.digest)
        print(f"\nGlobal response time for [{o['u']}] = "
              f"{int((time.monotonic() - t0) * 1e6)} usecs")
    print(reply.digest)
    return 0


def _short(long_opt: str) -> str:
    return {"--use-ssl": "S", "--use-sni": "I", "--server": "s", "--port": "p", "--url": "u",
            "--use-virtualhost": "V", "--verbose": "v", "--help": "h", "--fwmark": "m",
            "--protocol": "P", "--timeout": "t"}[long_opt]


if __name__ == "__main__":
    raise SystemExit(main())
