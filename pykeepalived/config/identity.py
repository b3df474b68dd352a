"""The one rule for "the same object across a reload", in keepalived's terms.

keepalived matches a reloaded vrrp_instance to a running one by (VRID, address family,
configured interface, unicast or multicast, and for unicast the source address; for multicast
whether it uses a VMAC) — never by its name and never by where it is written (vrrp.c,
vrrp_exist). Virtual servers match by group name, fwmark or (address, port, protocol), with
the family; real servers by (address, port) (ipvs/check_data.c, vs_iseq/rs_iseq). Everything
else is a plain comparison: model objects leave ``loc`` out of their equality, so an object
that only moved in the file (a comment added above it) compares equal to its old self.

The VRRP engine, the reload plan, the tracker and the checker pool all ask this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from pykeepalived.config.model import RealServer, VirtualServer, VrrpInstance, VrrpScript

T = TypeVar("T")
InstanceKey = tuple[object, ...]


def instance_key(inst: VrrpInstance) -> InstanceKey:
    """keepalived's vrrp_exist: name and file position take no part."""
    unicast = bool(inst.unicast_peer)
    tail: tuple[object, ...] = (str(inst.unicast_src_ip) if inst.unicast_src_ip else None,) \
        if unicast else (bool(inst.use_vmac),)
    return (inst.virtual_router_id, inst.family, inst.interface, unicast, *tail)


def vs_key(vs: VirtualServer) -> str:
    """keepalived's vs_iseq: a group by name, else the fwmark, else (address, protocol,
    port), in the form keepalived names a virtual server ("[ip]:tcp:80", "FWM 1")."""
    return vs.key


def rs_key(rs: RealServer) -> tuple[str, int | None]:
    """keepalived's rs_iseq: address and port."""
    return (str(rs.ip), rs.port)


def script_key(sc: VrrpScript) -> str:
    """keepalived's clear_diff_script finds the new vrrp_script by its name."""
    return sc.name


def same(a: object, b: object) -> bool:
    """Unchanged across a reload: equal in everything but file position."""
    return a == b


def match(old: Iterable[T], new: Iterable[T], key: Callable[[T], object]
          ) -> list[tuple[T | None, T | None]]:
    """Pairs (old, new) by ``key``: (o, None) removed, (None, n) added. The order is the new
    file's, then what was removed in the old order. The first of duplicate keys wins (the
    config check reports duplicates)."""
    by_key: dict[object, T] = {}
    for o in old:
        by_key.setdefault(key(o), o)
    out: list[tuple[T | None, T | None]] = []
    for n in new:
        out.append((by_key.pop(key(n), None), n))
    out.extend((o, None) for o in by_key.values())
    return out
