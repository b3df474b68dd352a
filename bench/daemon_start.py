#!/usr/bin/env python3
"""Daemon start benchmark: start -> first "Entering BACKUP STATE", and the settled footprint.

Why it matters: of two nodes started at the same moment, the slower one loses the first
election to a lower-priority peer, then preempts it: a needless VIP move.

Each run starts the daemon (`-n -l -G`) inside a fresh network namespace with a veth `eth0`
(192.0.2.12/24, peer end up in the same namespace), reads its log as it comes and stamps the
first "Entering BACKUP STATE" line; then waits SETTLE seconds and reads
/proc/PID/smaps_rollup of the parent and each child (from their pidfiles): RSS (what the
issue's target counts; shared pages counted in every process), PSS (shared pages split
between the processes sharing them: what the processes cost together), USS (the pages only
that process has: what stopping it would free) and the CPU time all of them used (on a
loaded host the wall time grows, the CPU time does not). At the BACKUP line it also reads the
CPU time the parent and the VRRP child have run so far (/proc/PID/schedstat, ns): the
start's cost, which the host's load does not change (pykeepalived's config loader, a child
the parent has reaped by then, is outside it: it runs beside the parent's own imports).
keepalived 2.2.7 runs the same way in the same run.

Configs: the seed (conf.d/lvs-dr-backup.conf) and its VRRP part only. This host has no IPVS,
so the seed runs with `-P` (the VRRP child only, as `pykeepalived lab` does); `--checker`
runs the seed without -P (needs IPVS: in the UML guest). Run as root from the repo:
`.venv/bin/python bench/daemon_start.py [--runs 5] [--tree OLD_TREE --tree .]`.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "conf.d" / "lvs-dr-backup.conf"
SETTLE = 2.0
CLONE_NEWNET = 0x40000000


Mem = dict[str, tuple[float, float, float, float]]  # role: RSS, PSS, USS MiB, CPU ms
AT_BACKUP = "at-backup"  # in a Mem: (parent, vrrp child) CPU ms at the first BACKUP line
ROLES = ["parent", "vrrp", "checker"]


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def vrrp_only(seed: str) -> str:
    """The seed without its virtual_server block."""
    i = seed.index("virtual_server")
    return seed[:i]


def cpu_ms(pid: int) -> float:
    """user + system CPU time PID has used, in ms (a figure the host's load does not skew),
    with that of its children it has reaped (pykeepalived's config loader)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in f[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def smaps(pid: int) -> tuple[float, float, float, float]:
    """RSS, PSS and USS (private pages) of PID in MiB (0 when it is gone), and its CPU ms."""
    kb = {"Rss": 0, "Pss": 0, "Private_Clean": 0, "Private_Dirty": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                key = line.split(":", 1)[0]
                if key in kb:
                    kb[key] = int(line.split()[1])
    except OSError:
        pass
    return (kb["Rss"] / 1024, kb["Pss"] / 1024,
            (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024, cpu_ms(pid))


def run_ms(pid: int | None) -> float:
    """CPU time PID has run, in ms, to the nanosecond (/proc/PID/schedstat; 0 when gone)."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as fh:
            return int(fh.read().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def run_once(ns: str, argv: list[str], env: dict[str, str], tmp: Path
             ) -> tuple[float | None, Mem, str]:
    """Seconds to the first BACKUP line, {role: (rss, pss)}, the log."""
    nsfd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    libc = ctypes.CDLL(None, use_errno=True)

    def enter() -> None:  # setns in the child: no `ip netns exec` in the measured time
        if libc.setns(nsfd, CLONE_NEWNET) != 0:
            os._exit(126)
        os.setsid()

    for f in tmp.glob("*.pid"):
        f.unlink()
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                         cwd="/", preexec_fn=enter, pass_fds=(nsfd,))
    os.close(nsfd)
    assert p.stdout is not None
    out = b""
    took: float | None = None
    at_backup = (0.0, 0.0)
    try:
        while time.perf_counter() - t0 < 20:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
                if took is None and b"Entering BACKUP STATE" in out:
                    took = time.perf_counter() - t0
                    # the CPU the way to BACKUP took, load or not (the parent's includes the
                    # little it did after the fork; its reaped config loader is not in it)
                    at_backup = (run_ms(read_pid(tmp / "p.pid")), run_ms(read_pid(tmp / "v.pid")))
                    break
        deadline = time.perf_counter() + SETTLE
        while time.perf_counter() < deadline:  # keep draining: a full pipe would block it
            r, _, _ = select.select([p.stdout], [], [], 0.1)
            if r:
                out += os.read(p.stdout.fileno(), 65536)
        mem: Mem = {}
        for role, name in (("parent", "p.pid"), ("vrrp", "v.pid"), ("checker", "c.pid")):
            pid = read_pid(tmp / name)
            if pid is not None:
                mem[role] = smaps(pid)
        mem[AT_BACKUP] = (*at_backup, 0.0, 0.0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
        try:
            rest, _ = p.communicate(timeout=15)
            out += rest or b""
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate(timeout=5)
    return took, mem, out.decode(errors="replace")


def summary(label: str, runs: list[tuple[float | None, Mem, str]]) -> None:
    times = [t for t, _, _ in runs if t is not None]
    if not times:
        print(f"{label:>34}: never reached BACKUP; log of the last run:\n{runs[-1][2][-2000:]}")
        return
    roles = sorted({r for _, m, _ in runs for r in m if r in ROLES}, key=ROLES.index)

    def med(role: str, i: int) -> float:
        return statistics.median(m[role][i] for _, m, _ in runs if role in m)

    parts = ", ".join(f"{r} {med(r, 0):.1f}/{med(r, 1):.1f}/{med(r, 2):.1f}/{med(r, 3):.0f}"
                      for r in roles)

    def pv(i: int) -> float:
        zero = (0.0, 0.0, 0.0, 0.0)
        return statistics.median(m.get("parent", zero)[i] + m.get("vrrp", zero)[i]
                                 for _, m, _ in runs)

    cpu = [sum(v[3] for r, v in m.items() if r in ROLES) for _, m, _ in runs]
    bp = statistics.median(m[AT_BACKUP][0] for _, m, _ in runs if AT_BACKUP in m)
    bv = statistics.median(m[AT_BACKUP][1] for _, m, _ in runs if AT_BACKUP in m)
    print(f"{label:>34}: start->BACKUP median {statistics.median(times) * 1000:6.1f} ms "
          f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}, {len(times)}/{len(runs)})"
          f"; CPU to BACKUP parent {bp:.1f} + vrrp {bv:.1f} ms"
          f"; parent+vrrp RSS {pv(0):.1f} MiB, PSS {pv(1):.1f} MiB, USS {pv(2):.1f} MiB; "
          f"CPU (all processes, to settled) {statistics.median(cpu):.0f} ms; "
          f"RSS/PSS/USS MiB/CPU ms: {parts}")


def site_packages(python: str) -> str:
    """The interpreter's site-packages (lark, psutil, pyroute2), for a run without site."""
    out = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         capture_output=True, text=True, check=True, timeout=30)
    return out.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tree", action="append", default=[], metavar="DIR",
                    help="(repeatable) measure the pykeepalived of this source tree instead, "
                         "e.g. an older commit's `git archive` beside this one, interleaved; "
                         "run with `python -S` and PYTHONPATH=DIR:site-packages (an editable "
                         "install's finder would take precedence over PYTHONPATH)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--checker", action="store_true",
                    help="the seed with its checker child (needs IPVS in the kernel)")
    ap.add_argument("--no-keepalived", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="daemon-start-"))
    seed = SEED.read_text()
    confs = {"seed": seed, "vrrp-only": vrrp_only(seed)}
    for name, text in confs.items():
        (tmp / f"{name}.conf").write_text(text)
    ns = f"ds{os.getpid()}"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # an installed pykeepalived has its bytecode compiled (the .deb does it); without it every
    # start compiles every module again (+200 ms): let the first, unmeasured, run write it
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # label -> (interpreter argv, environment)
    variants: dict[str, tuple[list[str], dict[str, str]]] = {}
    if args.tree:
        lib = site_packages(args.python)
        for tree in args.tree:
            t = Path(tree).resolve()
            label = f"pykeepalived ({t.name}, -S)"
            variants[label] = ([args.python, "-S", "-P"], dict(env, PYTHONPATH=f"{t}:{lib}"))
    else:
        variants["pykeepalived"] = ([args.python, "-P"], env)
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
        sh("ip", "-n", ns, "addr", "add", "192.0.2.12/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "peer0", "up")
        for name in confs:
            conf = str(tmp / f"{name}.conf")
            mode = [] if args.checker and name == "seed" else ["-P"]
            common = ["-n", "-l", "-G", *mode, "-f", conf, "-p", str(tmp / "p.pid"),
                      "-r", str(tmp / "v.pid"), "-c", str(tmp / "c.pid")]
            pyk = {label: ([*py, "-m", "pykeepalived", *common, "--state-dir", str(tmp / "st"),
                            "--dump-dir", str(tmp)], venv)
                   for label, (py, venv) in variants.items()}
            kad = ["/usr/sbin/keepalived", *common, "-b", str(tmp / "b.pid")]
            res: dict[str, list[Any]] = {label: [] for label in pyk}
            res["keepalived 2.2.7"] = []
            for argv, venv in pyk.values():
                run_once(ns, argv, venv, tmp)  # warm-up: bytecode written, page cache filled
            for _ in range(args.runs):  # interleaved: all see the same load
                for label, (argv, venv) in pyk.items():
                    res[label].append(run_once(ns, argv, venv, tmp))
                if not args.no_keepalived and os.access(kad[0], os.X_OK):
                    res["keepalived 2.2.7"].append(run_once(ns, kad, env, tmp))
            print(f"config {name}{' (-P)' if mode else ''}:")
            for lab, runs in res.items():
                if runs:
                    summary(lab, runs)
            if os.environ.get("BENCH_LOG"):
                for label in pyk:
                    print(re.sub(r"^", "    ", res[label][-1][2], flags=re.M))
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
