"""The announcer's pure decision: which VIPs are announced for a given quorum and VRRP state."""

from __future__ import annotations

import ipaddress

from pykeepalived.announce.core import (
    ADDRESS,
    ROUTE,
    Announcement,
    decide,
    dump_lines,
    instances,
    ipvs_servers,
    means,
    possible,
    summary,
)
from pykeepalived.config.model import Announce, AnnounceRoute, Config, VirtualServer

VIP = ipaddress.ip_address("192.0.2.10")


def vsv(port: int = 80, ip: str = "192.0.2.10", **kw: object) -> VirtualServer:
    a = Announce(**kw) if kw else None  # type: ignore[arg-type]
    return VirtualServer(ip=ipaddress.ip_address(ip), port=port, announce=a)


def cfg(*vss: VirtualServer) -> Config:
    return Config(virtual_servers=vss)


def test_means_address_and_route() -> None:
    v = vsv(address_dev="lo", route=AnnounceRoute(table=100, proto=18, metric=7, dev="lo"))
    assert means(v) == (Announcement(ADDRESS, "192.0.2.10/32", "lo"),
                        Announcement(ROUTE, "192.0.2.10/32", "lo", 100, 18, 7))
    assert means(vsv()) == ()
    v6 = vsv(ip="2001:db8::10", address_dev="lo")
    assert means(v6)[0].prefix == "2001:db8::10/128" and means(v6)[0].family == 6


def test_quorum_drives_the_announcement() -> None:
    v = vsv(address_dev="lo")
    c = cfg(v, vsv(port=81))  # the second announces nothing: never in the decisions
    wanted, ds = decide(c, {v.key: True})
    assert wanted == possible(c) == frozenset(means(v))
    assert [(d.announced, d.reason) for d in ds] == [(True, "quorum up")]
    wanted, ds = decide(c, {v.key: False})
    assert wanted == frozenset()
    assert [(d.announced, d.reason) for d in ds] == [(False, "quorum down")]
    wanted, ds = decide(c, {})
    assert wanted == frozenset() and ds[0].reason == "quorum not known yet"


def test_only_if_master() -> None:
    v = vsv(address_dev="lo", only_if_master="VI_1")
    c = cfg(v)
    assert instances(c) == {"VI_1"}
    up = {v.key: True}
    assert decide(c, up, {"VI_1": "MASTER"})[1][0].reason == "quorum up, VI_1 is MASTER"
    assert decide(c, up, {"VI_1": "MASTER"})[0] == frozenset(means(v))
    for vrrp, why in (({"VI_1": "BACKUP"}, "VI_1 is BACKUP"), ({}, "VI_1 is not running"),
                      (None, "VI_1 is not running")):
        wanted, ds = decide(c, up, vrrp)
        assert wanted == frozenset() and ds[0].reason == why
    # quorum first: a MASTER without quorum does not announce
    assert decide(c, {v.key: False}, {"VI_1": "MASTER"})[1][0].reason == "quorum down"


def test_shared_vip_needs_every_service() -> None:
    web, tls = vsv(80, address_dev="lo"), vsv(443, address_dev="lo")
    c = cfg(web, tls)
    assert decide(c, {web.key: True, tls.key: True})[0] == frozenset(means(web))
    wanted, ds = decide(c, {web.key: True, tls.key: False})
    assert wanted == frozenset()
    by = {d.vs: d for d in ds}
    assert not by[web.key].announced
    assert by[web.key].reason == f"VIP shared with {tls.key}: quorum down"
    assert by[tls.key].reason == "quorum down"


def test_without_ipvs_and_summary() -> None:
    local, lvs = vsv(80, address_dev="lo", without_ipvs=True), vsv(81)
    assert ipvs_servers(cfg(local, lvs)) == (lvs,)
    s = summary(decide(cfg(local), {local.key: True})[1])
    assert s == [{"vs": local.key, "vip": "192.0.2.10", "announced": True,
                  "reason": "quorum up", "via": ["address 192.0.2.10/32 on lo"]}]
    r = Announcement(ROUTE, "192.0.2.10/32", "lo", 254, 18)
    assert r.describe() == "route 192.0.2.10/32 dev lo table 254 proto 18"


def test_dump_section() -> None:
    v = vsv(address_dev="lo")
    assert dump_lines(()) == ""
    assert dump_lines(decide(cfg(v), {v.key: False})[1]) == (
        "------< Announcements (pykeepalived extension) >------\n"
        " VS [192.0.2.10]:tcp:80 VIP 192.0.2.10: withdrawn (quorum down)\n"
        "   via address 192.0.2.10/32 on lo\n")
