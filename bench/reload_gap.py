#!/usr/bin/env python3
"""Reload stall benchmark: the largest gap between a fast MASTER's adverts across SIGHUPs.

The ~90k-line config of bench/config_parse.py (100 vrrp_instances, 10,000 real servers) plus
one VRRPv3 instance at advert_int 0.1 as MASTER; the daemon (VRRP child only, -P: this host
has no IPVS) is sent SIGHUP three times, 3 s apart, and tcpdump on the peer end of the veth
timestamps every advert of that instance. The issue's bound: the largest gap <= 0.25 s.
keepalived 2.2.7 runs the same way in the same run. Run as root from the repo:
`.venv/bin/python bench/reload_gap.py [--pythonpath OLD_TREE]` (an old checkout to compare).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from config_parse import big_config  # noqa: E402

FAST = """
vrrp_instance FAST {
  state MASTER
  interface eth0
  version 3
  virtual_router_id 201
  priority 200
  advert_int 0.1
  virtual_ipaddress {
    203.0.113.250/32
  }
}
"""


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def adverts(text: str) -> list[float]:
    out = []
    for line in text.splitlines():
        if "vrid 201" in line and "VRRPv3" in line:
            with contextlib.suppress(ValueError):
                out.append(float(line.split()[0]))
    return out


def run_one(ns: str, tmp: Path, label: str, argv: list[str], env: dict[str, str]) -> None:
    log = open(tmp / f"{label}.log", "wb")  # noqa: SIM115
    d = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=log, stderr=log, env=env,
                         start_new_session=True, cwd="/")
    capf = open(tmp / f"{label}.cap", "wb")  # noqa: SIM115 - a file: a pipe would fill up
    cap = subprocess.Popen(["ip", "netns", "exec", f"{ns}-peer", "tcpdump", "-i", "peer0",
                            "-n", "-tt", "-l", "--immediate-mode", "ip proto 112"],
                           stdout=capf, stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        lines: list[str] = []
        while time.monotonic() - t0 < 60:  # MASTER and advertising
            time.sleep(0.5)
            if (tmp / f"{label}.log").read_text(errors="replace").count("FAST") and \
                    "Entering MASTER STATE" in (tmp / f"{label}.log").read_text(
                        errors="replace"):
                break
        time.sleep(6)  # the 100 slow instances settle (they go MASTER after ~3.6 s)
        start = time.time()
        for i in range(3):  # each reload done (bounded) before the next, then 1 s more
            os.kill(d.pid, signal.SIGHUP)
            t1 = time.monotonic()
            while time.monotonic() - t1 < 30 and (tmp / f"{label}.log").read_text(
                    errors="replace").count("Reload complete") < i + 1:
                time.sleep(0.1)
            time.sleep(1.0)
        end = time.time()
    finally:
        cap.send_signal(signal.SIGINT)
        cap.wait(10)
        capf.close()
        lines = (tmp / f"{label}.cap").read_text(errors="replace").splitlines()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(d.pid, signal.SIGTERM)
        try:
            d.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(d.pid, signal.SIGKILL)
            d.wait(5)
        log.close()
    ts = [t for t in adverts("\n".join(lines)) if start - 0.5 <= t <= end]
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    text = (tmp / f"{label}.log").read_text(errors="replace")
    print(f"{label:>28}: [{tmp}] {len(ts)} adverts over {end - start + 0.5:.1f} s, largest gap "
          f"{max(gaps, default=float('nan')):.3f} s, gaps > 0.25 s: "
          f"{sum(g > 0.25 for g in gaps)}; reloads logged: "
          f"{text.count('Reload complete') or text.count('Reloading')}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pythonpath", default=None, help="run this tree's pykeepalived instead")
    ap.add_argument("--no-keepalived", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="reload-gap-"))
    conf = tmp / "big.conf"
    conf.write_text(big_config(100, 1000, 10) + FAST)
    print(f"config: {sum(1 for _ in conf.open())} lines, 100 + 1 instances, 10,000 real "
          "servers")
    ns = f"rg{os.getpid()}"
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "netns", "add", f"{ns}-peer")
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
           "netns", f"{ns}-peer")
        sh("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", f"{ns}-peer", "link", "set", "peer0", "up")
        env = dict(os.environ)
        label = "pykeepalived (this tree)"
        if args.pythonpath:
            env["PYTHONPATH"] = args.pythonpath
            label = f"pykeepalived ({Path(args.pythonpath).name})"
        py = [sys.executable] + ([] if args.pythonpath else ["-P"])
        run_one(ns, tmp, label, [*py, "-m", "pykeepalived", "-n", "-l", "-G", "-P", "-f", str(conf),
                                 "-p", str(tmp / "p.pid"), "-r", str(tmp / "v.pid"),
                                 "-c", str(tmp / "c.pid"), "--state-dir", str(tmp / "st"),
                                 "--dump-dir", str(tmp)], env)
        if not args.no_keepalived and os.access("/usr/sbin/keepalived", os.X_OK):
            run_one(ns, tmp, "keepalived 2.2.7", [
                "/usr/sbin/keepalived", "-n", "-l", "-G", "-P", "-f", str(conf),
                "-p", str(tmp / "k.pid"), "-r", str(tmp / "kv.pid"), "-c", str(tmp / "kc.pid"),
                "-b", str(tmp / "kb.pid")], env)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", f"{ns}-peer"], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
