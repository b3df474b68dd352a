"""Watch this namespace's IPVS state over generic netlink: one line per change.

Run by path (also inside the UML guest), never imported by the tests that spawn it:

    python ipvs_watch.py daemons OUT_FILE [--duration S] [--poll S]
    python ipvs_watch.py table OUT_FILE [--duration S] [--poll S]

``daemons``: the kernel sync daemons' states, comma separated (the e2e sync test times a
director's lvs_sync_daemon role switch against the VRRP transition). ``table``: the real
servers, ``addr:port=weight`` comma separated (a server that flashes into the table for a few
hundred ms is missed by `ipvsadm` every second). Lines are ``<CLOCK_MONOTONIC> <sorted
items, or "-" for none>``. Polling every POLL seconds in one process (no process per poll,
which costs tens of ms in the guest) timestamps a change within a few ms; bounded by
DURATION; SIGTERM stops it. Exit 2 when the kernel has no IPVS.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

# mode: (what one poll reads, default duration, default poll)
MODES: dict[str, tuple[Callable[[Any], list[str]], float, float]] = {
    "daemons": (lambda k: [d.state for d in k.daemons()], 600.0, 0.003),
    "table": (lambda k: [f"{d.addr}:{d.port}={d.weight}"
                         for dests in k.table().values() for d in dests], 300.0, 0.005),
}


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="ipvs_watch.py")
    ap.add_argument("mode", choices=sorted(MODES))
    ap.add_argument("out")
    ap.add_argument("--duration", type=float)
    ap.add_argument("--poll", type=float)
    a = ap.parse_args(argv)
    _, duration, poll = MODES[a.mode]
    a.duration = duration if a.duration is None else a.duration
    a.poll = poll if a.poll is None else a.poll
    return a


def line(t: float, items: list[str]) -> str:
    return f"{t:.4f} {','.join(sorted(items)) or '-'}\n"


def main(argv: list[str]) -> int:
    a = parse(argv)
    read = MODES[a.mode][0]
    from pykeepalived.ipvs.kernel import IPVSError, IPVSKernel

    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    end = time.monotonic() + a.duration
    last = None
    try:
        k = IPVSKernel()
    except IPVSError as e:
        print(f"ipvs_watch: no IPVS here: {e}", file=sys.stderr)
        return 2
    with k, open(a.out, "a", buffering=1) as out:
        while not stop and time.monotonic() < end:
            now = sorted(read(k))
            if now != last:
                out.write(line(time.monotonic(), now))
                last = now
            time.sleep(a.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
