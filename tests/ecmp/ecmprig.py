"""A two-director ECMP rig: real FRR and BIRD speakers in namespaces, pykeepalived announcing.

Topology (documentation addresses, private ASNs; the FRR/BIRD configs are conf.d/ecmp's):

    client 203.0.113.10 ── 203.0.113.1  router (FRR bgpd+zebra, AS 64512, maximum-paths 2)
                                         198.51.100.1 ── 198.51.100.2  d1 (FRR, AS 64513)
                                         198.51.100.5 ── 198.51.100.6  d2 (BIRD 2, AS 64514)

Each director runs an HTTP server on port 80 answering its own name, and pykeepalived with a
virtual_server for the VIP 192.0.2.10:80 whose real server is that local HTTP server
(``announce_without_ipvs``: this host kernel has no IPVS). d1 announces by address on lo
(FRR ``redistribute connected``), d2 by kernel route with protocol 18 (BIRD ``protocol kernel``
learn), with the VIP permanently on its lo. Every daemon is started by hand with its own
config, pid and socket paths in the test's tmp dir, stopped by pid; namespaces are removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONF_D = REPO / "conf.d" / "ecmp"
FRR_DIR = Path("/usr/lib/frr")
BIRD = shutil.which("bird") or "/usr/sbin/bird"
VIP = "192.0.2.10"
PORT = 80
ROUTER_AS = 64512
LINKS = {  # director -> (router side, director side) /30
    "d1": ("198.51.100.1", "198.51.100.2"),
    "d2": ("198.51.100.5", "198.51.100.6"),
}
CLIENT = ("203.0.113.1", "203.0.113.10")


def tools_missing() -> str | None:
    """Why the rig cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for p in (FRR_DIR / "zebra", FRR_DIR / "bgpd", Path(BIRD)):
        if not os.access(p, os.X_OK):
            return f"needs {p} (apt-get install frr bird2; scripts/test.sh installs them)"
    if shutil.which("ip") is None:
        return "needs iproute2"
    return None


def sh(*cmd: str, check: bool = True, timeout: float = 20) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: rc {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def wait_for(pred: Callable[[], bool], timeout: float, every: float = 0.02) -> float | None:
    """Seconds until PRED held (None: it did not within TIMEOUT)."""
    t0 = time.monotonic()
    while True:
        if pred():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(every)


@dataclass
class Rig:
    tmp: Path
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)

    def ns(self, name: str) -> str:
        return f"ecmp{self.uid}-{name}"

    # -- topology ------------------------------------------------------------------------
    def build(self) -> None:
        for n in ("r", "d1", "d2", "c"):
            sh("ip", "netns", "add", self.ns(n))
            self.namespaces.append(self.ns(n))
            self.ip(n, "link", "set", "lo", "up")
        for d, (ra, da) in LINKS.items():
            self._veth("r", f"to-{d}", ra, d, "up0", da, 30)
            self.ip(d, "route", "add", "default", "via", ra)
        self._veth("r", "to-c", CLIENT[0], "c", "up0", CLIENT[1], 24)
        self.ip("c", "route", "add", "default", "via", CLIENT[0])
        # the router forwards, and hashes flows on ports too (L4): one client spreads
        self.sysctl("r", "net.ipv4.ip_forward", "1")
        self.sysctl("r", "net.ipv4.fib_multipath_hash_policy", "1")
        # d2 announces by route (announce_route): its VIP is always local, as on an IPVS
        # director that keeps the VIP on lo
        self.ip("d2", "addr", "add", f"{VIP}/32", "dev", "lo")

    def _veth(self, a: str, an: str, aa: str, b: str, bn: str, ba: str, plen: int) -> None:
        tmpname = f"v{uuid.uuid4().hex[:8]}"
        sh("ip", "link", "add", tmpname, "netns", self.ns(a), "type", "veth", "peer", "name",
           f"{tmpname}p", "netns", self.ns(b))
        self.ip(a, "link", "set", tmpname, "name", an)
        self.ip(b, "link", "set", f"{tmpname}p", "name", bn)
        for n, dev, addr in ((a, an, aa), (b, bn, ba)):
            self.ip(n, "addr", "add", f"{addr}/{plen}", "dev", dev)
            self.ip(n, "link", "set", dev, "up")

    def ip(self, n: str, *args: str, check: bool = True) -> str:
        return sh("ip", "-n", self.ns(n), *args, check=check)

    def sysctl(self, n: str, key: str, value: str) -> None:
        sh("ip", "netns", "exec", self.ns(n), "sysctl", "-qw", f"{key}={value}")

    # -- processes -----------------------------------------------------------------------
    def spawn(self, key: str, n: str, *cmd: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{key}.log", "ab")  # noqa: SIM115 - closed with the process
        # cwd: `python -m` imports from it first (a checkout there would shadow ours)
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(n), *cmd], stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.tmp)
        log.close()
        self.procs[key] = p
        return p

    def stop(self, key: str, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        p = self.procs.pop(key, None)
        if p is None or p.poll() is not None:
            return None if p is None else p.returncode
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait(5)

    def start_frr(self, n: str, conf: Path) -> None:
        d = self.tmp / f"frr-{n}"
        d.mkdir(exist_ok=True)
        shutil.copy(conf, d / "frr.conf")
        shutil.chown(d, "frr", "frr")
        os.chmod(d / "frr.conf", 0o644)
        common = ["-u", "frr", "-g", "frr", "-f", str(d / "frr.conf"), "-z",
                  str(d / "zserv.api"), "--vty_socket", str(d), "-P", "0"]
        self.spawn(f"zebra-{n}", n, str(FRR_DIR / "zebra"), *common, "-i", str(d / "zebra.pid"),
                   "--log", f"file:{d / 'zebra.log'}")
        if wait_for(lambda: (d / "zserv.api").exists(), 10) is None:
            raise RuntimeError(f"zebra in {n} did not start: {self.log(f'zebra-{n}')}")
        self.spawn(f"bgpd-{n}", n, str(FRR_DIR / "bgpd"), *common, "-i", str(d / "bgpd.pid"),
                   "--log", f"file:{d / 'bgpd.log'}")

    def start_bird(self, n: str, conf: Path) -> None:
        d = self.tmp / f"bird-{n}"
        d.mkdir(exist_ok=True)
        shutil.copy(conf, d / "bird.conf")
        self.spawn(f"bird-{n}", n, BIRD, "-f", "-c", str(d / "bird.conf"), "-s",
                   str(d / "bird.ctl"), "-P", str(d / "bird.pid"))

    def start_http(self, n: str) -> None:
        d = self.tmp / f"www-{n}"
        d.mkdir(exist_ok=True)
        (d / "index.html").write_text(n)
        self.spawn(f"http-{n}", n, sys.executable, "-m", "http.server", str(PORT), "--bind",
                   "0.0.0.0", "--directory", str(d))
        if wait_for(lambda: self.http_up(n), 10) is None:
            raise RuntimeError(f"http server in {n} did not start: {self.log(f'http-{n}')}")

    def http_up(self, n: str) -> bool:
        r = subprocess.run(["ip", "netns", "exec", self.ns(n), "python3", "-c",
                            "import socket,sys; socket.create_connection(sys.argv[1:3], 1)",
                            LINKS[n][1], str(PORT)], capture_output=True, timeout=10)
        return r.returncode == 0

    def pyk_conf(self, n: str, announce: bool = True, vrrp: bool = False) -> Path:
        """d1 announces by address on lo, d2 by a protocol-18 kernel route; without ANNOUNCE
        the means line is commented out (an operator draining the director by reload); with
        VRRP, a vrrp_instance VI_1 (FAULT while the file `drain` holds 1) gates it."""
        means = {"d1": "announce_address lo", "d2": "announce_route proto 18"}[n]
        if vrrp:
            means += "\n    announce_only_if_master VI_1"
        body = f"""global_defs {{
    router_id {n}
}}
{self._vrrp_block(n) if vrrp else ""}
virtual_server {VIP} {PORT} {{
    delay_loop 0.2
    lb_algo mh
    lb_kind DR
    protocol TCP
    {"" if announce else "# "}{means}
    announce_without_ipvs
    real_server {LINKS[n][1]} {PORT} {{
        TCP_CHECK {{
            connect_timeout 0.2
            retry 1
            delay_before_retry 0.1
        }}
    }}
}}
"""
        p = self.tmp / f"pyk-{n}.conf"
        p.write_text(body)
        return p

    def _vrrp_block(self, n: str) -> str:
        return f"""track_file drain {{
    file {self.tmp / f"drain-{n}"}
    weight 0
}}
vrrp_instance VI_1 {{
    state MASTER
    interface up0
    virtual_router_id 51
    priority 100
    advert_int 1
    track_file {{
        drain
    }}
    virtual_ipaddress {{
        203.0.113.200/32 dev up0
    }}
}}
"""

    def start_pyk(self, n: str, metrics: str | None = None) -> None:
        d = self.tmp / f"pyk-{n}"
        d.mkdir(exist_ok=True)
        conf = self.pyk_conf(n)
        extra = ["--metrics", metrics] if metrics else []
        self.spawn(f"pyk-{n}", n, sys.executable, "-m", "pykeepalived", "-f", str(conf), "-n",
                   "-l", "-G", "-p", str(d / "parent.pid"), "-r", str(d / "vrrp.pid"),
                   "-c", str(d / "checker.pid"), "--state-dir", str(d / "state"),
                   "--dump-dir", str(d), *extra)

    def fetch(self, n: str, url: str) -> str:
        """GET URL from inside namespace N (the metrics endpoint listens on its loopback)."""
        r = subprocess.run(["ip", "netns", "exec", self.ns(n), sys.executable, "-c",
                            "import sys, urllib.request as u; "
                            "sys.stdout.write(u.urlopen(sys.argv[1], timeout=5).read().decode())",
                            url], capture_output=True, text=True, timeout=15, cwd=self.tmp)
        return r.stdout

    def checker_pid(self, n: str) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.tmp / f"pyk-{n}" / "checker.pid").read_text().strip())
        return None

    def status(self, n: str) -> dict[str, object]:
        out = subprocess.run([sys.executable, "-m", "pykeepalived", "status", "--json",
                              "--state-dir", str(self.tmp / f"pyk-{n}" / "state")],
                             capture_output=True, text=True, timeout=10, cwd=self.tmp)
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def log(self, key: str) -> str:
        with contextlib.suppress(OSError):
            return (self.tmp / f"{key}.log").read_text(errors="replace")[-3000:]
        return ""

    # -- observations --------------------------------------------------------------------
    def nexthops(self) -> set[str]:
        """The router's kernel next hops for the VIP (what ECMP forwards to)."""
        out = self.ip("r", "-j", "route", "show", f"{VIP}/32", check=False)
        hops: set[str] = set()
        for r in json.loads(out or "[]"):
            if r.get("gateway"):
                hops.add(r["gateway"])
            for nh in r.get("nexthops") or []:
                if nh.get("gateway"):
                    hops.add(nh["gateway"])
        return hops

    def announced_at(self, n: str) -> bool:
        """Whether director N's pykeepalived holds its announcement in its kernel now."""
        if n == "d1":
            return f"{VIP}/32" in self.ip("d1", "-o", "addr", "show", "dev", "lo") \
                or f"inet {VIP} " in self.ip("d1", "-o", "addr", "show", "dev", "lo")
        return bool(self.ip("d2", "route", "show", f"{VIP}/32", "proto", "18").strip())

    def wait_hops(self, want: set[str], timeout: float) -> float | None:
        return wait_for(lambda: self.nexthops() == want, timeout)

    def client_run(self, seconds: float, every: float = 0.02) -> subprocess.Popen[bytes]:
        """Requests to the VIP from the client for SECONDS: one JSON line per request."""
        code = f"""
import json, socket, time
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    t = time.time()
    try:
        # 2 s: a request that reaches a healthy director must not fail on a loaded machine
        s = socket.create_connection(("{VIP}", {PORT}), timeout=2.0)
        s.settimeout(2.0)
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        data = b""
        while len(data) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        body = data.split(b"\\r\\n\\r\\n", 1)[-1].decode(errors="replace")
        print(json.dumps({{"t": t, "ok": data.startswith(b"HTTP/1.0 200"), "who": body}}))
    except OSError as e:
        print(json.dumps({{"t": t, "ok": False, "who": "", "err": str(e)}}))
    time.sleep({every})
"""
        out = open(self.tmp / "client.jsonl", "wb")  # noqa: SIM115 - handed to the child
        p = subprocess.Popen(["ip", "netns", "exec", self.ns("c"), sys.executable, "-c", code],
                             stdout=out, stderr=subprocess.DEVNULL)
        out.close()
        return p

    def client_results(self) -> list[dict[str, object]]:
        text = (self.tmp / "client.jsonl").read_text()
        return [json.loads(ln) for ln in text.splitlines() if ln.strip()]

    # -- teardown ------------------------------------------------------------------------
    def close(self) -> None:
        for key in list(self.procs):
            self.stop(key, timeout=5)
        for n in self.namespaces:
            sh("ip", "netns", "del", n, check=False)
        self.namespaces.clear()


@contextlib.contextmanager
def running_rig(tmp: Path, cls: type[Rig] = Rig) -> Iterator[Rig]:
    rig = cls(tmp)
    try:
        rig.build()
        yield rig
    finally:
        rig.close()
