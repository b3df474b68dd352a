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
from typing import TYPE_CHECKING

from pykeepalived.config.diagnostics import Diagnostics, Loc
from pykeepalived.config.model import Announce, AnnounceRoute, Config

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr
    from pykeepalived.config.sections.virtual_server import VirtualServerSection

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


def build_announce(c: VirtualServerSection, name: str, ip: IPAddr | None, fwmark: int | None,
                   group: str | None, diag: Diagnostics,
                   iface_ok: Callable[[str, Loc | None, str], bool]) -> Announce | None:
    """The Announce of one virtual_server block (None when it has no announce_* line);
    `name` is keepalived's name of the service, which is at `ip`, else a `fwmark` or a
    `group` (those have no address to announce)."""
    written = [c.where(k) for k, v in zip(KEYWORDS, (
        c.announce_address, c.announce_route, c.announce_only_if_master,
        c.announce_without_ipvs), strict=True) if v is not None]
    if not written:
        return None
    first = min(written, key=lambda loc: loc.line)
    if ip is None:
        what = f"FWM {fwmark}" if fwmark is not None else f"group {group}"
        diag.error(f"Virtual server {name}: announce_* needs an address to announce; {what} "
                   "has none - not announcing", first,
                   hint="use announce_* in a 'virtual_server IP PORT' block")
        return None
    address_dev = None
    if c.announce_address is not None:
        words = c.announce_address
        loc = c.where("announce_address")
        if len(words) > 1:
            diag.error(f"announce_address takes one interface, not '{' '.join(words)}'", loc,
                       hint="announce_address [DEV]  (default lo)")
            return None
        address_dev = words[0] if words else "lo"
        iface_ok(address_dev, loc, "announce_address")
    route = None
    if c.announce_route is not None:
        route = _route(c.announce_route, c.where("announce_route"), diag, iface_ok)
        if route is None:
            return None
    without_ipvs = bool(c.announce_without_ipvs)
    if address_dev is None and route is None:
        if not without_ipvs or c.announce_only_if_master is not None:
            diag.error(f"Virtual server {name}: announce_* lines without announce_address or "
                       "announce_route announce nothing", first,
                       hint="add 'announce_address lo' (and/or 'announce_route ...')")
            return None
        # draining a director: comment out announce_address, reload; the checks go on
        diag.warning(f"Virtual server {name}: announce_without_ipvs alone: its real "
                     "servers are checked, but nothing is programmed or announced", first)
    return Announce(address_dev=address_dev, route=route,
                    only_if_master=c.announce_only_if_master, without_ipvs=without_ipvs,
                    loc=first)


def _route(words: tuple[str, ...], loc: Loc, diag: Diagnostics,
           iface_ok: Callable[[str, Loc | None, str], bool]) -> AnnounceRoute | None:
    table, proto, dev = RT_TABLE_MAIN, RTPROT_KEEPALIVED, "lo"
    metric: int | None = None
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
            dev = val
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
            proto = n
        elif opt == "table":
            table = n
        else:
            metric = n
    return AnnounceRoute(table=table, proto=proto, metric=metric, dev=dev)


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
