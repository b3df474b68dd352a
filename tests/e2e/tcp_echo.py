"""A long-lived TCP connection for the e2e rig: an echo server (real server side) and a client
that keeps ONE connection open and sends a line every INTERVAL, one JSON line per exchange.

Why a separate script: each side runs in its own namespace (``ip netns exec``); the client
never reconnects, so an answer after a director failover proves the connection itself went
on (through the new master's synchronised IPVS entry), not a fresh one. Stdlib only.

    python tcp_echo.py serve PORT
    python tcp_echo.py client HOST PORT OUT_FILE [--interval S] [--timeout S] [--duration S]

Client output: first ``{"local": "addr:port"}``, then ``{"t": send time (CLOCK_MONOTONIC),
"dt": round trip, "seq": n, "ok": bool, "err": text | null}`` per exchange; it stops at the
first error (the connection is gone), on SIGTERM or after DURATION.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import threading
import time


def serve(port: int) -> int:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    print(f"echo listening on :{port}", flush=True)

    def echo(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def client(a: argparse.Namespace) -> int:
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    end = time.monotonic() + a.duration
    with open(a.out, "a", buffering=1) as out:
        s = socket.create_connection((a.host, a.port), timeout=a.timeout)
        s.settimeout(a.timeout)
        addr, port = s.getsockname()[:2]
        out.write(json.dumps({"local": f"{addr}:{port}"}) + "\n")
        seq = 0
        while not stop and time.monotonic() < end:
            seq += 1
            t = time.monotonic()
            msg = f"{seq}\n".encode()
            err = None
            try:
                s.sendall(msg)
                got = b""
                while not got.endswith(b"\n"):
                    chunk = s.recv(64)
                    if not chunk:
                        raise ConnectionError("closed by peer")
                    got += chunk
                if got != msg:
                    err = f"bad echo {got!r}"
            except OSError as e:
                err = type(e).__name__ + (f" {e.errno}" if e.errno else "")
            dt = time.monotonic() - t
            out.write(json.dumps({"t": round(t, 4), "dt": round(dt, 4), "seq": seq,
                                  "ok": err is None, "err": err}) + "\n")
            if err is not None:
                return 1
            rest = a.interval - dt
            if rest > 0:
                time.sleep(rest)
        s.close()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve(int(argv[1]))
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["client"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("out")
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--duration", type=float, default=300.0)  # a hard bound, always
    return client(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
