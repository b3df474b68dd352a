"""Link/address dumps and events over raw rtnetlink (pykeepalived.vrrp.rtnl_watch) against
the real kernel, with iproute2's `ip -j` as the oracle and pyroute2 as a second opinion.

The VRRP child's start path (Netlink.open, links, addresses, the monitor) must not import
pyroute2: that import was ~95 ms and ~12 MiB of every daemon start (bench/daemon_start.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from helpers.netns import add_veth_pair, netns, netns_skip_reason, sh
from helpers.paths import ROOT

pytestmark = pytest.mark.netns

SCRIPT = textwrap.dedent(r"""
    import asyncio, json, socket, sys
    from pykeepalived.vrrp.addresses import Netlink
    from pykeepalived.vrrp import rtnl_watch as w

    async def main():
        nl = Netlink()
        await nl.open()
        events = []
        nl.on_link = lambda i, n, up: events.append(["link", i, n, up])
        nl.on_addr_new = lambda i, a, p: events.append(["new", i, str(a), p])
        nl.on_addr_del = lambda i, a, p: events.append(["del", i, str(a), p])
        await nl.start_monitor()
        links = [[li.index, li.name, li.mac, li.up] for li in await nl.links()]
        idx = socket.if_nametoindex("va")
        addrs = {f: [[str(a), p, fl, sc] for a, p, fl, sc in await nl.addresses(idx, f)]
                 for f in (4, 6)}
        out = {"links": links, "addrs": addrs, "pyroute2": "pyroute2" in sys.modules}
        print(json.dumps(out), flush=True)
        sys.stdin.readline()  # the test changes links and addresses now
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while loop.time() - t0 < 5 and not any(e[0] == "del" for e in events):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        await nl.close()
        print(json.dumps(events), flush=True)

    asyncio.run(main())
""")


@pytest.mark.skipif(netns_skip_reason() is not None, reason=str(netns_skip_reason()))
def test_dumps_and_events_match_iproute2() -> None:
    with netns("rtw") as ns:
        add_veth_pair(ns, "va", "vb", "192.0.2.1/24")
        sh("ip", "-n", ns, "addr", "add", "192.0.2.2/24", "dev", "va")  # a secondary
        sh("ip", "-n", ns, "addr", "add", "198.51.100.5", "peer", "198.51.100.6", "dev", "va")
        sh("ip", "-n", ns, "addr", "add", "2001:db8::1/64", "dev", "va", "nodad")
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SCRIPT],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             cwd=str(ROOT))
        try:
            assert p.stdin is not None and p.stdout is not None
            got = json.loads(p.stdout.readline())
            ip_links = json.loads(sh("ip", "-n", ns, "-j", "link", "show").stdout)
            want = [[li["ifindex"], li["ifname"], li.get("address", ""),
                     "UP" in li["flags"] and "LOWER_UP" in li["flags"]] for li in ip_links]
            # lo's MAC is 00:00:00:00:00:00 in both; veth peers are up once both ends are
            assert sorted(got["links"]) == sorted(want)
            assert got["pyroute2"] is False
            ip_addrs = json.loads(sh("ip", "-n", ns, "-j", "addr", "show", "dev", "va").stdout)
            info = ip_addrs[0]["addr_info"]
            for fam, name in ((4, "inet"), (6, "inet6")):
                want_a = [[a.get("address") or a["local"], a["prefixlen"]] for a in info
                          if a["family"] == name]
                assert [a[:2] for a in got["addrs"][str(fam)]] == want_a
            v4 = {a[0]: a for a in got["addrs"]["4"]}
            assert v4["192.0.2.2"][2] & 0x01 and not v4["192.0.2.1"][2] & 0x01  # secondary
            assert v4["198.51.100.6"][1] == 32  # a peer address shows its peer, as `ip`
            assert any(a[0].startswith("fe80:") and a[3] == 253 for a in got["addrs"]["6"])
            # events: an address added and removed, the link down
            sh("ip", "-n", ns, "addr", "add", "203.0.113.7/32", "dev", "va")
            sh("ip", "-n", ns, "link", "set", "vb", "down")
            sh("ip", "-n", ns, "addr", "del", "203.0.113.7/32", "dev", "va")
            p.stdin.write("\n")
            p.stdin.flush()
            events = json.loads(p.stdout.readline())
            assert p.wait(10) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        idx = next(li[0] for li in got["links"] if li[1] == "va")
        assert ["new", idx, "203.0.113.7", 32] in events
        assert ["del", idx, "203.0.113.7", 32] in events
        assert ["link", idx, "va", False] in events  # the peer down: va loses LOWER_UP


def test_parse_ignores_truncated_and_foreign() -> None:
    from pykeepalived.vrrp import rtnl_watch as w

    assert w.parse(w.RTM_NEWLINK, b"\0" * 4) is None
    assert w.parse(99, b"\0" * 64) is None
    assert list(w.messages(b"\x08\0\0\0")) == []  # shorter than a header
    hdr = w._NLMSG.pack(100, w.RTM_NEWADDR, 0, 1, 0)  # says 100 bytes, has 16
    assert list(w.messages(hdr)) == []
