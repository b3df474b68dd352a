"""IPVS sync at scale, run inside the IPVS guest: 1,000 VS x 10 RS from empty, then a reload
changing 1% of the virtual servers (one weight each); `ipvsadm -R` of the same table as the
floor. Run: python tests/... run_in_guest([python, bench/ipvs_sync.py]) (needs kernel IPVS).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

from pykeepalived.ipvs.desired import DesiredTable
from pykeepalived.ipvs.kernel import Dest, Service
from pykeepalived.ipvs.syncer import IpvsSyncer

N_VS, N_RS = 1000, 10


def table(changed: int = 0) -> DesiredTable:
    out = {}
    for i in range(N_VS):
        svc = Service.inet("tcp", f"198.51.{100 + i // 250}.{i % 250 + 1}", 80, scheduler="wrr")
        w = 2 if i < changed else 1
        out[svc] = frozenset(
            Dest(f"203.0.113.{r + 1}", 8000 + i, fwd="masq", weight=w if r == 0 else 1)
            for r in range(N_RS)
        )
    return DesiredTable(out)


def restore_text(t: DesiredTable) -> str:
    lines = []
    for s, ds in t.services.items():
        lines.append(f"-A -t {s.addr}:{s.port} -s {s.scheduler}")
        lines += [f"-a -t {s.addr}:{s.port} -r {d.addr}:{d.port} -m -w {d.weight}" for d in ds]
    return "\n".join(lines) + "\n"


def main() -> None:
    subprocess.run(["ipvsadm", "-C"], check=True)
    base = table()
    t0 = time.perf_counter()
    subprocess.run(["ipvsadm", "-R"], input=restore_text(base), text=True, check=True)
    floor = time.perf_counter() - t0
    subprocess.run(["ipvsadm", "-C"], check=True)
    s = IpvsSyncer()
    t0 = time.perf_counter()
    r1 = s.reconcile(base)
    initial = time.perf_counter() - t0
    t0 = time.perf_counter()
    r2 = s.reconcile(table(changed=N_VS // 100))
    reload = time.perf_counter() - t0
    t0 = time.perf_counter()
    r3 = s.reconcile(table(changed=N_VS // 100))
    noop = time.perf_counter() - t0
    s.release()
    s.close()
    print(f"entries: {N_VS} VS x {N_RS} RS = {N_VS * (N_RS + 1)} lines")
    print(f"ipvsadm -R (floor)      {floor:7.3f} s")
    print(f"syncer initial          {initial:7.3f} s  ops {r1.netlink_ops} writes {r1.writes}")
    print(f"syncer 1% reload        {reload:7.3f} s  ops {r2.netlink_ops} writes {r2.writes}"
          f"  {dict(r2.ops)}")
    print(f"syncer no-op reconcile  {noop:7.3f} s  ops {r3.netlink_ops} writes {r3.writes}")


def conf_text(t: DesiredTable) -> str:
    """The same table as a keepalived.conf (no checkers: every real server is up)."""
    out = []
    for s, ds in t.services.items():
        out += [f"virtual_server {s.addr} {s.port} {{", "  lb_algo wrr", "  lb_kind NAT",
                "  protocol TCP"]
        out += [f"  real_server {d.addr} {d.port} {{ weight {d.weight} }}" for d in ds]
        out.append("}")
    return "\n".join(out) + "\n"


def entries() -> int:
    with open("/proc/net/ip_vs") as fh:
        return sum(1 for ln in fh if ln.startswith(("TCP", "  ->")))


def daemon_time(argv: list[str], want: int, timeout: float = 300.0) -> float | None:
    """Start a daemon; seconds until the kernel table has `want` entries (None: it did not)."""
    subprocess.run(["ipvsadm", "-C"], check=True)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        while time.perf_counter() - t0 < timeout:
            if entries() >= want:
                return time.perf_counter() - t0
            if p.poll() is not None:
                return None
            time.sleep(0.05)
        return None
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
        subprocess.run(["ipvsadm", "-C"], check=True)


def daemons() -> None:
    """keepalived -C vs pykeepalived -C on the same config, from start to a complete table."""
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "k.conf")
        with open(conf, "w") as fh:
            fh.write(conf_text(table()))
        want = N_VS * (N_RS + 1)
        pid = ["-p", f"{d}/p.pid", "-r", f"{d}/r.pid", "-c", f"{d}/c.pid"]
        kad = daemon_time(["keepalived", "-C", "-n", "-G", "-f", conf, *pid], want)
        ours = daemon_time([sys.executable, "-m", "pykeepalived", "-C", "-n", "-G", "-f", conf,
                            "--state-dir", d, "--dump-dir", d, *pid], want)

    def f(v: float | None) -> str:
        return f"{v:7.3f} s" if v is not None else "   n/a"

    print(f"keepalived -C start -> full table    {f(kad)}")
    print(f"pykeepalived -C start -> full table  {f(ours)}")


if __name__ == "__main__":
    main()
    daemons()
