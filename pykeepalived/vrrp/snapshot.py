"""The VRRP child's published state as typed, frozen data (the checker's is PoolSnapshot).

Why: dumps, metrics and `status` read what the VRRP child publishes; with a dict each reader
spells the keys again and a renamed key fails silently. The engine builds a VrrpSnapshot;
``to_dict`` is the published JSON form (the state file: its keys are the contract), and
``from_dict`` reads it back (tolerant: a missing key takes its default, as an older child's
file may lack a newer field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AdvertSeen:
    """The last advert received: its source, priority and wall-clock time."""

    source: str | None = None
    priority: int | None = None
    time: float | None = None


@dataclass(frozen=True)
class InstanceSnapshot:
    name: str
    state: str
    vrid: int
    version: int = 2
    family: int = 4
    interface: str = ""
    source: str | None = None
    base_priority: int = 0
    effective_priority: int = 0
    master_address: str | None = None
    master_priority: int | None = None
    last_advert: AdvertSeen = field(default_factory=AdvertSeen)
    last_transition: float = 0.0
    faults: tuple[str, ...] = ()
    vips: tuple[str, ...] = ()  # keepalived's rendering, " set" appended while set
    vips_set: bool = False
    counters: Mapping[str, int] = field(default_factory=dict)
    garp_sent: int = 0
    fds: tuple[int, int] | None = None  # (in, out): one raw socket does both here


@dataclass(frozen=True)
class GroupSnapshot:
    name: str
    state: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoopSnapshot:
    """How late the engine's timers fired (seconds): the loop measures itself."""

    lateness_max: float = 0.0
    lateness_avg: float = 0.0
    timers: int = 0
    lateness_recent_max: float = 0.0


@dataclass(frozen=True)
class SockpoolEntry:
    """keepalived.data's "VRRP Sockpool": which instances share which socket."""

    fd: int
    interface: str
    family: int
    proto: int
    unicast: bool
    instances: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class SocketSnapshot:
    rx: int = 0
    unknown_vrid: int = 0
    full_batches: int = 0
    vrid_filter: bool = False


@dataclass(frozen=True)
class VrrpSnapshot:
    instances: tuple[InstanceSnapshot, ...] = ()
    groups: tuple[GroupSnapshot, ...] = ()
    scripts: Mapping[str, bool] = field(default_factory=dict)
    scripts_running: tuple[str, ...] = ()
    loop: LoopSnapshot | None = None  # None: a file without it (the engine always has one)
    sockpool: tuple[SockpoolEntry, ...] | None = None  # None: the engine has no sockets yet
    sockets: Mapping[str, SocketSnapshot] | None = None

    def instance(self, name: str) -> InstanceSnapshot | None:
        return next((i for i in self.instances if i.name == name), None)

    # -- the published form ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "instances": {i.name: _instance_dict(i) for i in self.instances},
            "groups": {g.name: {"state": g.state, "members": list(g.members)}
                       for g in self.groups},
            "scripts": dict(self.scripts),
            "scripts_running": list(self.scripts_running),
        }
        if self.loop is not None:
            out["loop"] = {"lateness_max": self.loop.lateness_max,
                           "lateness_avg": self.loop.lateness_avg, "timers": self.loop.timers,
                           "lateness_recent_max": self.loop.lateness_recent_max}
        if self.sockpool is not None:
            out["sockpool"] = [{"fd": s.fd, "interface": s.interface, "family": s.family,
                                "proto": s.proto, "unicast": s.unicast,
                                "instances": [list(x) for x in s.instances]}
                               for s in self.sockpool]
        if self.sockets is not None:
            out["sockets"] = {k: {"rx": s.rx, "unknown_vrid": s.unknown_vrid,
                                  "full_batches": s.full_batches, "vrid_filter": s.vrid_filter}
                              for k, s in self.sockets.items()}
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> VrrpSnapshot:
        lp = d.get("loop")
        pool = d.get("sockpool")
        socks = d.get("sockets")
        return cls(
            instances=tuple(_instance(n, s) for n, s in (d.get("instances") or {}).items()),
            groups=tuple(GroupSnapshot(n, g.get("state", ""), tuple(g.get("members") or ()))
                         for n, g in (d.get("groups") or {}).items()),
            scripts=dict(d.get("scripts") or {}),
            scripts_running=tuple(d.get("scripts_running") or ()),
            loop=None if not lp else LoopSnapshot(
                float(lp.get("lateness_max", 0.0)), float(lp.get("lateness_avg", 0.0)),
                int(lp.get("timers", 0)), float(lp.get("lateness_recent_max", 0.0))),
            sockpool=None if pool is None else tuple(
                SockpoolEntry(p["fd"], p["interface"], p["family"], p["proto"], p["unicast"],
                              tuple((str(n), int(v)) for n, v in p.get("instances") or ()))
                for p in pool),
            sockets=None if socks is None else {
                k: SocketSnapshot(s.get("rx", 0), s.get("unknown_vrid", 0),
                                  s.get("full_batches", 0), s.get("vrid_filter", False))
                for k, s in socks.items()})


def _instance_dict(i: InstanceSnapshot) -> dict[str, Any]:
    return {
        "state": i.state, "vrid": i.vrid, "version": i.version, "family": i.family,
        "interface": i.interface, "source": i.source, "base_priority": i.base_priority,
        "effective_priority": i.effective_priority, "master_address": i.master_address,
        "master_priority": i.master_priority,
        "last_advert": {"source": i.last_advert.source, "priority": i.last_advert.priority,
                        "time": i.last_advert.time},
        "last_transition": i.last_transition, "faults": list(i.faults), "vips": list(i.vips),
        "vips_set": i.vips_set, "counters": dict(i.counters), "garp_sent": i.garp_sent,
        "fds": list(i.fds) if i.fds is not None else None,
    }


def _instance(name: str, s: Mapping[str, Any]) -> InstanceSnapshot:
    la = s.get("last_advert") or {}
    fds = s.get("fds")
    return InstanceSnapshot(
        name=name, state=s.get("state", ""), vrid=s.get("vrid", 0),
        version=s.get("version", 2), family=s.get("family", 4),
        interface=s.get("interface", ""), source=s.get("source"),
        base_priority=s.get("base_priority", 0),
        effective_priority=s.get("effective_priority", 0),
        master_address=s.get("master_address"), master_priority=s.get("master_priority"),
        last_advert=AdvertSeen(la.get("source"), la.get("priority"), la.get("time")),
        last_transition=s.get("last_transition", 0.0), faults=tuple(s.get("faults") or ()),
        vips=tuple(s.get("vips") or ()), vips_set=bool(s.get("vips_set", False)),
        counters=dict(s.get("counters") or {}), garp_sent=s.get("garp_sent", 0),
        fds=(int(fds[0]), int(fds[1])) if fds else None)
