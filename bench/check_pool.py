#!/usr/bin/env python3
"""Checker pool at scale: N real servers on loopback, TCP_CHECK (or HTTP_GET), delay_loop 1.

Real servers are addresses 127.1.x.y (all of 127/8 is local) sharing one port, served by a
separate process (accept, optional HTTP reply, close) so its CPU is not counted. Prints CPU
per check, total CPU %, RSS and how check start times spread (lateness against schedule,
starts per 100 ms slot). Usage: bench/check_pool.py [-n 10000] [--seconds 10] [--http]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pykeepalived.check.pool import CheckerPool
from pykeepalived.config.model import (
    Checker,
    Config,
    RealServer,
    Url,
    VirtualServer,
)

SERVER = r"""
import selectors, socket, sys
http = sys.argv[2] == "1"
resp = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1]))); ls.listen(4096); ls.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(ls, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.fileobj is ls:
            for _ in range(256):
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    break
                if http:
                    c.setblocking(False); sel.register(c, selectors.EVENT_READ)
                else:
                    c.close()
        else:
            c = key.fileobj
            try:
                if c.recv(4096):
                    c.send(resp)
            except OSError:
                pass
            sel.unregister(c); c.close()
"""


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def build(n: int, port: int, http: bool, delay_loop: float) -> Config:
    kind = "HTTP_GET" if http else "TCP_CHECK"
    urls = (Url(path="/"),) if http else ()
    ch = Checker(kind=kind, connect_timeout=3, delay_loop=delay_loop, retry=1,
                 delay_before_retry=1, urls=urls)
    base = int(ipaddress.IPv4Address("127.1.0.1"))
    rss = tuple(RealServer(ip=ipaddress.IPv4Address(base + i), port=port, checkers=(ch,))
                for i in range(n))
    vs = VirtualServer(ip=ipaddress.IPv4Address("192.0.2.100"), port=port, delay_loop=delay_loop,
                       real_servers=rss)
    return Config(virtual_servers=(vs,))


async def bench(args: argparse.Namespace, port: int) -> None:
    cfg = build(args.n, port, args.http, args.delay_loop)
    starts: list[tuple[float, float]] = []
    recording = False

    def trace(due: float, st: float) -> None:
        if recording:
            starts.append((due, st))

    t_build = time.perf_counter()
    pool = CheckerPool(cfg, seed=1, max_concurrent=args.max_concurrent, trace=trace)
    await pool.start()
    if args.gc_freeze:
        gc.freeze()  # the config and pool objects are long-lived: keep them out of GC scans
    t_build = time.perf_counter() - t_build
    print(f"start-up: {t_build:.2f} s for {args.n} real servers, RSS {rss_mib():.0f} MiB")
    await asyncio.sleep(args.delay_loop * 2 + 0.5)  # warmup spreads the first checks
    recording = True
    loop = asyncio.get_running_loop()
    c0, w0, k0 = cpu(), loop.time(), pool.checks
    await asyncio.sleep(args.seconds)
    c1, w1, k1 = cpu(), loop.time(), pool.checks
    recording = False
    snap = pool.snapshot()
    await pool.stop()

    checks = k1 - k0
    used = c1 - c0
    wall = w1 - w0
    down = sum(1 for v in snap.virtual_servers for r in v.real_servers if not r.alive)
    fails = sum(c.failures for v in snap.virtual_servers for r in v.real_servers
                for c in r.checkers)
    late = sorted(st - due for due, st in starts)
    slots = [0] * 10
    for _due, st in starts:
        slots[int((st % 1.0) * 10)] += 1
    kind = "HTTP_GET" if args.http else "TCP_CHECK"
    print(f"{kind}: {args.n} real servers, delay_loop {args.delay_loop} s, "
          f"{wall:.1f} s measured")
    print(f"  checks: {checks} ({checks / wall:.0f}/s), failures total {fails}, down now {down}")
    if checks:
        print(f"  CPU per check: {used / checks * 1e6:.1f} us")
    print(f"  CPU total: {used / wall * 100:.1f} % of one core")
    print(f"  RSS: {rss_mib():.0f} MiB")
    if late:
        q = statistics.quantiles(late, n=100)
        print(f"  start lateness vs schedule: p50 {q[49] * 1e3:.2f} ms, p99 {q[98] * 1e3:.2f} ms,"
              f" max {late[-1] * 1e3:.2f} ms")
        mean = sum(slots) / len(slots)
        print(f"  starts per 100 ms slot (of each second): min {min(slots)} max {max(slots)} "
              f"(mean {mean:.0f}; even spread = min~max)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10000, help="real servers (default 10000)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--http", action="store_true", help="HTTP_GET instead of TCP_CHECK")
    ap.add_argument("--delay-loop", type=float, default=1.0)
    ap.add_argument("--max-concurrent", type=int, default=1024)
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after start")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.n * 2 + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < args.max_concurrent + 64:
        print(f"warning: RLIMIT_NOFILE {want} is low for {args.max_concurrent} concurrent checks")

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = subprocess.Popen([sys.executable, "-c", SERVER, str(port), "1" if args.http else "0"],
                           stdout=subprocess.PIPE, text=True)
    try:
        assert srv.stdout is not None and srv.stdout.readline().strip() == "ready"
        asyncio.run(bench(args, port))
    finally:
        srv.terminate()
        srv.wait(5)
    print(f"  (server pid {srv.pid} excluded; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
