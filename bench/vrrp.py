#!/usr/bin/env python3
"""VRRP benchmark: pykeepalived vs keepalived 2.2.7 in the same namespace rig, one run.

  failover  kill -9 of the MASTER: from its last advert to the BACKUP's first GARP, minus the
            RFC floor (master-down interval), N runs at v2 advert_int 1 and v3 0.1;
            graceful (SIGTERM): from the priority-0 advert to the BACKUP's first GARP.
  jitter    one node, 50 instances as MASTER for S seconds: advert interval error (mean,
            p99, max) from a capture, CPU % and RSS of the daemon's processes.

Run as root from the repo: `.venv/bin/python bench/vrrp.py [--runs 10] [--seconds 60]
[--skip-jitter] [--skip-graceful]`.
Network: only the rig's own namespaces and 192.0.2.0/24.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from nsrig import Frame, Rig, vrrp_conf, wait_for  # noqa: E402


def floor(adv: float, prio: int = 100) -> float:
    """RFC master-down interval for the backup (v3 form; v2 with adv in seconds is the same)."""
    return 3 * adv + (256 - prio) * adv / 256


def start(rig: Rig, impl: str, node: str, conf: str):  # type: ignore[no-untyped-def]
    return rig.start_py(node, conf) if impl == "py" else rig.start_kad(node, conf)


def one_failover(tmp: Path, impl: str, version: int, adv: float, graceful: bool
                 ) -> tuple[float, float, float] | None:
    """(beyond the floor to the first GARP, to B's first advert, B's first advert to its first
    GARP): the two stages tell the timer's wake-up from the take-over's own work."""
    rig = Rig(tmp).up()
    try:
        a = start(rig, impl, "a", vrrp_conf(state="MASTER", priority=200, version=version,
                                            advert_int=adv))
        if rig.wait_vip("a", "192.0.2.100", 10 + 4 * adv) is None:
            return None
        b = start(rig, impl, "b", vrrp_conf(priority=100, version=version, advert_int=adv))
        time.sleep(max(1.0, 5 * adv))
        rig.start_capture()
        time.sleep(max(0.3, 2 * adv))
        rig.kill(a, signal.SIGTERM if graceful else signal.SIGKILL, wait=5)
        rig.wait_vip("b", "192.0.2.100", 10 + 4 * adv)
        time.sleep(0.3)
        frames = rig.stop_capture()
        del b
        a_mac = "02:00:00:00:00:0a"
        b_mac = "02:00:00:00:00:0b"
        a_adv = [f for f in frames if f.kind.startswith("vrrp") and f.src_mac == a_mac]
        b_garp = [f for f in frames if f.kind == "garp" and f.src_mac == b_mac]
        b_adv = [f for f in frames if f.kind.startswith("vrrp") and f.src_mac == b_mac]
        if not a_adv or not b_garp or not b_adv:
            return None
        split = b_garp[0].ts - b_adv[0].ts
        if graceful:
            zero = [f for f in a_adv if f.prio == 0]
            if not zero:
                return None
            return b_garp[0].ts - zero[0].ts, b_adv[0].ts - zero[0].ts, split
        base = a_adv[-1].ts + floor(adv)
        return b_garp[0].ts - base, b_adv[0].ts - base, split
    finally:
        rig.down()


def jitter(tmp: Path, impl: str, seconds: float, n: int = 50) -> dict[str, float]:
    rig = Rig(tmp, nodes=("a",)).up()
    try:
        parts = []
        for i in range(1, n + 1):
            parts.append(vrrp_conf(name=f"VI_{i}", state="MASTER", priority=255, vrid=i,
                                   version=3, advert_int=1, vips=(f"198.51.100.{i}/32",))
                         .split("}\n", 1)[1] if i > 1 else
                         vrrp_conf(name="VI_1", state="MASTER", priority=255, vrid=1,
                                   version=3, advert_int=1, vips=("198.51.100.1/32",)))
        p = start(rig, impl, "a", "\n".join(parts))
        wait_for(lambda: rig.has_vip("a", f"198.51.100.{n}"), 15)
        time.sleep(2)
        procs = [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
        cpu0 = sum(pr.cpu_times().user + pr.cpu_times().system for pr in procs)
        t0 = time.monotonic()
        rig.start_capture()
        time.sleep(seconds)
        frames: list[Frame] = rig.stop_capture()
        cpu1 = sum(pr.cpu_times().user + pr.cpu_times().system for pr in procs)
        wall = time.monotonic() - t0
        rss = sum(pr.memory_info().rss for pr in procs) / 2**20
        errs: list[float] = []
        by_vrid: dict[int, list[float]] = {}
        for f in frames:
            if f.kind == "vrrp4":
                by_vrid.setdefault(f.vrid, []).append(f.ts)
        for ts in by_vrid.values():
            errs += [abs((b - a) - 1.0) * 1000 for a, b in itertools.pairwise(ts)]
        errs.sort()
        return {"instances": len(by_vrid), "adverts": sum(map(len, by_vrid.values())),
                "err_mean_ms": statistics.fmean(errs) if errs else float("nan"),
                "err_p99_ms": errs[int(len(errs) * 0.99)] if errs else float("nan"),
                "err_max_ms": errs[-1] if errs else float("nan"),
                "cpu_pct": 100 * (cpu1 - cpu0) / wall, "rss_mib": rss}
    finally:
        rig.down()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--skip-jitter", action="store_true")
    ap.add_argument("--skip-graceful", action="store_true")
    args = ap.parse_args()
    print(f"failover beyond the RFC floor (kill -9) and graceful (SIGTERM), {args.runs} runs, "
          "the two implementations alternating run by run")
    print("  median/max: to B's first GARP; 1st advert: median to B's first advert; "
          "advert>GARP: median from it to the GARP")
    print(f"{'case':<22} {'impl':<12} {'median ms':>10} {'max ms':>8} {'1st advert':>10} "
          f"{'advert>GARP':>11} {'ok':>4}")
    cases = [(v, a, g) for v, a in ((2, 1.0), (3, 0.1)) for g in (False, True)
             if not (g and args.skip_graceful)]
    for version, adv, graceful in cases:
        vals: dict[str, list[tuple[float, float, float]]] = {"py": [], "kad": []}
        for _ in range(args.runs):  # alternating: a drift of the VM's speed hits both alike
            for impl in ("py", "kad"):
                with tempfile.TemporaryDirectory(prefix="pyk-bench-") as d:
                    v = one_failover(Path(d), impl, version, adv, graceful)
                if v is not None:
                    vals[impl].append(tuple(x * 1000 for x in v))  # type: ignore[arg-type]
        name = f"v{version} adv {adv:g}s {'SIGTERM' if graceful else 'kill -9'}"
        for impl in ("py", "kad"):
            who = "pykeepalived" if impl == "py" else "keepalived"
            got = vals[impl]
            if got:
                tot = [g[0] for g in got]
                print(f"{name:<22} {who:<12} {statistics.median(tot):10.1f} {max(tot):8.1f} "
                      f"{statistics.median(g[1] for g in got):10.1f} "
                      f"{statistics.median(g[2] for g in got):11.2f} {len(got):4d}")
            else:
                print(f"{name:<22} {who:<12} {'-':>10} {'-':>8} {'-':>10} {'-':>11} {0:4d}")
    if not args.skip_jitter:
        print(f"\n50 MASTER instances, v3 advert_int 1, {args.seconds:g}s")
        print(f"{'impl':<12} {'adverts':>8} {'err mean ms':>12} {'p99 ms':>8} {'max ms':>8} "
              f"{'CPU %':>7} {'RSS MiB':>8}")
        for impl in ("py", "kad"):
            with tempfile.TemporaryDirectory(prefix="pyk-bench-") as d:
                r = jitter(Path(d), impl, args.seconds)
            who = "pykeepalived" if impl == "py" else "keepalived"
            print(f"{who:<12} {r['adverts']:8.0f} {r['err_mean_ms']:12.2f} {r['err_p99_ms']:8.2f} "
                  f"{r['err_max_ms']:8.2f} {r['cpu_pct']:7.2f} {r['rss_mib']:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
