#!/usr/bin/env python3
"""Checker CPU, pykeepalived vs keepalived 2.2.7, on the same TCP_CHECK set (inside the IPVS guest).

Why: issue 4 asks for keepalived's checker measured on the same real servers as ours, for the
ratio. keepalived's checker child only runs where the kernel has IPVS, so both run in the
user-mode-linux guest (tests/ipvsvm): ONE config, N real servers (default 2,000) spread over
100 NAT virtual servers (192.0.2.1..100:80), real servers 127.1.x.y:PORT (all of 127/8 is
local), TCP_CHECK, delay_loop 1, connect_timeout 2, retry 1. A separate accept-and-close
server process answers every real server and counts the accepts: that count is the
independent measure of checks/s. Each implementation in turn (`keepalived -C -n`, then
`pykeepalived -C -n`) is started, warmed up (IPVS table complete and accepts/s near N),
measured for S seconds (utime+stime and VmRSS of the checker child from /proc, i.e. the
process in the -c pidfile), and stopped.

    .venv/bin/python bench/check_vs_keepalived.py [-n 2000|10000] [--seconds 30]
        [--rounds R] [--impl keepalived --impl pykeepalived] [--mem-mib 1024] [--json F]

On the host it boots the guest and runs itself inside (``--in-guest``). UML makes every
syscall expensive (ptrace round trips), for both implementations alike: the absolute figures
are far above bare-metal ones (bench/check_pool.py), the ratio is the point.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

KEEPALIVED = "/usr/sbin/keepalived"
IMPLS = ("keepalived", "pykeepalived")
N_VS = 100
PORT = 8080
TICK = os.sysconf("SC_CLK_TCK")

# accept-and-close server; stdin commands: "c" -> print accept count, "r" -> start recording
# accepts per 100 ms slot, "s" -> stop and print the slot counts as JSON
SERVER = r"""
import json, selectors, socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1]))); ls.listen(65535); ls.setblocking(False)
sel = selectors.DefaultSelector()
sel.register(ls, selectors.EVENT_READ); sel.register(sys.stdin, selectors.EVENT_READ)
n = 0; slots = None
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        if key.fileobj is ls:
            k = 0
            while k < 512:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    break
                c.close(); k += 1
            n += k
            if slots is not None and k:
                s = int(time.monotonic() * 10); slots[s] = slots.get(s, 0) + k
        else:
            cmd = sys.stdin.readline().strip()
            if not cmd:
                sys.exit(0)
            if cmd == "c":
                print(n, flush=True)
            elif cmd == "r":
                slots = {}; print("ok", flush=True)
            elif cmd == "s":
                print(json.dumps(slots or {}), flush=True); slots = None
"""


def rs_addrs(n: int) -> list[str]:
    base = int(ipaddress.IPv4Address("127.1.0.1"))
    return [str(ipaddress.IPv4Address(base + i)) for i in range(n)]


def config_text(n: int) -> str:
    rs = rs_addrs(n)
    per = -(-n // N_VS)
    out = ["global_defs {", "  router_id bench", "}"]
    for v in range(N_VS):
        chunk = rs[v * per:(v + 1) * per]
        if not chunk:
            break
        out += [f"virtual_server 192.0.2.{v + 1} 80 {{", "  delay_loop 1", "  lb_algo rr",
                "  lb_kind NAT", "  protocol TCP"]
        for a in chunk:
            out += [f"  real_server {a} {PORT} {{", "    weight 1", "    TCP_CHECK {",
                    "      connect_timeout 2", "      retry 1", "      delay_before_retry 1",
                    "    }", "  }"]
        out.append("}")
    return "\n".join(out) + "\n"


class Server:
    def __init__(self) -> None:
        self.p = subprocess.Popen([sys.executable, "-c", SERVER, str(PORT)], text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        if self._line(10) != "ready":
            raise RuntimeError("test server did not start")

    def _line(self, timeout: float) -> str:
        import select
        assert self.p.stdout is not None
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise TimeoutError("test server did not answer")
        return self.p.stdout.readline().strip()

    def cmd(self, c: str) -> str:
        assert self.p.stdin is not None
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        return self._line(10)

    def count(self) -> int:
        return int(self.cmd("c"))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self.p.stdin is not None
            self.p.stdin.close()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)


def proc_cpu(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    f = stat[stat.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) / TICK  # utime, stime (fields 14, 15)


def proc_rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def guest_busy() -> float:
    """CPU seconds the whole guest spent not idle (all CPUs)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / TICK  # minus idle, iowait


def ipvs_dests() -> int:
    out = subprocess.run(["ipvsadm", "-Ln"], capture_output=True, text=True, timeout=60).stdout
    return sum(1 for line in out.splitlines() if line.lstrip().startswith("->")
               and "RemoteAddress" not in line)


def read_pid(path: Path, deadline: float, proc: subprocess.Popen[bytes]) -> int:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited {proc.returncode} before writing {path.name}")
        with contextlib.suppress(OSError, ValueError, IndexError):  # not yet / half written
            pid = int(path.read_text().split()[0])
            if Path(f"/proc/{pid}").exists():
                return pid
        time.sleep(0.1)
    raise TimeoutError(f"no pid in {path}")


def run_impl(impl: str, n: int, seconds: float, srv: Server, tmp: Path,
             warm_timeout: float) -> dict[str, float]:
    conf = tmp.parent / "bench.conf"
    run = tmp / impl
    run.mkdir()
    pids = ["-p", str(run / "parent.pid"), "-r", str(run / "vrrp.pid"),
            "-c", str(run / "checker.pid")]
    if impl == "keepalived":
        argv = [KEEPALIVED, "-C", "-n", "-l", "-G", "-f", str(conf), *pids,
                "-b", str(run / "bfd.pid")]
    else:
        argv = [sys.executable, "-m", "pykeepalived", "-C", "-n", "-l", "-G", "-f", str(conf),
                *pids, "--state-dir", str(run / "state"), "--dump-dir", str(run)]
    subprocess.run(["ipvsadm", "-C"], check=True, timeout=60)
    log = open(run / "log", "wb")  # noqa: SIM115 - closed in finally
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                            start_new_session=True)
    try:
        deadline = t0 + warm_timeout
        child = read_pid(run / "checker.pid", deadline, proc)
        # warmup 1: the IPVS table is complete
        while (d := ipvs_dests()) < n:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise TimeoutError(f"IPVS table has {d}/{n} real servers")
            time.sleep(0.5)
        t_table = time.monotonic() - t0
        # warmup 2: checks run at (nearly) the configured rate for 3 s in a row -- or, when
        # the guest cannot sustain it, the rate has stopped growing (plateau, flagged)
        good, last, rates = 0, srv.count(), []
        while good < 3:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise TimeoutError(f"checks not at rate: {rates[-5:]}/s of {n}")
            time.sleep(1)
            now = srv.count()
            rates.append(now - last)
            last = now
            good = good + 1 if rates[-1] >= 0.9 * n else 0
            if len(rates) >= 15 and max(rates[-5:]) <= max(rates[:-5]) * 1.02:
                break  # no growth in the last 5 s
        t_warm = time.monotonic() - t0
        print(f"[{impl}] table complete after {t_table:.1f}s, checks at rate after "
              f"{t_warm:.1f}s; measuring {seconds:.0f}s", file=sys.stderr, flush=True)
        parent = proc.pid
        srv.cmd("r")
        c0, p0, k0, w0 = proc_cpu(child), proc_cpu(parent), srv.count(), time.monotonic()
        s0, g0 = proc_cpu(srv.p.pid), guest_busy()
        rss_max = 0.0
        end = w0 + seconds
        while time.monotonic() < end:
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
            rss_max = max(rss_max, proc_rss(child))
        c1, p1, k1, w1 = proc_cpu(child), proc_cpu(parent), srv.count(), time.monotonic()
        s1, g1 = proc_cpu(srv.p.pid), guest_busy()
        slots = json.loads(srv.cmd("s"))
        dests = ipvs_dests()
        wall = w1 - w0
        checks = k1 - k0
        used = c1 - c0
        # whole 100 ms slots only (drop the partial first and last)
        keys = sorted(int(k) for k in slots)
        per_slot = [slots[str(k)] for k in keys[1:-1]]
        return {
            "checks_per_s": checks / wall,
            "cpu_pct": used / wall * 100,
            "us_per_check": used / checks * 1e6 if checks else float("nan"),
            "rss_mib": proc_rss(child),
            "rss_max_mib": rss_max,
            "parent_cpu_pct": (p1 - p0) / wall * 100,
            "server_cpu_pct": (s1 - s0) / wall * 100,
            "guest_busy_pct": (g1 - g0) / wall * 100 / (os.cpu_count() or 1),
            "saturated": float(good < 3),
            "slot_min": min(per_slot) if per_slot else 0,
            "slot_max": max(per_slot) if per_slot else 0,
            "slot_cv": (statistics.pstdev(per_slot) / statistics.mean(per_slot)
                        if len(per_slot) > 1 and statistics.mean(per_slot) else float("nan")),
            "dests_at_end": dests,
            "table_s": t_table,
            "warm_s": t_warm,
        }
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()
        with contextlib.suppress(ProcessLookupError):  # stragglers of the group
            os.killpg(proc.pid, signal.SIGKILL)
        tail = (run / "log").read_bytes().decode(errors="replace").splitlines()[-5:]
        if proc.returncode not in (0, -signal.SIGTERM):
            print(f"[{impl}] exit {proc.returncode}; log tail:\n  " + "\n  ".join(tail),
                  file=sys.stderr)


def table(res: dict[str, dict[str, float]], n: int, seconds: float, rounds: int) -> str:
    ref = res.get("keepalived")
    lines = [
        f"TCP_CHECK, {n} real servers over {N_VS} VS, delay_loop 1, {seconds:.0f}s measured "
        f"(UML guest; median of {rounds} round(s))",
        "| impl | checks/s | CPU % | µs CPU/check | RSS MiB | accepts/100ms min–max (CV) "
        "| ratio µs/check ours/ka | ratio CPU ours/ka | ratio RSS ours/ka |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for impl, r in res.items():
        if ref and impl != "keepalived":
            ratios = [f"{r['us_per_check'] / ref['us_per_check']:.2f}",
                      f"{r['cpu_pct'] / ref['cpu_pct']:.2f}",
                      f"{r['rss_mib'] / ref['rss_mib']:.2f}"]
        else:
            ratios = ["1", "1", "1"] if impl == "keepalived" else ["n/a"] * 3
        lines.append(
            f"| {impl} | {r['checks_per_s']:.0f} | {r['cpu_pct']:.1f} | "
            f"{r['us_per_check']:.0f} | {r['rss_mib']:.1f} | "
            f"{r['slot_min']:.0f}–{r['slot_max']:.0f} ({r['slot_cv']:.2f}) | "
            + " | ".join(ratios) + " |")
    lines.append("")
    for impl, r in res.items():
        sat = " (PLATEAU below N/s: guest saturated)" if r["saturated"] else ""
        lines.append(f"{impl}: table complete {r['table_s']:.1f}s, at rate {r['warm_s']:.1f}s "
                     f"after start{sat}; "
                     f"parent CPU {r['parent_cpu_pct']:.1f} %, "
                     f"test server {r['server_cpu_pct']:.1f} %, "
                     f"whole guest busy {r['guest_busy_pct']:.0f} %; "
                     f"real servers in IPVS at end {r['dests_at_end']:.0f}/{n}; "
                     f"max RSS {r['rss_max_mib']:.1f} MiB")
    return "\n".join(lines)


def in_guest(args: argparse.Namespace) -> int:
    runs: dict[str, list[dict[str, float]]] = {i: [] for i in args.impl}
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-chk-") as d:
        tmp = Path(d)
        (tmp / "bench.conf").write_text(config_text(args.n))
        srv = Server()
        try:
            for rnd in range(args.rounds):  # alternate the implementations round by round
                for impl in args.impl:
                    rd = tmp / f"r{rnd}"
                    rd.mkdir(exist_ok=True)
                    try:
                        runs[impl].append(run_impl(impl, args.n, args.seconds, srv, rd,
                                                   args.warm_timeout))
                    except Exception as e:  # report it, go on with the other
                        failed.append(f"{impl} round {rnd + 1}: {type(e).__name__}: {e}")
                        print(f"[{impl}] FAILED: {e!r}", file=sys.stderr)
        finally:
            srv.close()
            subprocess.run(["ipvsadm", "-C"], timeout=60)
    # median of each figure over the rounds
    res = {i: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for i, rs in runs.items() if rs}
    if args.rounds > 1:
        for i, rs in runs.items():
            print(f"{i} µs CPU/check per round: "
                  + ", ".join(f"{r['us_per_check']:.0f}" for r in rs), file=sys.stderr)
    if res:
        print(table(res, args.n, args.seconds, args.rounds))
    for f in failed:
        print(f"FAILED {f}")
    outdir = os.environ.get("IPVSVM_OUTDIR")
    if outdir and os.path.isdir(outdir):
        Path(outdir, "check_vs_keepalived.json").write_text(json.dumps(runs, indent=1))
    elif args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 1 if failed else 0


def on_host(args: argparse.Namespace, argv: list[str]) -> int:
    from ipvsvm.guest import run_script_in_guest

    return run_script_in_guest(__file__, argv, json_name="check_vs_keepalived.json",
                               json_out=args.json, cwd=ROOT, timeout=args.timeout,
                               mem_mib=args.mem_mib)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="real servers (default 2000; try 10000)")
    ap.add_argument("--seconds", type=float, default=30.0, help="measurement window (s)")
    ap.add_argument("--impl", action="append", choices=IMPLS)
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate the implementations this many times; report medians")
    ap.add_argument("--warm-timeout", type=float, default=180.0,
                    help="bound on start-up + warmup per implementation (s)")
    ap.add_argument("--mem-mib", type=int, default=1024, help="guest RAM (MiB)")
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--timeout", type=float, default=1200, help="guest time limit (s)")
    ap.add_argument("--in-guest", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.impl = args.impl or list(IMPLS)
    if args.in_guest or os.environ.get("IPVSVM_GUEST") == "1":
        return in_guest(args)
    return on_host(args, [a for a in argv if a != "--in-guest"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
