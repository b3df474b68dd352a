"""The kernel VRID filter on our raw sockets, against the real kernel (one namespace, a veth).

Adverts for VRIDs this node runs reach user space; others (and truncated ones) stay in the
kernel; changing the registered VRIDs re-installs the filter. IPv4 VRRP, IPv4 AH and IPv6.
"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from helpers.netns import add_veth_pair, netns, netns_skip_reason, sh
from helpers.paths import ROOT

from pykeepalived.vrrp import sockets

pytestmark = pytest.mark.netns

SCRIPT = textwrap.dedent(r"""
    import json, socket, sys, time
    from ipaddress import ip_address
    from pykeepalived.vrrp import codec, sockets as S

    rx4 = S.VrrpSocket("vb", 4)
    rxah = S.VrrpSocket("vb", 4, S.IPPROTO_AH)
    rx6 = S.VrrpSocket("vb", 6)
    rx4.join(ip_address("224.0.0.18")); rxah.join(ip_address("224.0.0.18"))
    rx6.join(ip_address("ff02::12"))
    for s in (rx4, rxah, rx6):
        for vrid in (7, 51):
            s.register(vrid, lambda p: None)

    tx4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    tx4.setsockopt(socket.SOL_SOCKET, 25, b"va")
    tx6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
    tx6.setsockopt(socket.SOL_SOCKET, 25, b"va")
    tx6.setsockopt(socket.IPPROTO_IPV6, 7, 6)
    ifa = socket.if_nametoindex("va")
    tx6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifa)
    tx6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    src4, grp4 = "192.0.2.99", "224.0.0.18"
    ll = sys.argv[1]

    def send_all(vrids):
        for v in vrids:
            m = codec.encode_advert(version=2, vrid=v, priority=100, adver_int=1,
                                    addresses=["192.0.2.100"])
            tx4.sendto(codec.build_ipv4(src4, grp4, m, ident=v), (grp4, 0))
            ah = codec.encode_advert(version=2, vrid=v, priority=100, adver_int=1,
                                     addresses=["192.0.2.100"], auth_type=codec.AuthType.AH)
            tx4.sendto(codec.build_ipv4_ah(src4, grp4, ah, key=codec.auth_key("k"), seq=1,
                                           ident=v), (grp4, 0))
            m6 = codec.encode_advert(version=3, vrid=v, priority=100, adver_int=100,
                                     addresses=["2001:db8::100"], src=ll, dst="ff02::12")
            tx6.sendto(m6, ("ff02::12", 0, 0, ifa))
        # truncated: an IPv4 header and one byte of VRRP
        tx4.sendto(codec.build_ipv4(src4, grp4, b"\x21", ident=1), (grp4, 0))

    def drain(s):
        got = []
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                pkt = s._recv_one()
            except BlockingIOError:
                time.sleep(0.02)
                continue
            got.append(S._vrid_of(pkt))
        return got

    out = {}
    send_all([7, 51, 77, 200])
    out["first"] = {k: drain(s) for k, s in (("v4", rx4), ("ah", rxah), ("v6", rx6))}
    h = rx4.handlers[7][0]
    rx4.unregister(7, h)
    rx4.register(77, h)
    send_all([7, 51, 77, 200])
    out["changed"] = drain(rx4)
    out["filtered"] = [rx4.filtered, rxah.filtered, rx6.filtered]
    print(json.dumps(out))
""")


def test_vrid_filter_program_shape() -> None:
    prog = sockets.vrid_filter(4, sockets.IPPROTO_VRRP, frozenset({51, 7}))
    # X = IHL, load VRID, one compare per VRID (sorted), reject, accept
    assert [i[3] for i in prog[2:4]] == [7, 51]
    assert prog[1][3] == 1 and prog[-2][3] == 0 and prog[-1][3] == 0xFFFFFFFF
    assert sockets.vrid_filter(4, sockets.IPPROTO_AH, frozenset({1}))[1][3] == 25
    # every "true" branch lands on the accept instruction
    for i, (code, jt, _jf, _k) in enumerate(prog):
        if code == 0x15:
            assert i + 1 + jt == len(prog) - 1
    full = sockets.vrid_filter(6, sockets.IPPROTO_VRRP, frozenset(range(1, 256)))
    assert all(jt <= 255 for _c, jt, _f, _k in full)


def test_kernel_drops_other_vrids() -> None:
    if reason := netns_skip_reason():
        pytest.skip(reason)
    with netns("pykflt") as ns:
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        add_veth_pair(ns, "va", "vb")
        sh("ip", "-n", ns, "addr", "add", "fe80::a/64", "dev", "va")
        res = sh("ip", "netns", "exec", ns, "env", f"PYTHONPATH={ROOT}",
                 sys.executable, "-c", SCRIPT,
                 "fe80::a", timeout=30)
    out = json.loads(res.stdout)
    assert out["filtered"] == [True, True, True]
    assert sorted(out["first"]["v4"]) == [7, 51], out
    assert sorted(out["first"]["ah"]) == [7, 51], out
    assert sorted(out["first"]["v6"]) == [7, 51], out
    assert sorted(out["changed"]) == [51, 77], out
