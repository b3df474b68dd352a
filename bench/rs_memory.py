#!/usr/bin/env python3
"""Memory per real server in the checker child: model, checker pool, health, IPVS desired table.

The 10k-real-server config of bench/config_parse.py (1000 virtual servers x 10 real servers,
TCP_CHECK) is loaded, then the checker child's structures are built one after the other as
the child builds them, each measured with tracemalloc (what it keeps, divided per real
server) and the top allocating lines of each printed. The pool's checks run for a moment
in a private network namespace with no routes (unshare(CLONE_NEWNET): every connect fails
at once, nothing leaves the host). Run as root: `.venv/bin/python bench/rs_memory.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import os
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from config_parse import big_config  # noqa: E402

CLONE_NEWNET = 0x40000000


def stage(name: str, n: int, before: tracemalloc.Snapshot, top: int) -> tracemalloc.Snapshot:
    gc.collect()
    after = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)])
    diff = after.compare_to(before, "lineno")
    total = sum(d.size_diff for d in diff)
    print(f"{name:>34}: {total / 2**20:7.2f} MiB kept, {total / n:6.0f} B per real server")
    for d in sorted(diff, key=lambda d: -d.size_diff)[:top]:
        if d.size_diff <= 0:
            break
        fr = d.traceback[0]
        print(f"{'':>36}{d.size_diff / n:6.0f} B/rs  {Path(fr.filename).name}:{fr.lineno}")
    return after


async def run(n_vs: int, per_vs: int, top: int) -> None:
    from pykeepalived.check.pool import CheckerPool
    from pykeepalived.config import LoadOptions, load_config
    from pykeepalived.ipvs.desired import Health, desired_table

    n = n_vs * per_vs
    with tempfile.TemporaryDirectory() as d:
        conf = Path(d) / "big.conf"
        conf.write_text(big_config(0, n_vs, per_vs))
        gc.collect()
        snap = tracemalloc.take_snapshot()
        res = load_config(str(conf), LoadOptions(check_interfaces=False))
        cfg = res.config
        del res
        snap = stage("model (Config)", n, snap, top)
    events: list[Any] = []
    pool = CheckerPool(cfg, on_event=events.append)
    await pool.start()
    snap = stage("checker pool (_Vs/_Rs/_Run, tasks)", n, snap, top)
    await asyncio.sleep(1.0)  # every check ran once (connect fails: no route)
    snap = stage("  after a round of checks", n, snap, top)
    health = Health().apply(*events)
    del events
    snap = stage("health (Health from the events)", n, snap, top)
    table = desired_table(cfg, health)
    snap = stage("IPVS desired table", n, snap, top)
    print(f"{'':>34}  ({len(table)} services, "
          f"{sum(len(v) for v in table.services.values())} destinations)")
    await pool.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vservers", type=int, default=1000)
    ap.add_argument("--rs-per-vs", type=int, default=10)
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        print("needs root: unshare(CLONE_NEWNET) failed", file=sys.stderr)
        return 1
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tracemalloc.start()
    asyncio.run(run(args.vservers, args.rs_per_vs, args.top))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB "
          f"(tracemalloc itself included), pid {os.getpid()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
