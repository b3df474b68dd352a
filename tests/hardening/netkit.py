"""Helpers for the hardening netns tests: configs, attackers run inside a namespace, figures.

Why separate: the hostile-network tests, the fault tests and bench/soak.py all need the same
two-instance config, the same raw-socket flooders and the same advert-gap statistics.
"""

from __future__ import annotations

import itertools
import json
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from nsrig import PYTHON, REPO, Proc, Rig, wait_for

VIP1, VIP2 = "192.0.2.100", "192.0.2.200"


def two_instances(state: str, prio: int, *, password: str = "1111", extra1: str = "",
                  top: str = "") -> str:
    """VI_1: VRRPv2 PASS auth, advert_int 1 (vrid 51); VI_2: VRRPv3, advert_int 0.1 (vrid 52).

    VI_1 is the instance the auth attacks target; VI_2's 100 ms adverts give the timing figures
    a fine resolution.
    """
    return (f"global_defs {{\n    router_id hard\n}}\n{top}\n"
            f"vrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n"
            f"    virtual_router_id 51\n    priority {prio}\n    advert_int 1\n    version 2\n"
            f"    authentication {{\n        auth_type PASS\n        auth_pass {password}\n    }}\n"
            f"    virtual_ipaddress {{\n        {VIP1}/24\n    }}\n{extra1}}}\n"
            f"vrrp_instance VI_2 {{\n    state {state}\n    interface eth0\n"
            f"    virtual_router_id 52\n    priority {prio}\n    advert_int 0.1\n    version 3\n"
            f"    virtual_ipaddress {{\n        {VIP2}/24\n    }}\n}}\n")


# One flooder, run inside the attacker namespace: a weighted mix of crafted IPv4 packets sent
# on a raw socket as fast as possible for SECS seconds; prints the packets sent.
FLOOD = r"""
import socket, sys, time
from pykeepalived.vrrp import codec
secs, src, kinds = float(sys.argv[1]), sys.argv[2], sys.argv[3].split(",")
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0  # packets/s in all; 0: as fast as it can
grp = "224.0.0.18"
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
def v2(vrid, prio, auth, pw, addrs=("192.0.2.100",)):
    m = codec.encode_advert(version=2, vrid=vrid, priority=prio, adver_int=1, addresses=addrs,
                            auth_type=auth, auth_data=pw)
    return codec.build_ipv4(src, grp, m, ident=7)
P = codec.AuthType.PASS
made = {
    "other_vrid": [v2(v, 200, P, "1111") for v in (77, 78, 99, 200)],
    "wrong_auth": [v2(51, 254, P, "guess")],
    "no_auth": [v2(51, 254, codec.AuthType.NONE, "")],
    "good_pass": [v2(51, 254, P, "1111")],
}
pkts = [p for k in kinds for p in made[k]]
sent = 0
t0 = time.monotonic()
end = t0 + secs
while time.monotonic() < end:
    for _ in range(50):
        for p in pkts:
            s.sendto(p, (grp, 0))
        sent += len(pkts)
    if rate:
        ahead = t0 + sent / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
print(sent, flush=True)
"""

# ARP storm: broadcast ARP requests from random (documentation) senders via AF_PACKET.
ARP_STORM = r"""
import os, socket, struct, sys, time
secs = float(sys.argv[1])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac = bytes.fromhex("02000000000c")
frames = []
for i in range(256):
    spa = bytes([198, 51, 100, i])
    tpa = bytes([192, 0, 2, (i % 250) + 1])
    smac = bytes([2, 0, 0, 0xAA, 0, i])
    frames.append(b"\xff" * 6 + smac + b"\x08\x06" + struct.pack("!HHBBH6s4s6s4s", 1, 0x0800,
                  6, 4, 1, smac, spa, b"\0" * 6, tpa))
sent, end = 0, time.monotonic() + secs
while time.monotonic() < end:
    for f in frames:
        s.send(f)
    sent += len(frames)
print(sent, flush=True)
"""


def attack(rig: Rig, node: str, script: str, *args: str, timeout: float = 60) -> int:
    """Run an attacker script in ``node``'s namespace; returns the packets it sent."""
    from nsrig import sh

    res = sh("ip", "netns", "exec", rig.ns(node), "env", f"PYTHONPATH={REPO}", PYTHON, "-c",
             script, *args, timeout=timeout)
    return int(res.stdout.strip())


def snapshot(p: Proc, path: Path) -> dict:  # type: ignore[type-arg]
    """vrrp.run's SIGUSR1 JSON snapshot."""
    path.unlink(missing_ok=True)
    p.popen.send_signal(signal.SIGUSR1)
    assert wait_for(lambda: path.exists() and path.stat().st_size > 0, 5), p.text()[-2000:]
    time.sleep(0.05)
    return json.loads(path.read_text())  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Gaps:
    n: int
    max_gap: float
    mean: float
    jitter: float  # standard deviation of the gaps
    p99: float

    def __str__(self) -> str:
        return (f"{self.n} adverts, gap mean {self.mean * 1e3:.1f} ms, max "
                f"{self.max_gap * 1e3:.1f} ms, p99 {self.p99 * 1e3:.1f} ms, jitter (sd) "
                f"{self.jitter * 1e3:.2f} ms")


def gaps(ts: list[float]) -> Gaps:
    g = [y - x for x, y in itertools.pairwise(sorted(ts))]
    if len(g) < 2:
        return Gaps(len(ts), max(g, default=0.0), 0.0, 0.0, 0.0)
    q = statistics.quantiles(g, n=100)
    return Gaps(len(ts), max(g), statistics.fmean(g), statistics.pstdev(g), q[98])


def rss(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


def fds(pid: int) -> int:
    import psutil

    return int(psutil.Process(pid).num_fds())
