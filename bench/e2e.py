"""Client-visible outage, pykeepalived vs keepalived 2.2.7, in the users' LVS-DR set-up.

Why: issue 7 asks that what a user's client sees when a real server dies, the MASTER dies,
returns, or is stopped gracefully is no worse with pykeepalived than with keepalived. Both run
in the same rig (tests/e2e/harness.py) on the same conf.d configs; scenarios 2–5 of
tests/e2e/scenarios.py run N times each and the table shows median and max of the outage.

    .venv/bin/python bench/e2e.py [-n 3] [--impl pykeepalived --impl keepalived] [--json F]

On the host it boots the IPVS guest (tests/ipvsvm) and runs itself inside (``--in-guest``).
Checker timers are the harness's FAST ones (delay_loop 2, connect_timeout 2,
delay_before_retry 1); VRRP timers are the shipped ones (advert_int 1, priorities 100/90).
Outage of scenario 2 = time from the HTTP server's stop to the end of the last failed
request (some requests still go to the dead server until the checker drops it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# this file is "e2e" too: drop its own directory so `import e2e` finds tests/e2e
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT / "tests"))

SCENARIOS = ("rs_down_up", "crash_master", "master_returns", "graceful_stop")
LABELS = {
    "rs_down_up": "2 real server stops (failures until dropped)",
    "crash_master": "3 MASTER killed -9 (failover)",
    "master_returns": "4 MASTER returns (preempt)",
    "graceful_stop": "5 MASTER SIGTERM (graceful)",
}


def run_impl(impl: str, n: int, spell_retry: bool = False) -> dict[str, list[dict[str, float]]]:
    """N cycles of scenarios 2–5 on one rig; returns {scenario: [values incl. outage]}.
    ``spell_retry``: only scenario 2, with `nb_get_retry 3` written `retry 3` (row 2')."""
    from e2e import scenarios as sc
    from e2e.harness import FAST, FAST_RETRY, running_lab

    names = ("rs_down_up",) if spell_retry else SCENARIOS
    out: dict[str, list[dict[str, float]]] = {s: [] for s in names}
    with tempfile.TemporaryDirectory(prefix=f"bench-e2e-{impl}-") as tmp:
        t0 = time.monotonic()
        timers = FAST_RETRY if spell_retry else FAST
        with running_lab(Path(tmp), impl, timers) as lab:  # type: ignore[arg-type]
            print(f"[{impl}] rig up in {time.monotonic() - t0:.1f}s", file=sys.stderr)
            for i in range(n):
                try:
                    sc.baseline(lab)
                    for name in names:
                        try:
                            r = getattr(sc, name)(lab)
                        except TimeoutError as e:  # a run that did not converge is a figure too
                            FAILED.setdefault(impl, []).append(f"run {i + 1} {name}: {e}")
                            print(f"[{impl}] run {i + 1}: {name} FAILED: {e}", file=sys.stderr)
                            raise
                        out[name].append({"outage": r.outage, **r.values})
                        print(f"[{impl}] run {i + 1}: {r}", file=sys.stderr)
                except TimeoutError:
                    break  # the rig is in an unknown state: stop this implementation's runs
    return out


FAILED: dict[str, list[str]] = {}


def fmt(xs: list[float]) -> str:
    if not xs:
        return "n/a"
    return f"{statistics.median(xs):5.2f} / {max(xs):5.2f}"


def table(results: dict[str, dict[str, list[dict[str, float]]]], n: int,
          spelled: dict[str, dict[str, list[dict[str, float]]]] | None = None) -> str:
    impls = list(results)
    head = f"| scenario (outage s, median / max of {n}) | " + " | ".join(impls) + " |"
    lines = [head, "|---" * (len(impls) + 1) + "|"]
    for s in SCENARIOS:
        cells = [fmt([v["outage"] for v in results[i].get(s, [])]) for i in impls]
        lines.append(f"| {LABELS[s]} | " + " | ".join(cells) + " |")
        if s == "rs_down_up" and spelled:
            cells = [fmt([v["outage"] for v in spelled.get(i, {}).get(s, [])]) for i in impls]
            lines.append("| 2' same, `nb_get_retry 3` written `retry 3` (both retry 3 times) | "
                         + " | ".join(cells) + " |")
    extra = [
        ("crash_master", "vip_moved_after", "3: VIP moved after"),
        ("rs_down_up", "removed_after", "2: rs dropped from IPVS after"),
        ("master_returns", "preempted_after", "4: start → VIP back (incl. start-up)"),
    ]
    for s, key, label in extra:
        cells = [fmt([v[key] for v in results[i].get(s, []) if key in v]) for i in impls]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def in_guest(args: argparse.Namespace) -> int:
    results = {impl: run_impl(impl, args.n) for impl in args.impl}
    spelled = {impl: run_impl(impl, args.n, spell_retry=True) for impl in args.impl}
    print(table(results, args.n, spelled))
    for impl, fails in FAILED.items():
        for f in fails:
            print(f"{impl}: FAILED {f}")
    outdir = os.environ.get("IPVSVM_OUTDIR")  # comes back to the host (see ipvsvm.guest)
    if outdir and os.path.isdir(outdir):
        Path(outdir, "e2e.json").write_text(json.dumps({**results, "spelled": spelled}, indent=1))
    elif args.json:
        Path(args.json).write_text(json.dumps({**results, "spelled": spelled}, indent=1))
    return 0


def on_host(args: argparse.Namespace, argv: list[str]) -> int:
    from ipvsvm.guest import run_script_in_guest

    return run_script_in_guest(__file__, argv, json_name="e2e.json", json_out=args.json,
                               cwd=ROOT, timeout=args.timeout)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=3, help="runs per scenario and implementation")
    ap.add_argument("--impl", action="append", choices=("pykeepalived", "keepalived"))
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--timeout", type=float, default=1500, help="guest time limit (s)")
    ap.add_argument("--in-guest", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.impl = args.impl or ["pykeepalived", "keepalived"]
    if args.in_guest or os.environ.get("IPVSVM_GUEST") == "1":
        return in_guest(args)
    return on_host(args, [a for a in argv if a != "--in-guest"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
