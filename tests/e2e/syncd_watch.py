"""Watch the kernel's IPVS sync daemons of one namespace: one line per change.

Why: the e2e sync test measures when a director's lvs_sync_daemon switches role against the
VRRP transition; polling over generic netlink every POLL seconds (no process per poll, which
costs tens of ms in the UML guest) timestamps a change within a few ms. Output lines are
``<CLOCK_MONOTONIC> <states, comma separated, or "-">``; bounded by DURATION.

    python syncd_watch.py OUT_FILE [--duration S] [--poll S]
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
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--poll", type=float, default=0.003)
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
            now = ",".join(sorted(d.state for d in k.daemons())) or "-"
            t = time.monotonic()
            if now != last:
                out.write(f"{t:.4f} {now}\n")
                last = now
            time.sleep(a.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
