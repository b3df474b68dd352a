"""The IPVS table keepalived would program for a config and a health state (pure: no I/O).

Why a separate pure step: the syncer then only diffs two tables, and every keepalived rule
(alpha start state, inhibit_on_failure, quorum and the sorry server, group expansion, port
defaults) is testable on the host without a kernel. The rules follow keepalived 2.2.7's
check/ipwrapper.c and ipvswrapper.c:

* a real server is in the pool when alive; when down it is absent, or present with weight 0
  with ``inhibit_on_failure``;
* start state (no health report yet): alive, unless ``alpha`` and it has checkers (then
  down until they pass);
* quorum: the sum of the alive weights against ``quorum`` (+ ``hysteresis`` at start). Below
  quorum *with* a sorry server, the alive real servers leave the pool (weight 0 if inhibited)
  and the sorry server joins; below quorum *without* one, nothing changes in IPVS (keepalived
  only runs quorum_down). With ``sorry_server_inhibit`` the idle sorry server stays, weight 0;
* a real server without a port takes the virtual server's port (fwmark: 0), and so does
  every DR/TUN real server of an address service, whatever port it names (keepalived 2.2.7
  programs ``real_server 198.51.100.22 8080`` under a DR ``virtual_server ... 80`` as :80);
* ``persistence_timeout`` > 0 makes the service persistent; ``persistence_granularity``
  without a timeout means keepalived's default of 360 s.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pykeepalived.check.results import Event, QuorumChange, RsChange
from pykeepalived.config.model import Config, RealServer, VirtualServer, VsGroupEntry
from pykeepalived.ipvs.kernel import Dest, Service

FWD = {"NAT": "masq", "DR": "route", "TUN": "tunnel"}
SCHED_FLAGS = {
    "ops": "ops",
    "flag-1": "sched1",
    "flag-2": "sched2",
    "flag-3": "sched3",
    "sh-fallback": "sched1",
    "sh-port": "sched2",
    "mh-fallback": "sched1",
    "mh-port": "sched2",
}
TUN_CSUM = {"nocsum": 0, "csum": 1, "remcsum": 2}
DEFAULT_PERSISTENCE = 360  # keepalived's IPVS_SVC_PERSISTENT_TIMEOUT

RsId = tuple[str, tuple[str, int | None]]  # (VirtualServer.key, RealServer.key)


@dataclass(frozen=True, slots=True)
class RsHealth:
    alive: bool
    weight: int  # the weight to carry while alive (dynamic checkers may change it)


def _ro(d: Mapping[Any, Any] | None = None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True)
class Health:
    """What the checker pool has told us so far; absent entries mean "start state".

    Built from the pool's events with ``apply``/``from_events`` (returns a new Health: the
    syncer can keep the previous one to compare)."""

    rs: Mapping[RsId, RsHealth] = field(default_factory=_ro)
    quorum: Mapping[str, bool] = field(default_factory=_ro)  # VirtualServer.key -> up

    def apply(self, *events: Event) -> Health:
        rs, quorum = dict(self.rs), dict(self.quorum)
        for ev in events:
            if isinstance(ev, RsChange):
                key = (ev.vs, ev.rs)
                if ev.removed:
                    rs.pop(key, None)
                    continue
                old = rs.get(key)
                weight = ev.weight if ev.alive else (old.weight if old else ev.weight)
                rs[key] = RsHealth(ev.alive, weight)
            elif isinstance(ev, QuorumChange):
                quorum[ev.vs] = ev.up
        return Health(_ro(rs), _ro(quorum))

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> Health:
        return cls().apply(*events)

    @classmethod
    def all_up(cls) -> Health:
        """No reports: every real server in its start state (up unless alpha)."""
        return cls()


@dataclass(frozen=True)
class Origin:
    """Where a service came from, for error lines: keepalived's VS name and config line."""

    vs: str
    loc: str

    def __str__(self) -> str:
        return f"virtual_server {self.vs}" + (f" ({self.loc})" if self.loc else "")


@dataclass(frozen=True)
class DesiredTable:
    """Service -> its destinations, plus the origin of each service (by Service.key)."""

    services: Mapping[Service, frozenset[Dest]]
    origin: Mapping[tuple[Any, ...], Origin] = field(default_factory=_ro)

    def by_key(self) -> dict[tuple[Any, ...], tuple[Service, frozenset[Dest]]]:
        return {s.key: (s, d) for s, d in self.services.items()}

    def __len__(self) -> int:
        return len(self.services)


def _af(family: int) -> int:
    return socket.AF_INET6 if family == 6 else socket.AF_INET


def _netmask(gran: str | None, af: int) -> int:
    if not gran:
        return -1
    g = gran.strip()
    if af == socket.AF_INET6:
        return int(g.lstrip("/"))
    if g.lstrip("/").isdigit():
        return int(g.lstrip("/"))
    return ipaddress.IPv4Network(f"0.0.0.0/{g}").prefixlen


def service_template(vs: VirtualServer) -> dict[str, Any]:
    """The service fields every expansion of VS shares (scheduler, flags, persistence)."""
    flags = {SCHED_FLAGS[f] for f in vs.sched_flags if f in SCHED_FLAGS}
    timeout = vs.persistence_timeout
    if not timeout and (vs.persistence_granularity or vs.persistence_engine):
        timeout = DEFAULT_PERSISTENCE
    if timeout:
        flags.add("persistent")
    return {
        "scheduler": vs.lvs_sched,
        "flags": frozenset(flags),
        "timeout": timeout,
        "pe_name": vs.persistence_engine if timeout else None,
    }


def _services(vs: VirtualServer, cfg: Config) -> list[tuple[Service, int]]:
    """VS's kernel services, each with the port a port-less real server takes."""
    t = service_template(vs)
    proto = vs.protocol.lower()
    out: list[tuple[Service, int]] = []
    if vs.fwmark is not None:
        af = _af(vs.family)
        nm = _netmask(vs.persistence_granularity, af) if t["timeout"] else -1
        return [(Service.fwm(vs.fwmark, af=af, netmask=nm, **t), 0)]
    if vs.group is None:
        assert vs.ip is not None
        af = _af(vs.ip.version)
        nm = _netmask(vs.persistence_granularity, af) if t["timeout"] else -1
        port = vs.port or 0
        return [(Service.inet(proto, str(vs.ip), port, netmask=nm, **t), port)]
    group = next((g for g in cfg.virtual_server_groups if g.name == vs.group), None)
    for e in group.entries if group else ():
        out.extend(_group_entry(e, proto, t, vs))
    return out


def _group_entry(
    e: VsGroupEntry, proto: str, t: dict[str, Any], vs: VirtualServer
) -> list[tuple[Service, int]]:
    if e.fwmark is not None:
        af = _af(e.family)
        nm = _netmask(vs.persistence_granularity, af) if t["timeout"] else -1
        return [(Service.fwm(e.fwmark, af=af, netmask=nm, **t), 0)]
    assert e.first is not None
    last = e.last or e.first
    af = _af(e.first.version)
    nm = _netmask(vs.persistence_granularity, af) if t["timeout"] else -1
    port = e.port or 0
    out = []
    a = int(e.first)
    while a <= int(last):
        ip = ipaddress.ip_address(a)
        out.append((Service.inet(proto, str(ip), port, netmask=nm, **t), port))
        a += 1
    return out


def _tunnel(vs: VirtualServer) -> dict[str, Any]:
    """lvs_method TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]."""
    w = list(vs.tunnel)
    out: dict[str, Any] = {}
    i = 0
    while i < len(w):
        if w[i] == "type" and i + 1 < len(w):
            out["tun_type"] = w[i + 1]
            i += 1
        elif w[i] == "port" and i + 1 < len(w):
            out["tun_port"] = int(w[i + 1])
            i += 1
        elif w[i] in TUN_CSUM:
            out["tun_flags"] = TUN_CSUM[w[i]]
        i += 1
    return out


def _dest(ip: Any, port: int | None, method: str, weight: int, vs: VirtualServer,
          default_port: int, rs: RealServer | None = None) -> Dest:
    fwd = FWD.get(method, "masq")
    kw = _tunnel(vs) if fwd == "tunnel" else {}
    if port is None or (fwd != "masq" and default_port):
        port = default_port  # keepalived: DR/TUN real servers use the virtual server's port
    return Dest(
        str(ip),
        port,
        fwd=fwd,
        weight=weight,
        u_thresh=rs.uthreshold if rs else 0,
        l_thresh=rs.lthreshold if rs else 0,
        **kw,
    )


def vs_pool(vs: VirtualServer, health: Health) -> list[tuple[RealServer | None, int]]:
    """The members of VS's pool as (real server or None for the sorry server, weight)."""
    states: list[tuple[RealServer, bool, int]] = []
    for rs in vs.real_servers:
        h = health.rs.get((vs.key, rs.key))
        # alpha: checkers start failed; a real server without checkers is always up
        alive, weight = (h.alive, h.weight) if h else (not (rs.alpha and rs.checkers), rs.weight)
        states.append((rs, alive, weight))
    up = health.quorum.get(vs.key)
    if up is None:
        live = sum(w for _, a, w in states if a)
        up = live >= vs.quorum + vs.hysteresis
    sorry = vs.sorry_server is not None and not up
    pool: list[tuple[RealServer | None, int]] = []
    for rs, alive, weight in states:
        if alive and not sorry:
            pool.append((rs, weight))
        elif rs.inhibit_on_failure:
            pool.append((rs, 0))
    if vs.sorry_server is not None and (sorry or vs.sorry_server_inhibit):
        pool.append((None, 1 if sorry else 0))
    return pool


def desired_table(cfg: Config, health: Health | None = None) -> DesiredTable:
    """The table keepalived would program for CFG with HEALTH (default: start state)."""
    health = health or Health()
    services: dict[Service, frozenset[Dest]] = {}
    origin: dict[tuple[Any, ...], Origin] = {}
    seen: set[tuple[Any, ...]] = set()
    for vs in cfg.virtual_servers:
        pool = vs_pool(vs, health)
        for svc, dport in _services(vs, cfg):
            if svc.key in seen:  # keepalived refuses a duplicate VS: the first one wins
                continue
            seen.add(svc.key)
            dests: dict[tuple[int, str, int], Dest] = {}
            for rs, weight in pool:
                if rs is None:
                    assert vs.sorry_server is not None
                    ip, port = vs.sorry_server
                    method = vs.sorry_server_lvs_method or vs.lvs_method
                    d = _dest(ip, port, method, weight, vs, dport)
                else:
                    d = _dest(rs.ip, rs.port, rs.lvs_method, weight, vs, dport, rs)
                dests.setdefault(d.key, d)  # a sorry server equal to a real server: once
            services[svc] = frozenset(dests.values())
            origin[svc.key] = Origin(vs.key, str(vs.loc) if vs.loc else "")
    return DesiredTable(_ro(services), _ro(origin))
