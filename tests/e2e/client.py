"""The client of the e2e rig: a bounded loop of HTTP GETs to the VIP, one JSON line each.

Why a separate process: it runs in the client namespace (``ip netns exec``). Every request
opens a new TCP connection (so IPVS schedules each one afresh) with short timeouts, and is
recorded with CLOCK_MONOTONIC timestamps (shared by every process of the kernel, so the
harness can line them up with its own events). Output: one line per request,
``{"t": start, "dt": duration, "rs": name | null, "err": text | null}``.

    python client.py HOST PORT OUT_FILE [--interval S] [--timeout S] [--duration S]
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sys
import time


def one(host: str, port: int, timeout: float) -> tuple[str | None, str | None]:
    """One GET on a fresh connection: (server name, None) or (None, error)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError as e:
        return None, type(e).__name__ + (f" {e.errno}" if e.errno else "")
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n", 1)[0] + b" ":
        return None, "bad response"
    return body.decode(errors="replace").strip(), None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("out")
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=0.5)
    ap.add_argument("--duration", type=float, default=600.0)  # a hard bound, always
    a = ap.parse_args(argv)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    end = time.monotonic() + a.duration
    with open(a.out, "a", buffering=1) as out:
        while not stop and time.monotonic() < end:
            t = time.monotonic()
            rs, err = one(a.host, a.port, a.timeout)
            dt = time.monotonic() - t
            out.write(
                json.dumps({"t": round(t, 4), "dt": round(dt, 4), "rs": rs, "err": err}) + "\n"
            )
            rest = a.interval - dt
            if rest > 0:
                time.sleep(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
