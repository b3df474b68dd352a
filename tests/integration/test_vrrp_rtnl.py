"""VIP add/delete over raw rtnetlink (pykeepalived.vrrp.rtnl) against the real kernel.

Every VIP option keepalived has (brd, label, scope, peer, IPv6 nodad) is added in a fresh
namespace and read back with `ip -j addr`; delete is idempotent (EADDRNOTAVAIL), errors come
back as errno. The encoder is also decoded by pyroute2's own ifaddrmsg (a second opinion).
"""

from __future__ import annotations

import json
import socket
import sys
import textwrap

import pytest
from helpers.netns import add_veth_pair, netns, netns_skip_reason, sh
from helpers.paths import ROOT

from pykeepalived.vrrp import rtnl

pytestmark = pytest.mark.netns

SCRIPT = textwrap.dedent(r"""
    import json, socket, sys
    from ipaddress import ip_interface
    from pykeepalived.config.model import VirtualIP
    from pykeepalived.vrrp.addresses import Netlink
    from pykeepalived.vrrp.rtnl import AddrSocket, RTM_NEWADDR, RTM_DELADDR

    idx = socket.if_nametoindex("va")
    vips = [
        VirtualIP(ip_interface("192.0.2.100/32")),
        VirtualIP(ip_interface("192.0.2.101/24"), brd="+", label="va:vip", scope="link"),
        VirtualIP(ip_interface("198.51.100.5/32"), peer="198.51.100.6"),
        VirtualIP(ip_interface("2001:db8::100/64")),
    ]
    s = AddrSocket()
    out = {"errors": []}
    for v in vips:
        s.request(RTM_NEWADDR, Netlink._req(v, idx))
        s.request(RTM_NEWADDR, Netlink._req(v, idx))  # replace: idempotent
    print("added", flush=True)
    sys.stdin.readline()
    for v in vips:
        s.request(RTM_DELADDR, Netlink._req(v, idx))
    for v in vips[:1]:
        try:
            s.request(RTM_DELADDR, Netlink._req(v, idx))
        except OSError as e:
            out["errors"].append(e.errno)
    try:
        s.request(RTM_NEWADDR, Netlink._req(vips[0], 99999))
    except OSError as e:
        out["errors"].append(e.errno)
    print(json.dumps(out), flush=True)
""")


def test_encode_decodes_with_pyroute2() -> None:
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

    req = rtnl.AddrReq(socket.AF_INET, 3, bytes([192, 0, 2, 101]), 24,
                       broadcast=bytes([192, 0, 2, 255]), label="eth0:1", scope=253)
    data = rtnl.encode(rtnl.RTM_NEWADDR, req, seq=7)
    m = ifaddrmsg(data)
    m.decode()
    assert m["header"]["type"] == rtnl.RTM_NEWADDR and m["header"]["sequence_number"] == 7
    assert m["header"]["length"] == len(data)
    assert (m["family"], m["prefixlen"], m["scope"], m["index"]) == (socket.AF_INET, 24, 253, 3)
    assert m.get_attr("IFA_LOCAL") == "192.0.2.101" == m.get_attr("IFA_ADDRESS")
    assert m.get_attr("IFA_BROADCAST") == "192.0.2.255"
    assert m.get_attr("IFA_LABEL") == "eth0:1"
    six = rtnl.AddrReq(socket.AF_INET6, 3, bytes(15) + b"\1", 64, flags=0x02)
    m6 = ifaddrmsg(rtnl.encode(rtnl.RTM_NEWADDR, six, seq=8))
    m6.decode()
    assert m6.get_attr("IFA_FLAGS") == 0x02 and m6["flags"] == 0x02
    # an ack for another request is not ours; ours carries -errno
    err = rtnl._NLMSG.pack(36, rtnl.NLMSG_ERROR, 0, 9, 0) + rtnl._ERR.pack(-17) + bytes(16)
    assert rtnl.ack_errno(err, 9) == 17 and rtnl.ack_errno(err, 10) is None


def _addrs(ns: str) -> dict[str, dict]:  # type: ignore[type-arg]
    res = sh("ip", "-n", ns, "-j", "addr", "show", "dev", "va")
    return {a["local"]: a for a in json.loads(res.stdout)[0]["addr_info"]
            if not a["local"].startswith("fe80")}


def test_vip_options_round_trip_through_the_kernel() -> None:
    if reason := netns_skip_reason():
        pytest.skip(reason)
    import subprocess

    with netns("pykrtnl") as ns:
        add_veth_pair(ns, "va", "vb")
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SCRIPT],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={"PYTHONPATH": str(ROOT), "PATH": "/usr/sbin:/usr/bin:/bin"})
        try:
            assert p.stdin is not None and p.stdout is not None
            assert p.stdout.readline().strip() == "added"
            got = _addrs(ns)
            p.stdin.write("\n")
            p.stdin.flush()
            out = json.loads(p.stdout.readline())
            after = _addrs(ns)
        finally:
            p.kill()
            p.wait(5)
    assert got["192.0.2.100"]["prefixlen"] == 32
    b = got["192.0.2.101"]
    assert (b["prefixlen"], b["broadcast"], b["label"], b["scope"]) == \
        (24, "192.0.2.255", "va:vip", "link")
    assert got["198.51.100.5"]["address"] == "198.51.100.6"
    six = got["2001:db8::100"]
    assert six["prefixlen"] == 64 and six.get("nodad") is True
    assert after == {}
    assert out["errors"] == [99, 19]  # EADDRNOTAVAIL on a second delete, ENODEV
