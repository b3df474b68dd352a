"""Network-namespace rig for VRRP integration tests: a bridge namespace and node namespaces.

Each node gets ``eth0`` (a veth whose peer is a port of a bridge in its own namespace), the
documentation addresses 192.0.2.1x/24 and 2001:db8::1x/64, a fixed MAC and no IPv6 DAD.
Daemons (pykeepalived or keepalived) run as real processes in their own session so a test can
SIGKILL the whole process group. tcpdump on the bridge is the observer: it sees every frame.
Everything is torn down in ``down()`` (called from a fixture finaliser, even on failure).
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
KEEPALIVED = "/usr/sbin/keepalived"
IP4 = {"a": "192.0.2.11", "b": "192.0.2.12", "c": "192.0.2.13", "o": "192.0.2.20"}
IP6 = {"a": "2001:db8::11", "b": "2001:db8::12", "c": "2001:db8::13", "o": "2001:db8::20"}
MAC = {"a": "02:00:00:00:00:0a", "b": "02:00:00:00:00:0b", "c": "02:00:00:00:00:0c",
       "o": "02:00:00:00:00:20"}


def sh(*argv: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=timeout)


def wait_for(cond: Callable[[], object], timeout: float, step: float = 0.01) -> float | None:
    """Poll ``cond`` until truthy; returns time.time() when it became true, None on timeout."""
    end = time.monotonic() + timeout
    while True:
        if cond():
            return time.time()
        if time.monotonic() >= end:
            return None
        time.sleep(step)


@dataclass
class Proc:
    node: str
    kind: str  # "py" | "kad"
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None


class Rig:
    def __init__(self, tmp: Path, nodes: tuple[str, ...] = ("a", "b")) -> None:
        self.tmp = tmp
        self.nodes = nodes
        self.prefix = f"pkt{os.getpid() % 10000}{int(time.time() * 1000) % 1000}"
        self.br = f"{self.prefix}-br"
        self.procs: list[Proc] = []
        self.cap: subprocess.Popen[bytes] | None = None
        self.cap_file: Path | None = None

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    # -- topology ---------------------------------------------------------------------
    def up(self) -> Rig:
        sh("ip", "netns", "add", self.br)
        sh("ip", "-n", self.br, "link", "set", "lo", "up")
        sh("ip", "-n", self.br, "link", "add", "br0", "type", "bridge", "stp_state", "0",
           "forward_delay", "0", "mcast_snooping", "0")
        sh("ip", "-n", self.br, "link", "set", "br0", "up")
        for n in self.nodes:
            self.add_node(n)
        # wait until every eth0 has its IPv6 link-local address (no DAD, so this is quick)
        for n in self.nodes:
            wait_for(lambda n=n: "fe80" in self.exec(n, "ip", "-6", "-o", "addr", "show",
                                                     "dev", "eth0").stdout, 3, 0.05)
        return self

    def add_node(self, n: str) -> None:
        ns = self.ns(n)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for k in ("all", "default"):
            self.exec(n, "sysctl", "-qw", f"net.ipv6.conf.{k}.accept_dad=0")
        sh("ip", "-n", self.br, "link", "add", f"p-{n}", "type", "veth", "peer", "name", "eth0",
           "netns", ns)
        sh("ip", "-n", self.br, "link", "set", f"p-{n}", "master", "br0")
        sh("ip", "-n", self.br, "link", "set", f"p-{n}", "up")
        self.exec(n, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0")
        sh("ip", "-n", ns, "link", "set", "eth0", "address", MAC[n])
        sh("ip", "-n", ns, "addr", "add", f"{IP4[n]}/24", "dev", "eth0")
        sh("ip", "-n", ns, "addr", "add", f"{IP6[n]}/64", "dev", "eth0", "nodad")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def down(self) -> None:
        for p in self.procs:
            if p.alive():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.popen.wait(5)
        self.stop_capture()
        for n in self.nodes:
            sh("ip", "netns", "del", self.ns(n), check=False)
        sh("ip", "netns", "del", self.br, check=False)

    def exec(self, node: str, *argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.ns(node), *argv, check=check)

    # -- daemons ----------------------------------------------------------------------
    def write_conf(self, node: str, text: str, name: str | None = None) -> Path:
        p = self.tmp / (name or f"{node}.conf")
        p.write_text(text)
        return p

    def start_py(self, node: str, conf: str, *extra: str) -> Proc:
        path = self.write_conf(node, conf)
        log = self.tmp / f"{node}.py.log"
        argv = ["ip", "netns", "exec", self.ns(node), PYTHON, "-m", "pykeepalived.vrrp.run",
                "-f", str(path), "-l", "-D", *extra]
        return self._spawn(node, "py", argv, log)

    def start_kad(self, node: str, conf: str) -> Proc:
        path = self.write_conf(node, conf, f"{node}.kad.conf")
        # a fresh pidfile directory per start: a SIGKILLed keepalived leaves its pidfiles
        d = self.tmp / f"kad-{node}-{len(self.procs)}"
        d.mkdir(exist_ok=True)
        log = self.tmp / f"{node}.kad.log"
        argv = ["ip", "netns", "exec", self.ns(node), KEEPALIVED, "-n", "-l", "-D", "-P",
                "-f", str(path), "-p", str(d / "k.pid"), "-r", str(d / "vrrp.pid"),
                "-c", str(d / "chk.pid"), "-b", str(d / "bfd.pid")]
        return self._spawn(node, "kad", argv, log)

    def _spawn(self, node: str, kind: str, argv: list[str], log: Path) -> Proc:
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        f = open(log, "ab")  # noqa: SIM115 - the child owns it
        pop = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True, cwd=str(self.tmp), env=env)
        f.close()
        p = Proc(node, kind, pop, log)
        self.procs.append(p)
        return p

    def kill(self, p: Proc, sig: int = signal.SIGTERM, wait: float = 0) -> float:
        """Signal the process (SIGKILL: its whole group); returns time.time() of the kill.
        ``wait`` > 0 also waits (bounded) for it to exit."""
        t = time.time()
        if sig == signal.SIGKILL:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, sig)
        if wait > 0:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(wait)
        return t

    # -- observation ------------------------------------------------------------------
    def addrs(self, node: str) -> str:
        return self.exec(node, "ip", "-o", "addr", "show", "dev", "eth0").stdout

    def has_vip(self, node: str, vip: str) -> bool:
        return f" {vip}/" in self.addrs(node)

    def wait_vip(self, node: str, vip: str, timeout: float, present: bool = True) -> float | None:
        return wait_for(lambda: self.has_vip(node, vip) == present, timeout)

    @staticmethod
    def wait_log(p: Proc, text: str, timeout: float, count: int = 1) -> float | None:
        return wait_for(lambda: p.text().count(text) >= count, timeout, 0.02)

    def start_capture(self, name: str = "cap.pcap", filt: str = "") -> Path:
        self.cap_file = self.tmp / name
        self.cap = subprocess.Popen(
            ["ip", "netns", "exec", self.br, "tcpdump", "-i", "br0", "--immediate-mode", "-U",
             "-n", "-s", "0", "-B", "8192", "-w", str(self.cap_file), *filt.split()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        wait_for(lambda: self.cap_file is not None and self.cap_file.exists()
                 and self.cap_file.stat().st_size >= 24, 3, 0.05)
        time.sleep(0.2)
        return self.cap_file

    def stop_capture(self) -> list[Frame]:
        if self.cap is None:
            return []
        time.sleep(0.1)
        self.cap.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.cap.wait(5)
        self.cap = None
        return list(read_pcap(self.cap_file)) if self.cap_file else []


@contextlib.contextmanager
def running_rig(tmp: Path, nodes: tuple[str, ...], item: object = None) -> Iterator[Rig]:
    """A rig that is always torn down; on a failed test (`item.rep_call`), the daemon logs
    are printed so the failure explains itself."""
    r = Rig(tmp, nodes)
    try:
        r.up()
        yield r
    finally:
        r.down()
        rep = getattr(item, "rep_call", None)
        if rep is not None and rep.failed:
            for p in r.procs:
                print(f"----- {p.node} ({p.kind}) log -----\n{p.text()[-4000:]}")


# ------------------------------------------------------------------ a minimal pcap decoder


@dataclass(frozen=True)
class Frame:
    ts: float
    src_mac: str
    kind: str  # "vrrp4" "vrrp6" "garp" "na" "other"
    src: str = ""
    dst: str = ""
    prio: int = -1
    vrid: int = -1
    ttl: int = -1
    target: str = ""


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def decode(ts: float, d: bytes) -> Frame:
    smac = _mac(d[6:12])
    et = struct.unpack("!H", d[12:14])[0]
    p = d[14:]
    if et == 0x0806 and len(p) >= 28:
        return Frame(ts, smac, "garp", src=str(IPv4Address(p[14:18])),
                     target=str(IPv4Address(p[24:28])))
    if et == 0x0800 and len(p) >= 20:
        ihl = (p[0] & 15) * 4
        src, dst = str(IPv4Address(p[12:16])), str(IPv4Address(p[16:20]))
        if p[9] == 112 and len(p) >= ihl + 4:
            return Frame(ts, smac, "vrrp4", src, dst, prio=p[ihl + 2], vrid=p[ihl + 1],
                         ttl=p[8])
        if p[9] == 51 and len(p) >= ihl + 28:
            v = ihl + 24
            return Frame(ts, smac, "vrrp4", src, dst, prio=p[v + 2], vrid=p[v + 1], ttl=p[8])
    if et == 0x86DD and len(p) >= 40:
        nh = p[6]
        src, dst = str(IPv6Address(p[8:24])), str(IPv6Address(p[24:40]))
        v = p[40:]
        if nh == 112 and len(v) >= 4:
            return Frame(ts, smac, "vrrp6", src, dst, prio=v[2], vrid=v[1], ttl=p[7])
        if nh == 58 and len(v) >= 24 and v[0] == 136:
            return Frame(ts, smac, "na", src, dst, target=str(IPv6Address(v[8:24])), ttl=p[7])
    return Frame(ts, smac, "other")


def read_pcap(path: Path) -> Iterator[Frame]:
    data = path.read_bytes()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        yield decode(sec + frac / (1e9 if nano else 1e6), frame)


# ------------------------------------------------------------------ config text


def vrrp_conf(
    *,
    name: str = "VI_1",
    state: str = "BACKUP",
    priority: int = 100,
    vrid: int = 51,
    advert_int: float = 0.1,
    version: int = 3,
    vips: tuple[str, ...] = ("192.0.2.100/24",),
    auth: str | None = None,
    auth_type: str = "PASS",
    extra: str = "",
    globals_extra: str = "",
    top: str = "",
    router_id: str = "test",
) -> str:
    """One vrrp_instance on eth0 (plus optional global/top-level text)."""
    auth_block = (f"    authentication {{\n        auth_type {auth_type}\n"
                  f"        auth_pass {auth}\n"
                  "    }\n") if auth else ""
    vip_lines = "".join(f"        {v}\n" for v in vips)
    adv = int(advert_int) if float(advert_int).is_integer() else advert_int
    return (f"global_defs {{\n    router_id {router_id}\n    vrrp_version {version}\n"
            f"{globals_extra}}}\n{top}\n"
            f"vrrp_instance {name} {{\n    state {state}\n    interface eth0\n"
            f"    virtual_router_id {vrid}\n    priority {priority}\n    advert_int {adv}\n"
            f"{auth_block}    virtual_ipaddress {{\n{vip_lines}    }}\n{extra}}}\n")
