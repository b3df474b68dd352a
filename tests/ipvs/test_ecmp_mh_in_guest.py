"""ECMP with IPVS `mh` + sloppy_tcp on both directors (issue 15, in the IPVS guest).

The host rig (tests/ecmp) with real IPVS: both directors run pykeepalived with the same
`lb_algo mh` + `mh-port` DR virtual server over two real servers on a shared LAN, FRR/BIRD
announce the VIP, the FRR router spreads flows. Asserted: short connections are spread over
both directors and both real servers; long-lived connections keep their real server when the
director they went through is withdrawn (SIGTERM): the router moves them to the other
director, which takes them mid-stream (sloppy_tcp) and picks the same real server (mh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ecmp.ecmprig import CONF_D, LINKS, PORT, VIP, Rig, running_rig, tools_missing, wait_for

pytestmark = pytest.mark.ipvs

LAN = {"r": "192.0.2.129", "d1": "192.0.2.131", "d2": "192.0.2.132",
       "rs1": "192.0.2.141", "rs2": "192.0.2.142"}
BOTH = {LINKS["d1"][1], LINKS["d2"][1]}

# a line server: answers each line with its name, keeps the connection (long-lived flows)
LINE_SERVER = """
import socket, sys, threading
name = sys.argv[1]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", int(sys.argv[2]))); srv.listen(128)
def serve(c):
    with c:
        f = c.makefile("rb")
        for _ in f:
            c.sendall(name.encode() + b"\\n")
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

# the client: N long-lived connections, one line per second on each; stdout: JSON events
CLIENT = """
import json, socket, sys, time
n, seconds = int(sys.argv[1]), float(sys.argv[2])
conns = []
for _ in range(n):
    s = socket.create_connection((sys.argv[3], int(sys.argv[4])), timeout=2)
    conns.append(s)
end = time.monotonic() + seconds
while time.monotonic() < end:
    for i, s in enumerate(conns):
        if s is None:
            continue
        try:
            s.sendall(b"who\\n")
            who = s.recv(64).decode().strip()
            ok = bool(who)
        except OSError:
            who, ok = "", False
        print(json.dumps({"i": i, "port": s.getsockname()[1], "who": who, "ok": ok,
                          "t": time.time()}), flush=True)
        if not ok:
            conns[i] = None
    time.sleep(0.3)
"""


class GuestRig(Rig):
    sloppy_tcp = "1"

    def build(self) -> None:
        super().build()
        for n in ("lan", "rs1", "rs2"):
            subprocess.run(["ip", "netns", "add", self.ns(n)], check=True)
            self.namespaces.append(self.ns(n))
            self.ip(n, "link", "set", "lo", "up")
        self.ip("lan", "link", "add", "br0", "type", "bridge")
        self.ip("lan", "link", "set", "br0", "up")
        for n, addr in LAN.items():
            self._veth("lan", f"p-{n}", "", n, "lan0", addr, 25)
            self.ip("lan", "link", "set", f"p-{n}", "master", "br0")
        for rs in ("rs1", "rs2"):
            # DR: the VIP on lo, never answered for on the LAN; replies go via the router
            self.ip(rs, "addr", "add", f"{VIP}/32", "dev", "lo")
            for k, v in (("net.ipv4.conf.all.arp_ignore", "1"),
                         ("net.ipv4.conf.all.arp_announce", "2")):
                self.sysctl(rs, k, v)
            self.ip(rs, "route", "add", "default", "via", LAN["r"])
        for d in ("d1", "d2"):
            for k, v in (("net.ipv4.conf.all.arp_ignore", "1"),
                         ("net.ipv4.conf.all.arp_announce", "2"),
                         ("net.ipv4.vs.sloppy_tcp", self.sloppy_tcp)):
                self.sysctl(d, k, v)

    def _veth(self, a: str, an: str, aa: str, b: str, bn: str, ba: str, plen: int) -> None:
        if aa:
            super()._veth(a, an, aa, b, bn, ba, plen)
            return
        tmp = f"v{os.urandom(4).hex()}"
        subprocess.run(["ip", "link", "add", tmp, "netns", self.ns(a), "type", "veth", "peer",
                        "name", f"{tmp}p", "netns", self.ns(b)], check=True)
        self.ip(a, "link", "set", tmp, "name", an)
        self.ip(b, "link", "set", f"{tmp}p", "name", bn)
        self.ip(a, "link", "set", an, "up")
        self.ip(b, "addr", "add", f"{ba}/{plen}", "dev", bn)
        self.ip(b, "link", "set", bn, "up")

    def pyk_conf(self, n: str, announce: bool = True, vrrp: bool = False) -> Path:
        means = {"d1": "announce_address lo", "d2": "announce_route proto 18"}[n]
        rss = "".join(f"""    real_server {LAN[rs]} {PORT} {{
        weight 1
        TCP_CHECK {{
            connect_timeout 0.5
        }}
    }}
""" for rs in ("rs1", "rs2"))
        body = f"""global_defs {{
    router_id {n}
}}
virtual_server {VIP} {PORT} {{
    delay_loop 0.5
    lb_algo mh
    mh-port
    mh-fallback
    lb_kind DR
    protocol TCP
    {means}
{rss}}}
"""
        p = self.tmp / f"pyk-{n}.conf"
        p.write_text(body)
        return p


@pytest.fixture(params=["1", "0"], ids=["sloppy_tcp", "no_sloppy_tcp"])
def rig(request: pytest.FixtureRequest) -> Iterator[GuestRig]:
    reason = tools_missing()
    if reason:
        pytest.skip(reason)
    tmp = Path(tempfile.mkdtemp(prefix="pyk-ecmp-mh-"))
    os.chmod(tmp, 0o755)
    try:
        cls = type("GuestRigSloppy", (GuestRig,), {"sloppy_tcp": request.param})
        with running_rig(tmp, cls) as r:
            assert isinstance(r, GuestRig)
            yield r
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _conns(rig: Rig, n: str) -> set[int]:
    """Client source ports in director N's IPVS connection table."""
    out = subprocess.run(["ip", "netns", "exec", rig.ns(n), "ipvsadm", "-Lnc"],
                         capture_output=True, text=True, timeout=10).stdout
    ports = set()
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) >= 6 and parts[3].startswith("203.0.113.10:"):
            ports.add(int(parts[3].rsplit(":", 1)[1]))
    return ports


def test_mh_sloppy_tcp_keeps_flows_when_a_director_is_withdrawn(rig: GuestRig) -> None:
    """With sloppy_tcp every flow survives; without it (the control) exactly the flows that
    went through the withdrawn director die: the other director drops their packets."""
    rig.start_frr("r", CONF_D / "frr-router.conf")
    rig.start_frr("d1", CONF_D / "frr-director1.conf")
    rig.start_bird("d2", CONF_D / "bird-director2.conf")
    for rs in ("rs1", "rs2"):
        rig.spawn(f"line-{rs}", rs, sys.executable, "-c", LINE_SERVER, rs, str(PORT))
    rig.start_pyk("d1")
    rig.start_pyk("d2")
    assert rig.wait_hops(BOTH, 60) is not None, \
        f"{rig.nexthops()}\n{rig.log('pyk-d1')}\n{rig.log('pyk-d2')}"
    client = subprocess.Popen(
        ["ip", "netns", "exec", rig.ns("c"), sys.executable, "-c", CLIENT, "16", "14", VIP,
         str(PORT)], stdout=subprocess.PIPE, text=True, cwd=rig.tmp)
    time.sleep(4.0)
    via_d1, via_d2 = _conns(rig, "d1"), _conns(rig, "d2")
    assert via_d1 and via_d2, (via_d1, via_d2)  # the router spread the flows
    t_stop = time.time()
    assert rig.stop("pyk-d1") == 0  # director 1 withdraws (and drops its IPVS service)
    assert wait_for(lambda: rig.nexthops() == {LINKS["d2"][1]}, 5) is not None
    t_gone = time.time()
    out, _ = client.communicate(timeout=60)
    events = [json.loads(ln) for ln in out.splitlines() if ln.strip()]
    by_conn: dict[int, list[dict[str, object]]] = {}
    for e in events:
        by_conn.setdefault(int(e["i"]), []).append(e)
    assert len(by_conn) == 16
    assert {e["who"] for e in events if e["ok"]} == {"rs1", "rs2"}  # both real servers
    moved = kept = 0
    for evs in by_conn.values():
        before = [e for e in evs if float(e["t"]) < t_stop - 0.1]  # type: ignore[arg-type]
        after = [e for e in evs if float(e["t"]) > t_gone + 0.5]  # type: ignore[arg-type]
        assert before and all(e["ok"] for e in before), evs
        was_d1 = int(evs[0]["port"]) in via_d1  # type: ignore[call-overload]
        moved += was_d1
        survived = bool(after) and all(e["ok"] for e in evs) and \
            {e["who"] for e in before} == {e["who"] for e in after}
        kept += survived
        if rig.sloppy_tcp == "1" or not was_d1:
            assert survived, evs
        else:
            assert not survived, evs
    assert moved == len(via_d1) > 0
    print(f"FIGURE mh sloppy_tcp={rig.sloppy_tcp}: {moved} of 16 long-lived connections moved "
          f"to the other director, {kept} of 16 kept their real server")
    if rig.sloppy_tcp == "1":
        assert _conns(rig, "d2") >= via_d1  # d2 took them mid-stream
