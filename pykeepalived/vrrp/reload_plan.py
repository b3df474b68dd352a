"""A reload as a pure plan: (old model, new model, runtime state) -> actions.

Why: a reload must touch nothing that did not change. Deciding *what* changed is pure and is
tested here with a fake clock (tests/unit/test_reload_plan.py); the engine only applies the
actions. Instances are matched by keepalived's key (config/identity.py), never by name or
file position, so shifted files, comment-only edits, reordered and renamed instances keep their
FSM state, FAULT, VIPs and counters; a MASTER's VIP diff removes only what was dropped and adds
only what is new (keepalived's clear_diff_vrrp_vip); tracked results carry over by name
(tracking.carried_status), so a FAULTed instance stays FAULT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from pykeepalived.config.identity import instance_key, match
from pykeepalived.config.model import Config, RouteSpec, VirtualIP, VrrpInstance
from pykeepalived.vrrp import fsm


@dataclass(frozen=True)
class Running:
    """What the plan needs to know of a running instance."""

    name: str
    cfg: VrrpInstance
    state: fsm.State
    vips_set: bool  # its VIPs are on the interface (it is, or is becoming, MASTER)


@dataclass(frozen=True)
class KeepInstance:
    """The same instance in the new config: state, FAULT, counters and sockets carry over."""

    old_name: str
    new: VrrpInstance
    changed: bool  # anything but the file position differs
    socket_changed: bool  # interface/unicast/mcast/auth/vmac: the socket registration moves


@dataclass(frozen=True)
class SyncAddresses:
    """A MASTER's VIP/route/rule diff; ``announce``: new addresses get GARP/NA."""

    name: str
    del_vips: tuple[VirtualIP, ...] = ()
    add_vips: tuple[VirtualIP, ...] = ()
    del_routes: tuple[RouteSpec, ...] = ()
    add_routes: tuple[RouteSpec, ...] = ()
    del_rules: tuple[RouteSpec, ...] = ()
    add_rules: tuple[RouteSpec, ...] = ()

    @property
    def announce(self) -> bool:
        return bool(self.add_vips)

    @property
    def empty(self) -> bool:
        return not (self.del_vips or self.add_vips or self.del_routes or self.add_routes
                    or self.del_rules or self.add_rules)


@dataclass(frozen=True)
class RemoveInstance:
    """Gone from the config: priority-0 advert if MASTER, VIPs removed, notify STOP."""

    name: str


@dataclass(frozen=True)
class AddInstance:
    """New in the config: started as at start-up."""

    inst: VrrpInstance


Action = KeepInstance | SyncAddresses | RemoveInstance | AddInstance


@dataclass(frozen=True)
class ReloadPlan:
    actions: tuple[Action, ...]

    def of(self, kind: type) -> list[Action]:
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def untouched(self) -> bool:
        """Nothing but file positions changed: the engine touches no instance at all."""
        return all(isinstance(a, KeepInstance) and not a.changed for a in self.actions)


SOCKET_FIELDS = ("interface", "family", "unicast_peer", "unicast_src_ip", "mcast_src_ip",
                 "mcast_dst_ip", "auth_type", "use_vmac", "vmac_xmit_base")


def _diff(old: tuple[object, ...], new: tuple[object, ...]) -> tuple[tuple[object, ...],
                                                                      tuple[object, ...]]:
    """(dropped, added) by plain equality (model equality ignores file positions)."""
    return tuple(x for x in old if x not in new), tuple(x for x in new if x not in old)


def address_diff(old: VrrpInstance, new: VrrpInstance, name: str) -> SyncAddresses:
    vo = old.virtual_ipaddress + old.virtual_ipaddress_excluded
    vn = new.virtual_ipaddress + new.virtual_ipaddress_excluded
    dv, av = _diff(vo, vn)
    dr, ar = _diff(old.virtual_routes, new.virtual_routes)
    du, au = _diff(old.virtual_rules, new.virtual_rules)
    return SyncAddresses(name, dv, av, dr, ar, du, au)  # type: ignore[arg-type]


def plan(old: Config, new: Config, running: Mapping[str, Running]) -> ReloadPlan:
    """The actions that turn the running ``old`` config into ``new``, in order: kept
    instances first (so a removed instance's name can be reused), then removals, additions."""
    keep: list[Action] = []
    gone: list[Action] = []
    added: list[Action] = []
    olds = [r.cfg for r in running.values()]
    by_cfg = {id(r.cfg): r for r in running.values()}
    for o, n in match(olds, new.vrrp_instances, instance_key):
        if o is None:
            assert n is not None
            added.append(AddInstance(n))
            continue
        r = by_cfg[id(o)]
        if n is None:
            gone.append(RemoveInstance(r.name))
            continue
        sock = any(getattr(o, f) != getattr(n, f) for f in SOCKET_FIELDS)
        keep.append(KeepInstance(r.name, n, changed=o != n, socket_changed=sock))
        if r.vips_set:
            sync = address_diff(o, n, n.name)
            if not sync.empty:
                keep.append(sync)
    return ReloadPlan(tuple(keep + gone + added))


def carry_state(st: fsm.InstanceState, cfg: fsm.FsmConfig) -> fsm.InstanceState:
    """The FSM state of a kept instance under its new FsmConfig: state, FAULT reasons, timers
    and the learned master stay; a new base priority replaces the old one (tracking is then
    re-applied on top of it by the engine, as at start-up)."""
    new = replace(st, cfg=cfg)
    if cfg.priority != st.cfg.priority:
        new = replace(new, base_priority=cfg.priority, priority=cfg.priority)
    if cfg.version == 2 or st.state is not fsm.State.BACKUP:  # v3 BACKUP: the master's
        new = replace(new, master_adver_int=cfg.advert_int)
    return new
