"""The pure decision: (config, quorum, VRRP states) -> the announcements wanted, and why.

Why a VIP shared by several virtual servers (port 80 and 443) is announced only while every
one of them that announces it has quorum: the router sends a whole flow to one director, so a
director that can serve only some of the VIP's services must step back and let another one
take all of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pykeepalived.config.model import Config, VirtualServer

ADDRESS = "address"
ROUTE = "route"


@dataclass(frozen=True, order=True)
class Announcement:
    """One thing put into the kernel: a host address on DEV, or a route in TABLE/PROTO."""

    kind: str  # ADDRESS | ROUTE
    prefix: str  # "192.0.2.10/32", "2001:db8::10/128"
    dev: str
    table: int = 0
    proto: int = 0
    metric: int | None = None

    @property
    def family(self) -> int:
        return ipaddress.ip_network(self.prefix).version

    def describe(self) -> str:
        if self.kind == ADDRESS:
            return f"address {self.prefix} on {self.dev}"
        m = f" metric {self.metric}" if self.metric is not None else ""
        return f"route {self.prefix} dev {self.dev} table {self.table} proto {self.proto}{m}"


@dataclass(frozen=True)
class Decision:
    """Why one virtual server's VIP is (not) announced: for status, metrics and the log."""

    vs: str
    vip: str
    announced: bool
    reason: str
    via: tuple[str, ...]  # Announcement.describe() of each means


def means(vs: VirtualServer) -> tuple[Announcement, ...]:
    """What announcing VS's VIP puts into the kernel (empty without announce_* lines)."""
    a = vs.announce
    if a is None or vs.ip is None:
        return ()
    prefix = ipaddress.ip_network(vs.ip).with_prefixlen
    out = []
    if a.address_dev is not None:
        out.append(Announcement(ADDRESS, prefix, a.address_dev))
    if a.route is not None:
        r = a.route
        out.append(Announcement(ROUTE, prefix, r.dev, r.table, r.proto, r.metric))
    return tuple(out)


def possible(cfg: Config) -> frozenset[Announcement]:
    """Everything CFG could announce: what a withdrawal of all must remove."""
    return frozenset(m for vs in cfg.virtual_servers for m in means(vs))


def _why(vs: VirtualServer, quorum: Mapping[str, bool],
         vrrp: Mapping[str, str] | None) -> str | None:
    """None when VS wants its VIP announced, else the reason it does not."""
    up = quorum.get(vs.key)
    if up is None:
        return "quorum not known yet"
    if not up:
        return "quorum down"
    inst = vs.announce.only_if_master if vs.announce else None
    if inst is not None:
        state = (vrrp or {}).get(inst)
        if state != "MASTER":
            return f"{inst} is {state or 'not running'}"
    return None


def decide(cfg: Config, quorum: Mapping[str, bool], vrrp: Mapping[str, str] | None = None
           ) -> tuple[frozenset[Announcement], tuple[Decision, ...]]:
    """The announcements wanted now, and one Decision per announcing virtual server.

    QUORUM maps VirtualServer.key to the pool's verdict (absent: not reported yet); VRRP maps
    vrrp_instance names to their state, as the VRRP child publishes it."""
    why: dict[str, str | None] = {}
    blocked: dict[Announcement, str] = {}
    for vs in cfg.virtual_servers:
        ms = means(vs)
        if not ms:
            continue
        w = _why(vs, quorum, vrrp)
        why[vs.key] = w
        for m in ms:
            if w is not None and m not in blocked:
                blocked[m] = f"{vs.key}: {w}"
    wanted = frozenset(m for vs in cfg.virtual_servers for m in means(vs)
                       if why.get(vs.key) is None and m not in blocked)
    decisions = []
    for vs in cfg.virtual_servers:
        ms = means(vs)
        if not ms:
            continue
        w = why[vs.key]
        if w is None:
            other = [blocked[m] for m in ms if m in blocked]
            w = f"VIP shared with {other[0]}" if other else None
        inst = vs.announce.only_if_master if vs.announce else None
        reason = w or ("quorum up" + (f", {inst} is MASTER" if inst else ""))
        decisions.append(Decision(vs.key, str(vs.ip), w is None, reason,
                                  tuple(m.describe() for m in ms)))
    return wanted, tuple(decisions)


def instances(cfg: Config) -> frozenset[str]:
    """The vrrp_instances whose state the decision needs."""
    return frozenset(vs.announce.only_if_master for vs in cfg.virtual_servers
                     if vs.announce is not None and vs.announce.only_if_master)


def ipvs_servers(cfg: Config) -> tuple[VirtualServer, ...]:
    """The virtual servers IPVS must carry (announce_without_ipvs ones are served locally)."""
    return tuple(vs for vs in cfg.virtual_servers
                 if vs.announce is None or not vs.announce.without_ipvs)


def dump_lines(decisions: Iterable[Decision]) -> str:
    """The section appended to the checker's data dump (after keepalived's own sections)."""
    out = []
    for d in decisions:
        out.append(f" VS {d.vs} VIP {d.vip}: {'announced' if d.announced else 'withdrawn'} "
                   f"({d.reason})")
        out += [f"   via {v}" for v in d.via]
    if not out:
        return ""
    return "\n".join(["------< Announcements (pykeepalived extension) >------", *out]) + "\n"


def summary(decisions: Iterable[Decision]) -> list[dict[str, object]]:
    """JSON-able form for the state file (status, /metrics)."""
    return [{"vs": d.vs, "vip": d.vip, "announced": d.announced, "reason": d.reason,
             "via": list(d.via)} for d in decisions]
