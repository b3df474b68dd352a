"""End-to-end rig for the users' LVS-DR set-up (issue 7): client, two directors, real servers.

Why: the seeds (shared/seeds/000, 002) describe one architecture — a client reaches a VIP, two
directors run keepalived (VRRP MASTER/BACKUP) and IPVS in DR mode, real servers carry the VIP
on lo with arp_ignore=1/arp_announce=2 and serve HTTP. This module builds exactly that out of
network namespaces on one bridge and runs either ``pykeepalived`` or the real keepalived
2.2.7 on the directors with the shipped conf.d configs, so tests and bench/e2e.py can judge
failures from the client's point of view. It needs kernel IPVS (the UML guest,
tests/ipvsvm) and root.

    with Lab(tmp, impl="pykeepalived") as lab:
        lab.start_directors()
        lab.wait_master("d1")
        with lab.client() as c:
            ...
        samples = c.samples()

Topology (192.0.2.0/24 only): a bridge namespace ``<id>-br`` (br0); nodes ``<id>-<name>``
each with ``eth0`` (veth, peer in br0): client .50, directors d1 .11 (MASTER config) and d2
.12 (BACKUP config), real servers rs1 .21, rs2 .22 and rs3 .23 (rs3 is not in the shipped
configs; the reload scenario adds it). Every namespace and process is removed on exit, even
after a failure; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONF_D = REPO / "conf.d"
PYTHON = sys.executable
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
IPVSADM = shutil.which("ipvsadm") or "/usr/sbin/ipvsadm"

Impl = Literal["pykeepalived", "keepalived"]
VIP = "192.0.2.100"
PORT = 80
IFNAME = "eth0"
ADDRS = {
    "client": "192.0.2.50",
    "d1": "192.0.2.11",
    "d2": "192.0.2.12",
    "rs1": "192.0.2.21",
    "rs2": "192.0.2.22",
    "rs3": "192.0.2.23",
}
DIRECTORS = ("d1", "d2")
CONFS = {"d1": "lvs-dr-master.conf", "d2": "lvs-dr-backup.conf"}
RS_WEIGHTS = {"rs1": 1, "rs2": 2}  # from the shipped configs (wrr)
# The seeds' real-server script: VIP on lo, and these for lo and all (we add eth0 too)
RS_SYSCTLS = ("arp_ignore=1", "arp_announce=2")
# VRRP timers of the shipped configs (advert_int 1, priorities 100/90): RFC 3768 master-down
ADVERT_INT = 1.0
BACKUP_PRIORITY = 90
MASTER_DOWN = 3 * ADVERT_INT + (256 - BACKUP_PRIORITY) / 256  # 3.65 s
SKEW = (256 - BACKUP_PRIORITY) / 256


def sh(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run a command (bounded), raising with its output when CHECK and it fails."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} -> {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def wait_for(pred: Callable[[], object], timeout: float, what: str, step: float = 0.05) -> float:
    """Poll PRED until true; return the monotonic time it became true; raise after TIMEOUT."""
    end = time.monotonic() + timeout
    while True:
        if pred():
            return time.monotonic()
        if time.monotonic() >= end:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(step)


# -- configuration adaptation ------------------------------------------------------------


def daemon_argv(impl: str, conf: Path, run: Path) -> list[str]:
    """The foreground daemon command for IMPL, its pidfiles and state under RUN."""
    if impl == "pykeepalived":
        return [PYTHON, "-m", "pykeepalived", "-n", "-l", "-D", "-G", "-f", str(conf),
                "-p", str(run / "parent.pid"), "-r", str(run / "vrrp.pid"),
                "-c", str(run / "checker.pid"), "--state-dir", str(run / "state"),
                "--dump-dir", str(run)]  # fmt: skip
    return [KEEPALIVED, "-n", "-l", "-D", "-f", str(conf),
            "-p", str(run / "parent.pid"), "-r", str(run / "vrrp.pid"),
            "-c", str(run / "checker.pid"), "-b", str(run / "bfd.pid")]  # fmt: skip


@dataclass(frozen=True)
class Timers:
    """Checker timers the harness may shorten for CI time (None: keep the config's value).

    The shipped configs say delay_loop 6, connect_timeout 10, delay_before_retry 3 (and
    nb_get_retry 3, which is never changed: it is where keepalived 2.2.7 and pykeepalived
    differ). VRRP timers (advert_int, priorities) are never changed.
    """

    delay_loop: int | None = None
    connect_timeout: int | None = None
    delay_before_retry: int | None = None
    # write `nb_get_retry N` as `retry N`: then keepalived 2.2.7 retries N times too, and the
    # two implementations can be compared at the same semantics (bench/e2e.py's row 2')
    spell_retry: bool = False


SHIPPED = Timers()
FAST = Timers(delay_loop=2, connect_timeout=2, delay_before_retry=1)
FAST_RETRY = Timers(delay_loop=2, connect_timeout=2, delay_before_retry=1, spell_retry=True)


def config_value(text: str, keyword: str) -> int | None:
    """First integer value of KEYWORD in a config text (comments ignored)."""
    m = re.search(rf"^\s*{keyword}\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else None


def rs_block(addr: str, weight: int, template: str) -> str:
    """A real_server block for ADDR, with the same TCP_CHECK as TEMPLATE's first one."""
    m = re.search(r"(?ms)^([ \t]*)real_server\s+\S+\s+\d+\s*\{.*?^\1\}[ \t]*$", template)
    if not m:
        raise ValueError("no real_server block to copy")
    block = m.group(0)
    block = re.sub(r"real_server\s+\S+", f"real_server {addr}", block, count=1)
    return re.sub(r"(?m)^(\s*weight\s+)\d+", rf"\g<1>{weight}", block, count=1)


def adapt_config(
    text: str,
    *,
    interface: str = IFNAME,
    timers: Timers = SHIPPED,
    extra_rs: Sequence[tuple[str, int]] = (),
) -> str:
    """The shipped config as this rig runs it: the interface name replaced, optionally the
    checker timers (see Timers) and added real servers (reload scenario); nothing else, so
    the legacy keywords (nat_mask, nb_get_retry, persistence_timeout 0) stay."""
    out = re.sub(r"(?m)^(\s*interface\s+)\S+", rf"\g<1>{interface}", text)
    for kw in ("delay_loop", "connect_timeout", "delay_before_retry"):
        v = getattr(timers, kw)
        if v is not None:
            out = re.sub(rf"(?m)^(\s*{kw}\s+)\d+", rf"\g<1>{v}", out)
    if timers.spell_retry:
        out = re.sub(r"(?m)^(\s*)nb_get_retry(\s+\d+)", r"\g<1>retry\g<2>", out)
    if extra_rs:
        blocks = "".join(rs_block(a, w, out) for a, w in extra_rs)
        # before the closing brace of the (single) virtual_server, i.e. the file's last '}'
        i = out.rstrip().rfind("}")
        out = out[:i] + blocks.lstrip("\n") + "\n" + out[i:]
    return out


def timing(text: str, impl: Impl = "pykeepalived") -> dict[str, float]:
    """The checker timing of an (adapted) config, for the scenario bounds. keepalived 2.2.7
    ignores nb_get_retry in TCP_CHECK (retry stays 1); pykeepalived honours it."""
    retry = config_value(text, "retry")
    if impl == "pykeepalived":
        retry = config_value(text, "nb_get_retry") or retry
    return {
        "delay_loop": float(config_value(text, "delay_loop") or 60),
        "connect_timeout": float(config_value(text, "connect_timeout") or 5),
        "retry": float(retry or 1),
        "delay_before_retry": float(config_value(text, "delay_before_retry") or 1),
    }


def detect_bound(text: str, impl: Impl = "pykeepalived", slack: float = 3.0) -> float:
    """Worst time for a checker to drop a refused real server: the next check comes within
    delay_loop, then up to ``retry`` retries each after delay_before_retry (connect_timeout
    applies to a silent server, not a refusing one; the brief's bound includes it anyway)."""
    t = timing(text, impl)
    return (
        t["delay_loop"]
        + t["retry"] * t["delay_before_retry"]
        + t["connect_timeout"] * (t["retry"] + 1)
        + slack
    )


# -- processes --------------------------------------------------------------------------


@dataclass
class Proc:
    """One process we started (in its own session, so its whole group can be killed)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    run_dir: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Signal the process, wait (bounded); SIGKILL its group when it does not exit."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        self.kill_group()
        return self.popen.returncode

    def kill_group(self) -> None:
        """SIGKILL the whole process group (children included) and reap the leader."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


def _spawn(name: str, argv: Sequence[str], log: Path, cwd: Path) -> Proc:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    with open(log, "ab") as f:
        p = subprocess.Popen(
            list(argv), stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=str(cwd), env=env,
        )  # fmt: skip
    return Proc(name, p, log, cwd)


# -- client observations ----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One client request: start time (monotonic), duration, who answered or the error."""

    t: float
    dt: float
    rs: str | None
    err: str | None

    @property
    def ok(self) -> bool:
        return self.rs is not None


def load_samples(path: Path) -> list[Sample]:
    out = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError):
                d = json.loads(line)
                out.append(Sample(d["t"], d["dt"], d["rs"], d["err"]))
    return out


def window(samples: Sequence[Sample], t0: float, t1: float | None = None) -> list[Sample]:
    return [s for s in samples if s.t >= t0 and (t1 is None or s.t < t1)]


def counts(samples: Sequence[Sample]) -> dict[str, int]:
    c: dict[str, int] = {}
    for s in samples:
        key = s.rs if s.ok else "error"
        c[key or "error"] = c.get(key or "error", 0) + 1
    return c


def outage(samples: Sequence[Sample]) -> float:
    """Client-visible outage: the longest time without a successful answer, measured from the
    end of one successful request to the end of the next successful one, minus the loop's
    nominal pacing (the first gap); 0 when no request failed."""
    ok = [s for s in samples if s.ok]
    if not ok or all(s.ok for s in samples):
        return 0.0 if ok else float("inf")
    worst = 0.0
    prev_end: float | None = None
    first_t = samples[0].t
    for s in samples:
        if not s.ok:
            continue
        end = s.t + s.dt
        # (before the first success: from the window's start)
        gap = s.t - (first_t if prev_end is None else prev_end)
        worst = max(worst, gap)
        prev_end = end
    if not samples[-1].ok:  # still failing at the end of the window
        last = samples[-1]
        worst = max(worst, last.t + last.dt - (prev_end or first_t))
    return worst


def failure_span(samples: Sequence[Sample], rs: str | None = None) -> float:
    """Time from the first failed request to the end of the last one (0 if none failed):
    what the client sees while IPVS still sends some connections to a dead real server."""
    bad = [s for s in samples if not s.ok]
    if not bad:
        return 0.0
    return bad[-1].t + bad[-1].dt - bad[0].t


class Client:
    """The bounded request loop in the client namespace (see client.py)."""

    def __init__(self, lab: Lab, interval: float, timeout: float, duration: float) -> None:
        self.lab = lab
        self.out = lab.tmp / f"client-{uuid.uuid4().hex[:6]}.jsonl"
        argv = ["ip", "netns", "exec", lab.ns("client"), PYTHON, str(HERE / "client.py"),
                VIP, str(PORT), str(self.out), "--interval", str(interval),
                "--timeout", str(timeout), "--duration", str(duration)]  # fmt: skip
        self.proc = _spawn("client", argv, lab.tmp / "client.log", lab.tmp)
        lab.procs.append(self.proc)

    def samples(self) -> list[Sample]:
        return load_samples(self.out)

    def wait_ok(self, n: int, timeout: float, rs: str | None = None) -> float:
        """Wait until N successful answers (from RS, if given) arrived; return that time."""

        def enough() -> bool:
            got = [s for s in self.samples() if s.ok and (rs is None or s.rs == rs)]
            return len(got) >= n

        return wait_for(enough, timeout, f"{n} answers{' from ' + rs if rs else ''}", 0.1)

    def stop(self) -> list[Sample]:
        self.proc.stop(signal.SIGTERM, timeout=5)
        return self.samples()


# -- the lab ----------------------------------------------------------------------------


@dataclass
class Director:
    name: str
    impl: Impl
    conf: Path
    proc: Proc | None = None
    starts: int = 0

    def parent_pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.alive() else None


@dataclass
class Lab:
    """The whole rig; a context manager that always tears everything down."""

    tmp: Path
    impl: Impl = "pykeepalived"
    timers: Timers = FAST
    rs_names: tuple[str, ...] = ("rs1", "rs2", "rs3")
    id: str = field(default_factory=lambda: f"e2e{uuid.uuid4().hex[:6]}")
    procs: list[Proc] = field(default_factory=list)
    rs_procs: dict[str, Proc] = field(default_factory=dict)
    directors: dict[str, Director] = field(default_factory=dict)
    crashed: set[str] = field(default_factory=set)
    _nss: list[str] = field(default_factory=list)

    # -- set-up / tear-down
    def ns(self, node: str) -> str:
        return f"{self.id}-{node}"

    def __enter__(self) -> Lab:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        """Bridge + nodes + real servers; directors are started separately."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        br = self.ns("br")
        self._add_ns(br)
        sh("ip", "-n", br, "link", "add", "br0", "type", "bridge", "stp_state", "0",
           "forward_delay", "0")  # fmt: skip
        sh("ip", "-n", br, "link", "set", "br0", "up")
        for node in ("client", *DIRECTORS, *self.rs_names):
            self._add_node(node)
        for rs in self.rs_names:
            self._setup_rs(rs)
        for rs in self.rs_names:
            self.start_rs(rs)
        for rs in self.rs_names:
            self.wait_rs_listening(rs)

    def _add_ns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self._nss.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def _add_node(self, node: str) -> None:
        ns, br = self.ns(node), self.ns("br")
        self._add_ns(ns)
        port = f"p-{node}"
        sh("ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", IFNAME,
           "netns", ns)  # fmt: skip
        sh("ip", "-n", br, "link", "set", port, "master", "br0", "up")
        sh("ip", "-n", ns, "link", "set", IFNAME, "up")
        sh("ip", "-n", ns, "addr", "add", f"{ADDRS[node]}/24", "dev", IFNAME)

    def _setup_rs(self, rs: str) -> None:
        """What the seeds' /etc/init.d/realserver does: VIP/32 on lo, ARP sysctls."""
        ns = self.ns(rs)
        sh("ip", "-n", ns, "addr", "add", f"{VIP}/32", "dev", "lo")
        for dev in ("all", "lo", IFNAME):
            for kv in RS_SYSCTLS:
                sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"net.ipv4.conf.{dev}.{kv}")

    def down(self) -> None:
        for p in reversed(self.procs):
            with contextlib.suppress(Exception):
                p.kill_group()
        for ns in reversed(self._nss):
            sh("ip", "netns", "del", ns, check=False)
        self._nss.clear()

    # -- real servers
    def start_rs(self, rs: str) -> Proc:
        argv = ["ip", "netns", "exec", self.ns(rs), PYTHON, str(HERE / "rs_http.py"), rs,
                str(PORT)]  # fmt: skip
        p = _spawn(rs, argv, self.tmp / f"{rs}.log", self.tmp)
        self.procs.append(p)
        self.rs_procs[rs] = p
        return p

    def rs_listening(self, rs: str) -> bool:
        out = sh("ip", "netns", "exec", self.ns(rs), "ss", "-Htln", f"sport = :{PORT}",
                 check=False).stdout  # fmt: skip
        return bool(out.strip())

    def wait_rs_listening(self, rs: str, timeout: float = 20) -> None:
        wait_for(lambda: self.rs_listening(rs), timeout, f"{rs} listening on :{PORT}", 0.1)

    def stop_rs(self, rs: str) -> float:
        """The seeds' `systemctl stop httpd`: the port now refuses connections."""
        p = self.rs_procs.pop(rs)
        t = time.monotonic()
        p.stop(signal.SIGTERM, timeout=5)
        return t

    # -- directors
    def config_text(self, director: str, extra_rs: Sequence[tuple[str, int]] = ()) -> str:
        src = (CONF_D / CONFS[director]).read_text()
        return adapt_config(src, interface=IFNAME, timers=self.timers, extra_rs=extra_rs)

    def write_config(self, director: str, extra_rs: Sequence[tuple[str, int]] = ()) -> Path:
        path = self.tmp / f"{director}.conf"
        path.write_text(self.config_text(director, extra_rs))
        return path

    def start_directors(self) -> None:
        for d in DIRECTORS:
            self.start_director(d)

    def start_director(self, d: str) -> Proc:
        conf = self.tmp / f"{d}.conf"
        if not conf.exists():
            self.write_config(d)
        dr = self.directors.setdefault(d, Director(d, self.impl, conf))
        dr.starts += 1
        run = self.tmp / f"{d}-run{dr.starts}"  # fresh pidfiles: a SIGKILL leaves them
        run.mkdir()
        argv = daemon_argv(self.impl, conf, run)
        p = _spawn(d, ["ip", "netns", "exec", self.ns(d), *argv], self.tmp / f"{d}.log", run)
        self.procs.append(p)
        dr.proc = p
        return p

    def signal_director(self, d: str, sig: int) -> float:
        p = self.directors[d].proc
        assert p is not None
        t = time.monotonic()
        os.kill(p.pid, sig)
        return t

    def stop_director(self, d: str, timeout: float = 20) -> float:
        """Graceful stop (SIGTERM, as systemctl stop): returns when it sent the signal."""
        t = self.signal_director(d, signal.SIGTERM)
        p = self.directors[d].proc
        assert p is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.popen.wait(timeout)
        if p.alive():
            p.kill_group()
            raise AssertionError(f"{d} did not exit within {timeout}s of SIGTERM")
        return t

    def crash_director(self, d: str) -> float:
        """The director dies: SIGKILL to every process of the daemon and its link goes down
        at once (a dead box neither sends adverts nor answers ARP for the VIP it held)."""
        p = self.directors[d].proc
        assert p is not None
        t = time.monotonic()
        p.kill_group()
        sh("ip", "-n", self.ns(d), "link", "set", IFNAME, "down")
        self.crashed.add(d)
        return t

    def revive_director(self, d: str) -> Proc:
        """The box comes back after a crash: fresh kernel state (no VIP, empty IPVS), link up,
        daemon started."""
        ns = self.ns(d)
        sh("ip", "-n", ns, "addr", "del", f"{VIP}/32", "dev", IFNAME, check=False)
        sh("ip", "netns", "exec", ns, IPVSADM, "-C")
        sh("ip", "-n", ns, "link", "set", IFNAME, "up")
        self.crashed.discard(d)
        return self.start_director(d)

    def reload_directors(self, extra_rs: Sequence[tuple[str, int]]) -> None:
        """Rewrite both configs (e.g. with an added real server) and SIGHUP both daemons."""
        for d in DIRECTORS:
            self.write_config(d, extra_rs)
        for d in DIRECTORS:
            self.signal_director(d, signal.SIGHUP)

    # -- observation
    def has_vip(self, d: str) -> bool:
        out = sh("ip", "-n", self.ns(d), "-o", "-4", "addr", "show", "dev", IFNAME).stdout
        return f" {VIP}/" in out

    def vip_holders(self) -> list[str]:
        """Directors that hold the VIP and are reachable (a crashed one keeps the address in
        its namespace, but its link is down: nobody can reach it)."""
        return [d for d in DIRECTORS if d not in self.crashed and self.has_vip(d)]

    def ipvs(self, d: str) -> list[str]:
        """`ipvsadm -Ln` of a director, counters dropped (what must be equal across both)."""
        out = sh("ip", "netns", "exec", self.ns(d), IPVSADM, "-Ln").stdout
        rows = []
        for line in out.splitlines()[3:]:
            f = line.split()
            if line.lstrip().startswith("->") and len(f) >= 4:
                rows.append(" ".join(f[:4]))  # -> addr:port Route weight
            elif f:
                rows.append(" ".join(f))
        return rows

    def ipvs_dests(self, d: str) -> dict[str, int]:
        """{real server address: weight} of the VIP's service on a director."""
        out: dict[str, int] = {}
        for row in self.ipvs(d):
            f = row.split()
            if f[0] == "->":
                out[f[1].rsplit(":", 1)[0]] = int(f[3])
        return out

    def wait_master(self, d: str, timeout: float = 20) -> float:
        """Wait until D alone holds the VIP."""
        return wait_for(lambda: self.vip_holders() == [d], timeout, f"{d} the only VIP holder")

    def wait_dests(self, d: str, want: dict[str, int], timeout: float) -> float:
        return wait_for(
            lambda: self.ipvs_dests(d) == want, timeout, f"{d} IPVS dests == {want}", 0.1
        )

    def client(self, interval: float = 0.05, timeout: float = 0.5, duration: float = 300) -> Client:
        return Client(self, interval, timeout, duration)

    def logs(self) -> str:
        """Director logs (tails), for assertion messages."""
        parts = []
        for d in DIRECTORS:
            text = (
                (self.tmp / f"{d}.log").read_text(errors="replace")
                if (self.tmp / f"{d}.log").exists()
                else ""
            )
            parts.append(f"----- {d} ({self.impl}) -----\n" + "\n".join(text.splitlines()[-40:]))
        return "\n".join(parts)


def wanted(names: Sequence[str], weights: dict[str, int] = RS_WEIGHTS) -> dict[str, int]:
    """{address: weight} for real-server names."""
    return {ADDRS[n]: weights.get(n, 1) for n in names}


def median_max(xs: Sequence[float]) -> tuple[float, float]:
    return (statistics.median(xs), max(xs)) if xs else (float("nan"), float("nan"))


@contextlib.contextmanager
def running_lab(tmp: Path, impl: Impl, timers: Timers = FAST) -> Iterator[Lab]:
    """A lab with both directors up, d1 MASTER, both IPVS tables complete."""
    with Lab(tmp, impl=impl, timers=timers) as lab:
        lab.start_directors()
        try:
            lab.wait_master("d1", 30)
            for d in DIRECTORS:
                lab.wait_dests(d, wanted(("rs1", "rs2")), 30)
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{lab.logs()}") from None
        yield lab
