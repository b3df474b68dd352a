#!/usr/bin/env python3
"""Soak: two VRRP nodes and a 1,000-real-server checker pool under random faults.

Why: the hardening tests prove each fault once; a soak proves they do not accumulate (leaked
fds, growing RSS, a split brain that does not heal) and measures the worst VIP absence
against the failover bound over many faults.

Set-up (network namespaces made here, documentation addresses only):
* nodes a (priority 100, state MASTER) and b (90) run the real daemon, ``pykeepalived -n -P``
  (parent + VRRP child), VI_1 VRRPv3 advert_int 0.1 s, VIP 192.0.2.100, a vrrp_script
  ``test ! -e FLAG`` (weight 0: failure = FAULT);
* the checker pool: the daemon's checker child needs IPVS, which this kernel lacks, so the
  pool (pykeepalived.check.pool.CheckerPool, the same class the checker child runs) runs in a
  helper process in node a's namespace: 1,000 TCP_CHECK real servers on 127.1.x.y, delay_loop
  1 s, served by a separate accept-and-close server process (bench/check_pool.py's).

Faults, one every 3-6 s at random: kill -9 of a node's VRRP child (the parent respawns it),
link flap (eth0 down 1 s), vrrp_script failure (FLAG for 2 s), real-server outage (the server
process killed, restarted 2 s later: 1,000 checks fail and recover).
Measured: VIP presence on both nodes sampled every 20 ms -> longest VIP absence (vs the
failover bound), split-brain episodes (both nodes hold the VIP); RSS and fds of the
long-lived processes (parents, pool) after warm-up vs at the end.

Usage: bench/soak.py [--minutes 30] [--seed 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from nsrig import PYTHON, REPO, Rig, sh, wait_for  # noqa: E402

VIP = "192.0.2.100"
ADVERT = 0.1
N_RS = 1000
SAMPLE = 0.02

CONF = """global_defs {{
    router_id soak_{node}
    enable_script_security
    script_user root
}}
vrrp_script chk {{
    script "/usr/bin/test ! -e {flag}"
    interval 1
    fall 1
    rise 1
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int {advert}
    version 3
    track_script {{
        chk
    }}
    virtual_ipaddress {{
        {vip}/24
    }}
}}
"""

POOL = r"""
import asyncio, json, os, resource, signal, sys, time
sys.path.insert(0, sys.argv[4])
from check_pool import build
from pykeepalived.check.pool import CheckerPool
n, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
async def main():
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    events = [0]
    def on_event(ev):  # consume: without a consumer the pool queues every event
        events[0] += 1
    pool = CheckerPool(build(n, port, False, 1.0), seed=1, max_concurrent=1024,
                       on_event=on_event)
    await pool.start()
    with open(out, "a") as f:
        while not stop.is_set():
            snap = pool.snapshot()
            down = sum(1 for v in snap.virtual_servers for r in v.real_servers if not r.alive)
            f.write(json.dumps({"t": time.time(), "checks": pool.checks, "down": down,
                                "events": events[0]}) + "\n")
            f.flush()
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
    await pool.stop()
asyncio.run(main())
"""


def failover_bound() -> float:
    """Master_Down_Interval of the BACKUP (3 adverts + skew) + VIP add and sampling slack."""
    return 3 * ADVERT + (256 - 90) / 256 * ADVERT + 0.4


class Soak:
    def __init__(self, tmp: Path, minutes: float, seed: int) -> None:
        self.tmp = tmp
        self.seconds = minutes * 60
        self.rng = random.Random(seed)
        self.rig = Rig(tmp, ("a", "b"))
        self.parents: dict[str, subprocess.Popen[bytes]] = {}
        self.server: subprocess.Popen[bytes] | None = None
        self.pool: subprocess.Popen[bytes] | None = None
        self.port = 18080
        self.faults: Counter[str] = Counter()
        self.fault_log: list[tuple[float, str]] = []
        self.pending: list[tuple[float, str, str]] = []  # (when, action, node)
        self.double: set[int] = set()  # indexes of absences with a VRRP child down

    # -- set-up -----------------------------------------------------------------------
    def flag(self, node: str) -> Path:
        return self.tmp / f"fail-{node}"

    def start_node(self, node: str, state: str, prio: int) -> None:
        d = self.tmp / node
        d.mkdir(exist_ok=True)
        conf = self.rig.write_conf(node, CONF.format(node=node, flag=self.flag(node),
                                                     state=state, prio=prio, advert=ADVERT,
                                                     vip=VIP))
        argv = ["ip", "netns", "exec", self.rig.ns(node), PYTHON, "-m", "pykeepalived", "-n",
                "-l", "-G", "-P", "-f", str(conf), "-p", str(d / "parent.pid"), "-r",
                str(d / "vrrp.pid"), "-c", str(d / "checker.pid"), "--state-dir",
                str(d / "state"), "--dump-dir", str(d)]
        p = self.rig._spawn(node, "py", argv, self.tmp / f"{node}.log")
        self.parents[node] = p.popen

    def start_server(self) -> None:
        sys.path.insert(0, str(ROOT / "bench"))
        from check_pool import SERVER

        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.rig.ns("a"), PYTHON, "-c", SERVER, str(self.port), "0"],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert self.server.stdout is not None
        assert self.server.stdout.readline().strip() == "ready"

    def start_pool(self) -> None:
        self.pool = subprocess.Popen(
            ["ip", "netns", "exec", self.rig.ns("a"), "env", f"PYTHONPATH={REPO}", PYTHON, "-c",
             POOL, str(N_RS), str(self.port), str(self.tmp / "pool.jsonl"), str(ROOT / "bench")],
            stdout=subprocess.DEVNULL, stderr=open(self.tmp / "pool.log", "wb"),  # noqa: SIM115
            start_new_session=True)

    # -- observation --------------------------------------------------------------------
    def has_vip(self, node: str) -> bool:
        return f" {VIP}/" in sh("ip", "-n", self.rig.ns(node), "-o", "addr", "show", "dev",
                                "eth0", check=False).stdout

    def child_pid(self, node: str) -> int | None:
        try:
            return int((self.tmp / node / "vrrp.pid").read_text())
        except (OSError, ValueError):
            return None

    def child_alive(self, node: str) -> bool:
        pid = self.child_pid(node)
        return pid is not None and psutil.pid_exists(pid) and \
            psutil.Process(pid).status() != psutil.STATUS_ZOMBIE

    @staticmethod
    def usage(pid: int | None) -> tuple[float, int]:
        """(RSS MiB, open fds) of a process and its descendants."""
        if pid is None:
            return 0.0, 0
        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.Error:
            return 0.0, 0
        rss = fds = 0
        for q in procs:
            with contextlib.suppress(psutil.Error):
                if q.name() in ("ip", "sleep", "test"):
                    continue
                rss += q.memory_info().rss
                fds += q.num_fds()
        return rss / 2**20, fds

    def resources(self) -> dict[str, tuple[float, int]]:
        out = {f"node {n} (parent+child)": self.usage(p.pid) for n, p in self.parents.items()}
        out["checker pool (1,000 RS)"] = self.usage(self.pool.pid if self.pool else None)
        return out

    # -- faults -------------------------------------------------------------------------
    def fault(self, now: float) -> None:
        kind = self.rng.choice(["kill_child", "link_flap", "script_fail", "rs_outage"])
        node = self.rng.choice(["a", "b"])
        busy = {n for _w, _a, n in self.pending}
        if kind in ("link_flap", "script_fail") and node in busy:
            return
        if kind == "rs_outage" and "pool" in busy:
            return
        self.faults[kind] += 1
        self.fault_log.append((time.time(), f"{kind} {node if kind != 'rs_outage' else ''}"))
        if kind == "kill_child":
            pid = self.child_pid(node)
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        elif kind == "link_flap":
            sh("ip", "-n", self.rig.ns(node), "link", "set", "eth0", "down")
            self.pending.append((now + 1.0, "link_up", node))
        elif kind == "script_fail":
            self.flag(node).write_text("")
            self.pending.append((now + 2.0, "script_ok", node))
        else:
            if self.server is not None:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
                self.server = None
            self.pending.append((now + 2.0, "server_up", "pool"))

    def undo(self, now: float) -> None:
        keep = []
        for when, action, node in self.pending:
            if when > now:
                keep.append((when, action, node))
            elif action == "link_up":
                sh("ip", "-n", self.rig.ns(node), "link", "set", "eth0", "up")
            elif action == "script_ok":
                self.flag(node).unlink(missing_ok=True)
            elif action == "server_up":
                self.start_server()
        self.pending = keep

    # -- run ----------------------------------------------------------------------------
    def run(self) -> dict[str, object]:
        self.rig.up()
        try:
            return self._run()
        finally:
            for p in (self.pool, self.server):
                if p is not None and p.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.pid, signal.SIGTERM if p is self.pool else signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        p.wait(10)
            for p in self.parents.values():
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(10)
            self.rig.down()

    def _run(self) -> dict[str, object]:
        self.start_node("a", "MASTER", 100)
        self.start_node("b", "BACKUP", 90)
        self.start_server()
        self.start_pool()
        assert wait_for(lambda: self.has_vip("a"), 15), "a never became MASTER"
        warm = min(30.0, self.seconds * 0.1)
        print(f"warming up {warm:.0f} s (pool start-up spreads 1,000 checks) ...", flush=True)
        time.sleep(warm)
        res0 = self.resources()
        t_start = time.monotonic()
        t_end = t_start + self.seconds
        next_fault = t_start + self.rng.uniform(3, 6)
        absent_since: float | None = None
        down_nodes: list[str] = []
        split_since: float | None = None
        absences: list[tuple[float, float]] = []  # (start wall, duration)
        splits: list[tuple[float, float]] = []
        samples = 0
        next_report = t_start + 60
        while True:
            now = time.monotonic()
            if now >= t_end and not self.pending:
                break
            if now >= next_fault and now < t_end:
                self.fault(now)
                next_fault = now + self.rng.uniform(3, 6)
            self.undo(now)
            a, b = self.has_vip("a"), self.has_vip("b")
            samples += 1
            if not a and not b:
                if absent_since is None:
                    absent_since = now
                    # a double fault: one node's VRRP child is dead (respawn back-off)
                    down_nodes = [n for n in ("a", "b") if not self.child_alive(n)]
            elif absent_since is not None:
                absences.append((time.time() - (now - absent_since), now - absent_since))
                if down_nodes:
                    self.double.add(len(absences) - 1)
                absent_since = None
            if a and b:
                split_since = split_since or now
            elif split_since is not None:
                splits.append((time.time() - (now - split_since), now - split_since))
                split_since = None
            if now >= next_report:
                worst = max((d for _t, d in absences), default=0.0)
                print(f"  {(now - t_start) / 60:.0f} min: {sum(self.faults.values())} faults, "
                      f"longest VIP absence {worst:.2f} s", flush=True)
                next_report = now + 60
            time.sleep(SAMPLE)
        for t, d in splits:
            ctx = [f"{f} at {ft - t:+.2f} s" for ft, f in self.fault_log if t - 3 <= ft <= t]
            print(f"    split brain {d:.3f} s; faults just before: {ctx}")
        for flag in ("a", "b"):
            self.flag(flag).unlink(missing_ok=True)
        time.sleep(3)  # settle: the last fault heals
        res1 = self.resources()
        final = (self.has_vip("a"), self.has_vip("b"))
        pool_lines = [json.loads(ln) for ln in (self.tmp / "pool.jsonl").read_text().splitlines()]
        return self.report(res0, res1, absences, splits, samples, final, pool_lines)

    def report(self, res0: dict[str, tuple[float, int]], res1: dict[str, tuple[float, int]],
               absences: list[tuple[float, float]], splits: list[tuple[float, float]],
               samples: int, final: tuple[bool, bool], pool: list[dict[str, float]]
               ) -> dict[str, object]:
        bound = failover_bound()
        worst = max(absences, key=lambda x: x[1], default=(0.0, 0.0))
        cause = ""
        if worst[1]:
            before = [f for t, f in self.fault_log if t <= worst[0] + 0.05]
            cause = before[-1] if before else "start"
        logs = {n: (self.tmp / f"{n}.log").read_text(errors="replace") for n in ("a", "b")}
        respawns = {n: len(re.findall(r"VRRP child process\(\d+\) died: Respawning", logs[n]))
                    for n in logs}
        tracebacks = {n: logs[n].count("Traceback") for n in logs}
        over = [d for _t, d in absences if d > bound]
        single = [d for i, (_t, d) in enumerate(absences) if i not in self.double]
        double = [d for i, (_t, d) in enumerate(absences) if i in self.double]
        checks_rate = 0.0
        if len(pool) > 2:
            checks_rate = (pool[-1]["checks"] - pool[0]["checks"]) / (pool[-1]["t"] - pool[0]["t"])
        print("\n==== soak report ====")
        print(f"duration {self.seconds / 60:.1f} min, {samples} VIP samples "
              f"(every {SAMPLE * 1000:.0f} ms + sampling cost)")
        print(f"faults: {dict(self.faults)} (total {sum(self.faults.values())})")
        print(f"VIP absences: {len(absences)}, longest {worst[1]:.3f} s (after: {cause}); "
              f"failover bound {bound:.3f} s; over the bound: {len(over)} "
              f"{[round(d, 3) for d in sorted(over, reverse=True)[:5]]}")
        print(f"  single faults: {len(single)} absences, longest "
              f"{max(single, default=0):.3f} s, over the bound {sum(d > bound for d in single)};"
              f" with a VRRP child down (respawn back-off): {len(double)}, longest "
              f"{max(double, default=0):.3f} s")
        for i, (t, d) in enumerate(absences):
            if d > bound:
                print(f"    {'double' if i in self.double else 'single'} fault:", end="")
                ctx = [f"{f} at {ft - t:+.2f} s" for ft, f in self.fault_log if t - 6 <= ft <= t]
                print(f"    absence {d:.3f} s; faults in the 6 s before: {ctx}")
        print(f"split brain episodes: {len(splits)}, longest "
              f"{max((d for _t, d in splits), default=0):.3f} s, total "
              f"{sum(d for _t, d in splits):.2f} s")
        print(f"end state: a has VIP {final[0]}, b has VIP {final[1]}")
        print(f"VRRP child respawns: {respawns}; tracebacks in logs: {tracebacks}")
        end_down = pool[-1]["down"] if pool else "?"
        print(f"checker pool: {checks_rate:.0f} checks/s, max RS down at once "
              f"{max((p['down'] for p in pool), default=0)}, down at end {end_down}")
        print("resources after warm-up -> end (RSS MiB, fds):")
        for k in res0:
            r0, r1 = res0[k], res1[k]
            print(f"  {k}: {r0[0]:.1f} -> {r1[0]:.1f} MiB ({r1[0] - r0[0]:+.1f}), "
                  f"fds {r0[1]} -> {r1[1]} ({r1[1] - r0[1]:+d})")
        return {"minutes": self.seconds / 60, "faults": dict(self.faults),
                "absences": len(absences), "longest_absence": worst[1], "cause": cause,
                "bound": bound, "over_bound": over,
                "over_bound_at": [t for t, d in absences if d > bound],
                "longest_single_fault_absence": max(single, default=0.0),
                "longest_double_fault_absence": max(double, default=0.0), "splits": len(splits),
                "longest_split": max((d for _t, d in splits), default=0.0),
                "split_total": sum(d for _t, d in splits), "final": final,
                "respawns": respawns, "tracebacks": tracebacks, "pool_checks_per_s": checks_rate,
                "resources_start": res0, "resources_end": res1}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the figures here")
    ap.add_argument("--keep", default=None, help="copy the daemon logs to this directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="soak-") as d:
        res = Soak(Path(d), args.minutes, args.seed).run()
        if args.keep:
            import shutil

            os.makedirs(args.keep, exist_ok=True)
            for f in Path(d).glob("*.log"):
                shutil.copy(f, args.keep)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    ok = res["final"] in ((True, False),) and not any(res["tracebacks"].values())  # type: ignore[union-attr]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
