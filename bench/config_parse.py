#!/usr/bin/env python3
"""Config-check benchmark: `pykeepalived -t` vs `keepalived -t` on the same files, one run.

Generates a large config (100 vrrp_instances, 10,000 real servers with TCP_CHECK: ~90k lines)
and measures wall time and peak RSS of both checkers (median of N runs), plus the seed-sized
config. Run as root from the repo: `.venv/bin/python bench/config_parse.py [--runs 5]
[--python /opt/pykeepalived/bin/python]` (an installed .deb has no editable-install finder
to import at start: ~12 ms less).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config_stages import run_wall

ROOT = Path(__file__).resolve().parents[1]


def big_config(instances: int, vservers: int, rs_per_vs: int) -> str:
    out = ["global_defs {", "  router_id bench", "}"]
    for i in range(instances):
        vrid = i % 255 + 1
        out += [f"vrrp_instance VI_{i} {{", "  state BACKUP", "  interface eth0",
                f"  virtual_router_id {vrid}", "  priority 100", "  advert_int 1",
                "  authentication {", "    auth_type PASS", "    auth_pass 1111", "  }",
                "  virtual_ipaddress {", f"    198.51.100.{i % 250 + 1}/32 dev eth{i // 255}",
                "  }", "}"]
    for v in range(vservers):
        out += [f"virtual_server 203.0.113.{v // 250 + 1} {8000 + v % 250} {{",
                "  delay_loop 6", "  lb_algo wrr", "  lb_kind DR", "  protocol TCP"]
        for r in range(rs_per_vs):
            n = v * rs_per_vs + r
            out += [f"  real_server 192.0.2.{n % 250 + 1} {8000 + v % 250} {{", "    weight 1",
                    "    TCP_CHECK {", "      connect_timeout 3", "      retry 3",
                    "      delay_before_retry 3", "    }", "  }"]
        out.append("}")
    return "\n".join(out) + "\n"


def measure(cmd: list[str], runs: int) -> tuple[float, float, int]:
    """Median wall seconds, max peak RSS MiB, last exit code (each run in a child)."""
    results = [run_wall(cmd) for _ in range(runs)]
    return (statistics.median(r[0] for r in results), max(r[1] for r in results),
            results[-1][2])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--vservers", type=int, default=1000)
    ap.add_argument("--rs-per-vs", type=int, default=10)
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter of the install to measure, e.g. the .deb's "
                    "/opt/pykeepalived/bin/python (default: this one, the dev venv)")
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    # an installed package has its bytecode; measure that, not a compile on every start
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall

    compileall.compile_dir(str(ROOT / "pykeepalived"), quiet=1)
    tmp = Path(tempfile.mkdtemp(prefix="pyk-bench-"))
    try:
        big = tmp / "big.conf"
        big.write_text(big_config(100, args.vservers, args.rs_per_vs))
        lines = big.read_text().count("\n")
        seed = ROOT / "conf.d" / "lvs-dr-master.conf"
        ours = [args.python, "-m", "pykeepalived", "-t", "--no-host-checks", "-f"]
        kad = shutil.which("keepalived")
        print(f"big config: {lines} lines, 100 vrrp_instances, "
              f"{args.vservers * args.rs_per_vs} real servers with TCP_CHECK; runs={args.runs}")
        print(f"{'config':<8} {'checker':<14} {'wall ms':>9} {'peak RSS MiB':>13} {'rc':>3}")
        for name, path in (("seed", seed), ("big", big)):
            w, r, rc = measure([*ours, str(path)], args.runs)
            print(f"{name:<8} {'pykeepalived':<14} {w * 1000:9.1f} {r:13.1f} {rc:3d}")
            if kad:
                # PID 1 of its own PID namespace: keepalived 2.2.7's -t otherwise may SIGTERM
                # itself when it checks scripts (acassen/keepalived#2617)
                kw, kr, krc = measure(["unshare", "--pid", "--fork", "--kill-child", kad,
                                       "-t", "-f", str(path)], args.runs)
                print(f"{name:<8} {'keepalived':<14} {kw * 1000:9.1f} {kr:13.1f} {krc:3d}")
                print(f"{name:<8} {'ratio ours/kad':<14} {w / kw:9.2f} {r / kr:13.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
