"""Build the announce_* lines of a virtual_server (a pykeepalived extension).

Why an extension: past one active director, users run N directors behind a router doing ECMP
and let FRR or BIRD announce the VIP while the service is healthy. keepalived can only do that
through quorum_up/quorum_down scripts; pykeepalived announces the VIP itself (an address on
`lo` and/or a kernel route) and leaves BGP to the routing daemon. One keyword per line, so
keepalived, which rejects them, loses only those lines and not the real servers that follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pykeepalived.config.diagnostics import Diagnostics, Loc
from pykeepalived.config.model import Announce, AnnounceRoute, Config
from pykeepalived.config.sections.section import Section

KEYWORDS = ("announce_address", "announce_route", "announce_only_if_master",
            "announce_without_ipvs")
RTPROT_KEEPALIVED = 18
RT_TABLE_MAIN = 254
# iproute2's names (rt_protos) a user may write instead of the number
PROTO_NAMES = {"boot": 3, "static": 4, "ra": 9, "dhcp": 16, "keepalived": RTPROT_KEEPALIVED}
TABLE_NAMES = {"main": RT_TABLE_MAIN, "default": 253}
# protocols a routing daemon takes as its own: it would replace or flush our route
DAEMON_PROTOS = {0: "unspec", 1: "redirect", 2: "the kernel", 11: "zebra (Quagga)",
                 12: "BIRD", 42: "babeld"} | {n: "FRR" for n in range(186, 199)}
MAX_TABLE = 4294967295


def build_announce(c: Section, vs: dict[str, Any], name: str, diag: Diagnostics,
                   iface_ok: Callable[[str, Loc | None, str], bool]) -> Announce | None:
    """The Announce of one virtual_server block (None when it has no announce_* line)."""
    if not any(c.has(k) for k in KEYWORDS):
        return None
    first = min((c.where(k) for k in KEYWORDS if c.has(k)), key=lambda loc: loc.line)
    if vs.get("ip") is None:
        what = f"FWM {vs['fwmark']}" if vs.get("fwmark") is not None else \
            f"group {vs.get('group')}"
        diag.error(f"Virtual server {name}: announce_* needs an address to announce; {what} "
                   "has none - not announcing", first,
                   hint="use announce_* in a 'virtual_server IP PORT' block")
        return None
    kw: dict[str, Any] = {"loc": first}
    if c.has("announce_address"):
        words = c.get("announce_address")
        loc = c.where("announce_address")
        if len(words) > 1:
            diag.error(f"announce_address takes one interface, not '{' '.join(words)}'", loc,
                       hint="announce_address [DEV]  (default lo)")
            return None
        dev = words[0] if words else "lo"
        iface_ok(dev, loc, "announce_address")
        kw["address_dev"] = dev
    if c.has("announce_route"):
        route = _route(c.get("announce_route"), c.where("announce_route"), diag, iface_ok)
        if route is None:
            return None
        kw["route"] = route
    if c.has("announce_only_if_master"):
        kw["only_if_master"] = c.get("announce_only_if_master")
    kw["without_ipvs"] = bool(c.get("announce_without_ipvs", False))
    if "address_dev" not in kw and "route" not in kw:
        if kw["without_ipvs"] and not c.has("announce_only_if_master"):
            # draining a director: comment out announce_address, reload; the checks go on
            diag.warning(f"Virtual server {name}: announce_without_ipvs alone: its real "
                         "servers are checked, but nothing is programmed or announced", first)
            return Announce(**kw)
        diag.error(f"Virtual server {name}: announce_* lines without announce_address or "
                   "announce_route announce nothing", first,
                   hint="add 'announce_address lo' (and/or 'announce_route ...')")
        return None
    return Announce(**kw)


def _route(words: tuple[str, ...], loc: Loc, diag: Diagnostics,
           iface_ok: Callable[[str, Loc | None, str], bool]) -> AnnounceRoute | None:
    kw: dict[str, Any] = {}
    usage = "announce_route [table N|main] [proto N|static|keepalived] [metric N] [dev DEV]"
    i = 0
    while i < len(words):
        opt = words[i]
        if i + 1 >= len(words) or opt not in ("table", "proto", "protocol", "metric", "dev"):
            diag.error(f"announce_route: unexpected '{opt}'", loc, hint=usage)
            return None
        val = words[i + 1]
        i += 2
        if opt == "dev":
            iface_ok(val, loc, "announce_route")
            kw["dev"] = val
            continue
        names = TABLE_NAMES if opt == "table" else PROTO_NAMES if opt != "metric" else {}
        hi = 255 if opt in ("proto", "protocol") else MAX_TABLE
        n = names.get(val)
        if n is None:
            n = int(val) if val.isdigit() else -1
        if not 0 <= n <= hi:
            diag.error(f"announce_route: invalid {opt} '{val}'", loc, hint=usage)
            return None
        if opt == "table" and n in (0, 255):
            diag.error(f"announce_route: table {val} cannot hold our route", loc,
                       hint="use main (254) or a table of your own")
            return None
        if opt in ("proto", "protocol"):
            if n in DAEMON_PROTOS:
                diag.error(f"announce_route: protocol {val} belongs to {DAEMON_PROTOS[n]}: a "
                           "routing daemon would take the route as its own and remove it",
                           loc, hint=f"use one of its own numbers, e.g. {RTPROT_KEEPALIVED}")
                return None
            kw["proto"] = n
        else:
            kw[opt] = n
    return AnnounceRoute(**kw)


def check_refs(cfg: Config, diag: Diagnostics) -> Config:
    """announce_only_if_master must name a vrrp_instance: a typo would never announce."""
    names = {i.name for i in cfg.vrrp_instances}
    vss = []
    for vs in cfg.virtual_servers:
        a = vs.announce
        if a is not None and a.only_if_master is not None and a.only_if_master not in names:
            diag.error(f"Virtual server {vs.key}: announce_only_if_master: vrrp_instance "
                       f"{a.only_if_master} not found - not announcing", a.loc,
                       hint="name a vrrp_instance of this config")
            vs = replace(vs, announce=None)
        vss.append(vs)
    return replace(cfg, virtual_servers=tuple(vss))
