"""Addresses, routes and rules as keepalived reads them (virtual_ipaddress, static_*,
virtual_routes/rules): shared by the top level and vrrp_instance."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model import RouteSpec, VirtualIP
from pykeepalived.config.sections.completion import Completion

ROUTE_OPTS_1 = frozenset({
    "tos", "dsfield", "protocol", "scope", "metric", "priority", "preference", "expires", "mtu",
    "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh", "realms", "rto_min",
    "initcwnd", "initrwnd", "features", "quickack", "congctl", "pref", "fastopen_no_cookie",
    "ttl-propagate", "track_group", "vrf", "weight", "or", "hoplimit"})
SCOPES = frozenset({"site", "link", "host", "nowhere", "global"})
VIP_FLAGS = frozenset({"home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute",
                       "autojoin", "no_track", "use_vmac"})
VIP_OPTS = frozenset({"brd", "broadcast", "dev", "scope", "label", "peer", "preferred_lft",
                      "track_group"})


def _version(text: str | None) -> int | None:
    """The IP version of an address or prefix, None when absent or not one."""
    if not text or text == "default":
        return None
    try:
        return ipaddress.ip_network(text, strict=False).version
    except ValueError:
        return None


# route options keepalived 2.2.7 accepts (tried on its -t): with one value, and alone
_ROUTE_ARG = ROUTE_OPTS_1 | {"src", "from", "to", "via", "gw", "dev", "oif", "table"}
_ROUTE_FLAG = frozenset((
    "blackhole", "unreachable", "prohibit", "throw", "unicast", "local", "broadcast",
    "multicast", "nat", "anycast", "xresolve", "onlink", "pervasive", "no_track", "append",
    "nexthop", "default", "inet", "inet6"))


def _after_value(w: tuple[str, ...], i: int) -> int:
    """The index after option w[i]'s value: `mtu lock 1400`, `via inet6 ADDR` have a
    modifier before it."""
    return i + 3 if i + 1 < len(w) and w[i + 1] in ("lock", "inet", "inet6") else i + 2


def _unknown_route_word(w: tuple[str, ...]) -> str | None:
    """The first word of a route that is no option, value or address (None: all known)."""
    i = 0
    while i < len(w):
        o = w[i]
        if o in _ROUTE_ARG:
            i = _after_value(w, i)
            continue
        if o == "encap":
            return None  # an encapsulation has its own grammar: not checked here
        if o not in _ROUTE_FLAG and _version(o) is None:
            return o
        i += 1
    return None



# -- addresses -------------------------------------------------------------------------
def vip(cx: Completion, w: tuple[str, ...], loc: Loc, default_dev: str | None) -> VirtualIP | None:
    try:
        addr = ipaddress.ip_interface(w[0])
    except ValueError:
        cx.diag.error(f"VRRP parsed invalid IP {w[0]}. skipping IP...", loc,
                        hint="write ADDRESS[/PREFIX] [dev IF] [label L] ... one per line")
        return None
    dev = brd = scope = label = peer = None
    no_track = False
    opts: list[str] = []
    i = 1
    while i < len(w):
        o = w[i]
        if o in VIP_FLAGS:
            if o == "no_track":
                no_track = True
            opts.append(o)
            i += 1
            continue
        if o in VIP_OPTS and i + 1 < len(w):
            val = w[i + 1]
            if o in ("brd", "broadcast"):
                brd = val
            elif o == "scope" and addr.version == 6 and val not in ("global", "0"):
                cx.diag.error(f"Cannot specify scope for IPv6 addresses ({w[0]}) - "
                                "ignoring scope", loc,
                                hint="the kernel derives an IPv6 address's scope itself")
            elif o == "scope":
                if val not in SCOPES and not val.isdigit():
                    cx.diag.error(f"Invalid scope '{val}' for {w[0]}", loc,
                                    hint=f"one of {', '.join(sorted(SCOPES))}")
                scope = val
            elif o == "dev":
                dev = val
            elif o == "label":
                label = val
            elif o == "peer":
                peer = val
            else:
                opts.extend((o, val))
            i += 2
            continue
        cx.diag.error(f"Unknown configuration entry '{o}' for ip address - ignoring", loc,
                        hint="one address per line")
        i += 1
    if label is not None and addr.version == 6:
        cx.diag.error(f"Cannot specify label for IPv6 addresses ({w[0]}) - ignoring label",
                        loc, hint="labels are for IPv4 addresses only")
        label = None
    if scope not in (None, "global", "0") and addr.version == 6:
        cx.diag.error(f"Cannot specify scope for IPv6 addresses ({w[0]}) - ignoring scope",
                        loc, hint="the kernel sets an IPv6 address's scope from the address")
        scope = None
    if dev:
        cx.iface_ok(dev, loc, f"ip address {addr.ip}")
    return VirtualIP(addr, dev=default_dev if dev is None else dev, brd=brd, scope=scope,
                     label=label, peer=peer, no_track=no_track, options=tuple(opts), loc=loc)


def routes(cx: Completion, entries: Sequence[tuple[tuple[str, ...], Loc]]
           ) -> tuple[RouteSpec, ...]:
    return tuple(r for r in (route(cx, w, loc) for w, loc in entries) if r is not None)


def route(cx: Completion, w: tuple[str, ...], loc: Loc) -> RouteSpec | None:
    bad = _unknown_route_word(w)
    if bad is not None:
        # keepalived's two messages, and the route is left out
        cx.diag.error(f"VRRP parsed invalid IP {bad}. skipping IP...", loc)
        cx.diag.error(f"unknown route keyword {bad}", loc,
                        hint="a route option iproute2 does not have (e.g. 'scope link', "
                             "not 'link')")
        return None
    dst_word: str | None = None  # the destination as written (to/from or a bare prefix)
    via: str | None = None
    dev: str | None = None
    table: str | None = None
    fam = 4
    via_fam: int | None = None  # `via inet|inet6 ADDR` names the gateway's family
    nh_devs: list[str] = []
    src: str | None = None
    i = 0
    while i < len(w):
        o = w[i]
        nxt = w[i + 1] if i + 1 < len(w) else None
        if o in ("via", "gw") and nxt:
            if nxt in ("inet", "inet6") and i + 2 < len(w):
                via_fam = 4 if nxt == "inet" else 6
                via = w[i + 2]
                i += 3
                continue
            via = nxt
            i += 2
        elif o in ("dev", "oif") and nxt and "nexthop" in w[:i]:
            nh_devs.append(nxt)  # a nexthop's: the route itself has no interface to track
            i += 2
        elif o in ("dev", "oif") and nxt:
            dev = nxt
            i += 2
        elif o == "table" and nxt:
            table = nxt
            i += 2
        elif o in ("to", "from", "src") and nxt:
            if o != "src" and dst_word is None:
                dst_word = nxt
            elif o == "src":
                src = nxt
            i += 2
        elif o == "inet6":
            fam = 6
            i += 1
        elif o in ROUTE_OPTS_1 and nxt:
            i = _after_value(w, i)
        elif o == "encap":  # its own sub-grammar (mpls, ip, ip6, ila)
            break
        else:
            is_dst = "/" in o or o[:1].isdigit() or ":" in o or o == "default"
            if dst_word is None and is_dst:
                dst_word = o
            i += 1
    fam = _families(cx, dst_word, via, loc, fam)
    fams = {f for f in (_version(dst_word), _version(via), _version(src),
                        via_fam) if f is not None}
    if len(fams) > 1:
        cx.diag.error("Cannot mix IPv4 and IPv6 addresses for route", loc,
                        hint="destination, gateway and source must share one family")
    if "or" in w:
        cx.diag.error('"or" for routes is deprecated. Please use "nexthop"', loc)
    if "gw" in w:
        cx.diag.error('"gw" for routes is deprecated. Please use "via"', loc)
    dst = dst_word or "default"
    if dst == "default":
        dst = "::/0" if fam == 6 else "0.0.0.0/0"
    for k in ("expires", "pref"):
        if k in w and fam == 4:
            cx.diag.error(f"{k} is only valid for IPv6", loc)
    for d in nh_devs:
        cx.iface_ok(d, loc, "VROUTE nexthop")
    if dev:
        cx.iface_ok(dev, loc, "VROUTE nexthop")
        proto = w[w.index("protocol") + 1] if "protocol" in w[:-1] else None
        if proto not in (None, "18", "keepalived") and "no_track" not in w:
            cx.diag.error("Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18)"
                            ", resetting protocol", loc,
                            hint="add no_track to keep the protocol, or drop it")
    elif "no_track" not in w:  # 2.2.7 exits 5 on it, 2.3.3 says nothing: compat.py
        cx.diag.warning(f"Warning - cannot track route {dst} with no interface specified,"
                          " not tracking", loc, hint="add 'dev IF' or 'no_track'")
    return RouteSpec(tuple(w), fam, dst=dst_word, via=via, dev=dev, table=table, loc=loc)


def _families(cx: Completion, dst: str | None, via: str | None, loc: Loc, fam: int) -> int:
    """The family the destination or gateway implies (IPv6 wins); a bad one is reported."""
    for v in (dst, via):
        if v and v != "default":
            try:
                if ipaddress.ip_network(v, strict=False).version == 6:
                    fam = 6
            except ValueError:
                cx.diag.error(f"VRRP parsed invalid IP {v}. skipping IP...", loc)
    return fam


def rule(cx: Completion, w: tuple[str, ...], loc: Loc) -> RouteSpec:
    dst: str | None = None
    table: str | None = None
    dev: str | None = None
    fam = 6 if "inet6" in w else 4
    for i, o in enumerate(w[:-1]):
        if o in ("from", "to") and dst is None:
            dst = w[i + 1]
        elif o == "table":
            table = w[i + 1]
        elif o in ("iif", "oif"):
            dev = w[i + 1]
    fam = _families(cx, dst, None, loc, fam)
    if not any(p in w for p in ("preference", "priority", "pref", "prio")):
        cx.diag.error(f"Rule has no preference specified - setting to {cx.rule_pref}. "
                        "This is probably not what you want.", loc,
                        hint="add 'preference N' so rules sort predictably")
        cx.rule_pref -= 1
    return RouteSpec(tuple(w), fam, dst=dst, table=table, dev=dev, loc=loc)
