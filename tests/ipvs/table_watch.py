"""Watch the IPVS table of this namespace: one line per change of its real servers.

Why: a real server that flashes into the table for a few hundred ms (a respawned checker
starting with every server up) is missed by `ipvsadm` every second; this polls over generic
netlink every POLL seconds. Lines: ``<CLOCK_MONOTONIC> <addr:port=weight,...>`` (sorted, "-"
for none), bounded by DURATION; SIGTERM stops it.

    python table_watch.py OUT_FILE [--duration S] [--poll S]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from pykeepalived.ipvs.kernel import IPVSKernel


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--poll", type=float, default=0.005)
    a = ap.parse_args(argv)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    end = time.monotonic() + a.duration
    last = None
    with IPVSKernel() as k, open(a.out, "a", buffering=1) as out:
        while not stop and time.monotonic() < end:
            now = ",".join(sorted(f"{d.addr}:{d.port}={d.weight}"
                                  for dests in k.table().values() for d in dests)) or "-"
            if now != last:
                out.write(f"{time.monotonic():.4f} {now}\n")
                last = now
            time.sleep(a.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
