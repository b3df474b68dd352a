"""`pykeepalived lab`: a throw-away fail-over demo in network namespaces.

Why: a newcomer should see VRRP fail-over work (and how long it takes) before touching a real
network. The lab builds its own world - a bridge namespace, two director namespaces and a
client namespace, joined by veth pairs, documentation addresses (192.0.2.0/24) only - runs one
pykeepalived per director with a conf.d pair (VRRP only: the IPVS part needs a kernel with
IPVS, and the real servers do not exist here), finds the MASTER, kills it with SIGKILL, and
measures how long the BACKUP takes to hold the VIP. Everything it made is removed on exit,
on error and on Ctrl-C. Nothing outside the namespaces it creates is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pykeepalived.reexec import self_command

DEFAULT_CONFIGS = ("lvs-dr-master.conf", "lvs-dr-backup.conf")
IFNAME = "lab0"  # the director's interface name inside its namespace; configs are rewritten to it
DIRECTOR_ADDRS = ("192.0.2.11/24", "192.0.2.12/24")  # as in conf.d/README.md
CLIENT_ADDR = "192.0.2.50/24"
DOC_NETS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
SH_TIMEOUT = 10.0  # seconds for any single `ip` command
MASTER_TIMEOUT = 20.0  # seconds to wait for a settled MASTER (start-up + master-down + settle)
STOP_TIMEOUT = 8.0  # seconds a daemon gets to exit on SIGTERM at clean-up
POLL = 0.01  # seconds between two looks at the VIP


class LabError(Exception):
    """A failure the user can act on; printed without a traceback."""


@dataclass
class Director:
    name: str
    ns: str
    conf: Path
    addr: str
    priority: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None


@dataclass
class Lab:
    prefix: str
    workdir: Path
    keep: bool = False
    namespaces: list[str] = field(default_factory=list)
    directors: list[Director] = field(default_factory=list)
    out: Callable[[str], None] = print

    # -- plumbing ---------------------------------------------------------------------
    @staticmethod
    def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=SH_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise LabError(f"command timed out: {' '.join(argv)}") from e
        if check and r.returncode != 0:
            raise LabError(f"command failed ({r.returncode}): {' '.join(argv)}: "
                           f"{r.stderr.strip()}")
        return r

    def netns(self, suffix: str) -> str:
        ns = f"{self.prefix}-{suffix}"
        self.sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)  # recorded at once: clean-up must find it
        self.sh("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    def attach(self, br_ns: str, ns: str, port: str, addr: str) -> None:
        """A veth from the bridge namespace into ``ns``; quiet IPv6 (no DAD, no RS noise)."""
        self.sh("ip", "-n", br_ns, "link", "add", port, "type", "veth", "peer", "name", IFNAME,
                "netns", ns)
        self.sh("ip", "-n", br_ns, "link", "set", port, "master", "br0")
        self.sh("ip", "-n", br_ns, "link", "set", port, "up")
        self.sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{IFNAME}.accept_dad=0")
        self.sh("ip", "-n", ns, "addr", "add", addr, "dev", IFNAME)
        self.sh("ip", "-n", ns, "link", "set", IFNAME, "up")

    # -- topology ---------------------------------------------------------------------
    def build(self, confs: Sequence[Path]) -> None:
        br = self.netns("br")
        self.sh("ip", "-n", br, "link", "add", "br0", "type", "bridge", "stp_state", "0",
                "forward_delay", "0")
        self.sh("ip", "-n", br, "link", "set", "br0", "up")
        for i, (conf, addr) in enumerate(zip(confs, DIRECTOR_ADDRS, strict=False), 1):
            ns = self.netns(f"d{i}")
            self.attach(br, ns, f"p-d{i}", addr)
            self.directors.append(Director(f"director{i}", ns, conf, addr.split("/")[0], 0))
        cl = self.netns("client")
        self.attach(br, cl, "p-cl", CLIENT_ADDR)
        self.client = cl

    def start(self) -> None:
        for d in self.directors:
            run = self.workdir / d.name
            run.mkdir()
            d.log = run / "log"
            argv = ["ip", "netns", "exec", d.ns, *self_command(
                "-n", "-l", "-P", "-G", "-f", str(d.conf),
                "-p", str(run / "parent.pid"), "-r", str(run / "vrrp.pid"),
                "-c", str(run / "checkers.pid"),
                "--state-dir", str(run / "state"), "--dump-dir", str(run))]
            with open(d.log, "ab") as logf:
                # own session: one killpg reaches the parent and its VRRP child
                d.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)

    def has_vip(self, d: Director, vip: str) -> bool:
        r = self.sh("ip", "-n", d.ns, "-o", "addr", "show", "dev", IFNAME, check=False)
        return any(w.split("/")[0] == vip for w in r.stdout.split())

    def died(self) -> Director | None:
        return next((d for d in self.directors if d.proc and d.proc.poll() is not None), None)

    def wait_master(self, vip: str, timeout: float, settle: float) -> Director:
        """The director that holds the VIP alone for `settle` seconds.

        Both start in BACKUP and the lower-priority one can win the first election when the
        other started a little later; the higher one preempts it a moment after. Waiting for a
        holder that stays put reports the master the pair settles on, not that transient one.
        """
        end = time.monotonic() + timeout
        holder: Director | None = None
        since = 0.0
        while time.monotonic() < end:
            dead = self.died()
            if dead is not None:
                rc = dead.proc.returncode if dead.proc else "?"
                raise LabError(f"{dead.name} exited early (rc {rc}); its log:\n{tail(dead.log)}")
            holders = [d for d in self.directors if self.has_vip(d, vip)]
            now = time.monotonic()
            if len(holders) != 1:
                holder = None
            elif holders[0] is not holder:
                holder, since = holders[0], now
            elif now - since >= settle:
                return holder
            time.sleep(0.05)
        raise LabError(f"no single director held {vip} within {timeout:.0f}s; logs:\n"
                       + "\n".join(f"--- {d.name}\n{tail(d.log)}" for d in self.directors))

    def kill(self, d: Director) -> None:
        if d.proc is not None and d.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(d.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                d.proc.wait(STOP_TIMEOUT)

    def client_sees(self, vip: str) -> str | None:
        """The MAC the client's neighbour table has for the VIP after one ping (or None)."""
        self.sh("ip", "netns", "exec", self.client, "ping", "-c", "1", "-W", "1", vip,
                check=False)
        r = self.sh("ip", "-n", self.client, "neigh", "show", vip, check=False)
        m = re.search(r"lladdr (\S+)", r.stdout)
        return m.group(1) if m else None

    def mac(self, d: Director) -> str:
        r = self.sh("ip", "-n", d.ns, "-o", "link", "show", IFNAME, check=False)
        m = re.search(r"link/ether (\S+)", r.stdout)
        return m.group(1) if m else "?"

    # -- clean-up ---------------------------------------------------------------------
    def cleanup(self) -> None:
        for d in self.directors:
            if d.proc is not None and d.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(d.proc.pid, signal.SIGTERM)
                try:
                    d.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(d.proc.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        d.proc.wait(STOP_TIMEOUT)
        for ns in reversed(self.namespaces):
            with contextlib.suppress(LabError):
                self.sh("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()


def tail(path: Path | None, n: int = 15) -> str:
    if path is None:
        return ""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def rewrite(text: str) -> str:
    """Point every vrrp_instance at the lab's interface; nothing else changes."""
    return re.sub(r"(?m)^(\s*interface\s+)\S+", rf"\g<1>{IFNAME}", text)


@dataclass(frozen=True)
class Plan:
    vip: str
    advert_int: float
    priority: int
    master_down: float


def plan_for(paths: Sequence[Path]) -> list[Plan]:
    """Read each config with our own loader; insist on one VRRP instance with a documentation
    VIP, so the lab never configures a real-looking address."""
    from pykeepalived.config import LoadOptions, load_config
    from pykeepalived.config.diagnostics import Rc
    from pykeepalived.vrrp.fsm import master_down_interval

    plans = []
    for p in paths:
        res = load_config(str(p), LoadOptions(check_interfaces=False, check_scripts=False))
        if res.exit_code() not in (Rc.OK, Rc.CONFIG, Rc.SECURITY):
            raise LabError(f"{p}: does not load:\n"
                           + "\n".join(d.format() for d in res.diagnostics.errors))
        insts = res.config.vrrp_instances
        if len(insts) != 1 or not insts[0].virtual_ipaddress:
            raise LabError(f"{p}: the lab needs exactly one vrrp_instance with a VIP")
        inst = insts[0]
        vip = inst.virtual_ipaddress[0].address.ip
        if not any(vip in n for n in DOC_NETS if n.version == vip.version):
            raise LabError(f"{p}: VIP {vip} is not a documentation address (192.0.2.0/24, "
                           "198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); the lab refuses it")
        if vip.version != 4:
            raise LabError(f"{p}: the lab handles IPv4 VIPs only")
        if inst.unicast_peer:
            raise LabError(f"{p}: unicast_peer is not supported by the lab (multicast only)")
        mdi = master_down_interval(inst.priority, inst.version, inst.advert_int,
                                   inst.down_timer_adverts)
        plans.append(Plan(str(vip), inst.advert_int, inst.priority, mdi))
    if len({pl.vip for pl in plans}) != 1:
        raise LabError("the two configs must protect the same VIP")
    return plans


def find_configs(arg: str | None) -> list[Path]:
    if arg:
        paths = [Path(s) for s in arg.split(",") if s]
    else:
        here = Path(__file__).resolve().parent.parent / "conf.d"  # source tree
        shipped = Path("/usr/share/doc/pykeepalived/examples")  # the .deb
        base = next((b for b in (here, shipped) if (b / DEFAULT_CONFIGS[0]).exists()), here)
        paths = [base / n for n in DEFAULT_CONFIGS]
    if len(paths) != 2:
        raise LabError("--config takes exactly two files, comma-separated")
    for p in paths:
        if not p.is_file():
            raise LabError(f"{p}: no such file")
    return paths


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGTERM/SIGHUP take the same clean-up path as Ctrl-C."""
    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_lab(confs: Sequence[Path], keep: bool, out: Callable[[str], None] = print) -> float:
    """Run the demo; returns the measured take-over time in seconds."""
    plans = plan_for(confs)
    vip = plans[0].vip
    work = Path(tempfile.mkdtemp(prefix="pykeepalived-lab-"))
    lab = Lab(prefix=f"pykl{os.getpid() % 100000}", workdir=work, keep=keep, out=out)
    try:
        for src, _pl in zip(confs, plans, strict=True):
            dst = work / src.name
            dst.write_text(rewrite(src.read_text(encoding="utf-8")), encoding="utf-8")
        lab.build([work / c.name for c in confs])
        out(f"bridge: namespace {lab.namespaces[0]}, br0")
        for d, pl in zip(lab.directors, plans, strict=True):
            d.priority = pl.priority
            out(f"{d.name}: namespace {d.ns}, {IFNAME} {d.addr}, priority {pl.priority}, "
                f"config {d.conf.name}")
        out(f"client: namespace {lab.client}, {IFNAME} {CLIENT_ADDR.split('/')[0]}")
        lab.start()
        master = lab.wait_master(vip, MASTER_TIMEOUT, settle=2 * max(p.advert_int for p in plans))
        (backup,) = [d for d in lab.directors if d is not master]
        out(f"MASTER: {master.name} holds {vip} (MAC {lab.mac(master)})")
        seen = lab.client_sees(vip)
        if seen:
            out(f"client reaches {vip} at {seen}")
        bplan = plans[lab.directors.index(backup)]
        # the backup's master-down timer runs from the last advert it heard, which is
        # 0..advert_int before the kill: expect a take-over between mdi - advert_int and mdi
        out(f"killing {master.name} (SIGKILL); {backup.name}'s master-down interval is "
            f"{bplan.master_down:.3f}s (3 x advert_int {bplan.advert_int:g}s + skew)")
        t0 = time.monotonic()
        lab.kill(master)
        limit = bplan.master_down + 2 * bplan.advert_int + 5
        while not lab.has_vip(backup, vip):
            if time.monotonic() - t0 > limit:
                raise LabError(f"{backup.name} did not take {vip} within {limit:.1f}s; its "
                               f"log:\n{tail(backup.log)}")
            if backup.proc is not None and backup.proc.poll() is not None:
                raise LabError(f"{backup.name} exited; its log:\n{tail(backup.log)}")
            time.sleep(POLL)
        took = time.monotonic() - t0
        out(f"NEW MASTER: {backup.name} holds {vip} (MAC {lab.mac(backup)})")
        out(f"take-over time: {took:.3f} s")
        seen = lab.client_sees(vip)
        if seen:
            out(f"client reaches {vip} at {seen}"
                + (" (gratuitous ARP updated the client)" if seen == lab.mac(backup) else ""))
        out("note: SIGKILL leaves the VIP configured on the killed director (no clean-up ran), "
            "as with keepalived; a real node failure takes it away with the node")
        if keep:
            out(f"--keep: leaving namespaces {', '.join(lab.namespaces)} and {backup.name} "
                f"running (pid {backup.proc.pid if backup.proc else '?'}); logs in {work}. "
                f"Clean up with: kill {backup.proc.pid if backup.proc else ''}; "
                + "; ".join(f"ip netns del {ns}" for ns in lab.namespaces))
        return took
    finally:
        if not keep:
            # a second Ctrl-C must not cut the clean-up short
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                lab.cleanup()
            finally:
                signal.signal(signal.SIGINT, old)
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="pykeepalived lab",
        description="Fail-over demo in throw-away network namespaces (needs root).")
    p.add_argument("--config", metavar="MASTER,BACKUP",
                   help="two configs, comma-separated (default: conf.d/lvs-dr-master.conf,"
                        "conf.d/lvs-dr-backup.conf)")
    p.add_argument("--keep", action="store_true",
                   help="leave the namespaces and the surviving daemon for inspection")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("pykeepalived lab: must run as root (it creates network namespaces and runs "
              "VRRP with raw sockets); try: sudo pykeepalived lab", file=sys.stderr)
        return 1
    if shutil.which("ip") is None:
        print("pykeepalived lab: needs the `ip` command (package iproute2)", file=sys.stderr)
        return 1
    try:
        with interrupts_as_exceptions():
            run_lab(find_configs(args.config), args.keep)
    except LabError as e:
        print(f"pykeepalived lab: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pykeepalived lab: interrupted; cleaned up", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
