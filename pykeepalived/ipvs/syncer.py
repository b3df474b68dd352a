"""Make the kernel's IPVS table follow the desired one, touching only what differs.

Why diff instead of flush-and-load: a flush drops every connection and zeroes the counters,
and a reload that rewrites 10,000 entries to change one is slow and visible. So each
reconcile reads the kernel table, adopts entries that already match, and sends only the
adds, edits and deletes that remain. Ownership is the set of service keys we have been asked
to program (remembered across reconciles); services outside it are never touched, which lets
pykeepalived share a director with other tools, and lets it remove what it created when a
reload drops a virtual server. Kernel errors are per service: one bad virtual server (a
missing scheduler module, EINVAL) is logged with its config line and the others proceed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.config.model import GlobalDefs, LvsSyncDaemon
from pykeepalived.ipvs.desired import DesiredTable
from pykeepalived.ipvs.kernel import (
    Dest,
    IPVSError,
    IPVSKernel,
    Op,
    Service,
    SyncDaemon,
    Timeouts,
)

log = logging.getLogger("pykeepalived.ipvs")

SvcKey = tuple[Any, ...]


@dataclass
class ReconcileReport:
    """What one reconcile (or release) did: netlink operations by kind, and the errors."""

    ops: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    adopted: int = 0  # desired services found already correct in the kernel

    @property
    def netlink_ops(self) -> int:
        """Every request sent, dumps included."""
        return sum(self.ops.values())

    @property
    def writes(self) -> int:
        """Requests that changed the table (adds, edits, deletes)."""
        return sum(n for k, n in self.ops.items() if not k.startswith("dump"))

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        ops = " ".join(f"{k}={n}" for k, n in sorted(self.ops.items()))
        n = len(self.errors)
        return f"ipvs reconcile: {ops or 'no-ops'}; adopted {self.adopted}; errors {n}"


class IpvsSyncer:
    """Owns a set of IPVS services and keeps them equal to the last desired table."""

    def __init__(self, kernel_factory: Callable[[], IPVSKernel] = IPVSKernel) -> None:
        self._factory = kernel_factory
        self._k: IPVSKernel | None = None
        self.owned: set[SvcKey] = set()
        self._origin: dict[SvcKey, str] = {}

    # -- kernel handle -----------------------------------------------------------------
    @property
    def kernel(self) -> IPVSKernel:
        if self._k is None:
            self._k = self._factory()
        return self._k

    def close(self) -> None:
        if self._k is not None:
            self._k.close()
            self._k = None

    def _what(self, key: SvcKey) -> str:
        return self._origin.get(key) or f"service {key}"

    # -- reconcile ---------------------------------------------------------------------
    def reconcile(self, desired: DesiredTable | Mapping[Service, Any]) -> ReconcileReport:
        """Bring the kernel to DESIRED for the services we own; return what was sent.

        Three pipelined phases (IPVSKernel.write_batch): service deletes/adds/edits, then the
        dest dumps of the services that already existed, then the dest deletes/adds/edits of
        every service whose own write succeeded. The first error of a service is reported
        (with its config line); the rest of its requests were still sent, the kernel applied
        what it could, and the next reconcile retries what is missing."""
        if isinstance(desired, DesiredTable):
            want = desired.by_key()
            for key, o in desired.origin.items():
                self._origin[key] = str(o)
        else:
            want = {s.key: (s, frozenset(d)) for s, d in desired.items()}
        rep = ReconcileReport()
        k = self.kernel
        rep.ops["dump_services"] += 1
        have = {s.key: s for s in k.services()}
        errors: dict[SvcKey, str] = {}
        # 1. services we created but no longer want go first (frees addresses/fwmarks)
        dropped = sorted(self.owned - want.keys(), key=repr)
        svc_ops: list[tuple[SvcKey, Op]] = []
        for key in dropped:
            if key in have:
                svc_ops.append((key, Op("del_service", have[key])))
        # 2. add / edit the wanted ones
        for key, (svc, _dests) in want.items():
            self.owned.add(key)
            cur = have.get(key)
            if cur is None:
                svc_ops.append((key, Op("add_service", svc)))
            elif cur != svc:
                svc_ops.append((key, Op("edit_service", svc)))
        self._run(k, svc_ops, rep, errors)
        self.owned.difference_update(dropped)
        # 3. real servers: read what the existing services hold, then send the difference
        dest_ops: list[tuple[SvcKey, Op]] = []
        for key, (svc, dests) in want.items():
            if key in errors:
                continue
            current: dict[tuple[int, str, int], Dest] = {}
            if key in have:
                rep.ops["dump_dests"] += 1
                try:
                    current = {d.key: d for d in k.dests(svc)}
                except (IPVSError, ValueError) as e:
                    errors[key] = f"{self._what(key)}: {e}"
                    continue
            wanted = {d.key: d for d in dests}
            # removals before additions: a replaced real server never briefly doubles the pool
            ops = [
                (key, Op("del_dest", svc, current[dk]))
                for dk in sorted(current.keys() - wanted.keys())
            ]
            for dk, d in sorted(wanted.items()):
                old = current.get(dk)
                if old is None:
                    ops.append((key, Op("add_dest", svc, d)))
                elif old != d:
                    ops.append((key, Op("edit_dest", svc, d)))
            if not ops and have.get(key) == svc:
                rep.adopted += 1
            dest_ops += ops
        self._run(k, dest_ops, rep, errors)
        # errors in table order: dropped services first, then the wanted ones
        for key in [*dropped, *want]:
            if key in errors:
                rep.errors.append(errors[key])
                log.error("%s", errors[key])
        for key in dropped:
            self._origin.pop(key, None)
        if rep.writes or rep.errors:
            log.info("%s", rep)
        return rep

    def _run(
        self,
        k: IPVSKernel,
        ops: list[tuple[SvcKey, Op]],
        rep: ReconcileReport,
        errors: dict[SvcKey, str],
    ) -> None:
        """Send OPS in one pipelined batch; keep the first error of each service."""
        if not ops:
            return
        for _key, op in ops:
            rep.ops[op.kind] += 1
        results = k.write_batch([op for _key, op in ops])
        for (key, _op), res in zip(ops, results, strict=True):
            if res is not None and key not in errors:
                errors[key] = f"{self._what(key)}: {res}"

    def _guard(self, rep: ReconcileReport, key: SvcKey, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (IPVSError, ValueError) as e:
            msg = f"{self._what(key)}: {e}"
            rep.errors.append(msg)
            log.error("%s", msg)

    def _del_service(self, k: IPVSKernel, svc: Service, rep: ReconcileReport) -> None:
        rep.ops["del_service"] += 1
        k.del_service(svc)

    # -- stop --------------------------------------------------------------------------
    def release(self, flush: bool = False) -> ReconcileReport:
        """Remove every service we own (keepalived's shutdown; skip it for -I).

        FLUSH (lvs_flush_onstop) empties the whole table instead, as keepalived does."""
        rep = ReconcileReport()
        k = self.kernel
        if flush:
            rep.ops["flush"] += 1
            self._guard(rep, ("flush",), k.flush)
        else:
            rep.ops["dump_services"] += 1
            have = {s.key: s for s in k.services()}
            for key in sorted(self.owned, key=repr):
                if key in have:
                    self._guard(rep, key, lambda s=have[key]: self._del_service(k, s, rep))
        self.owned.clear()
        self._origin.clear()
        return rep

    def flush(self) -> ReconcileReport:
        """lvs_flush: empty the whole table before the first reconcile."""
        rep = ReconcileReport()
        rep.ops["flush"] += 1
        self._guard(rep, ("flush",), self.kernel.flush)
        return rep


# -- global_defs: timeouts and the sync daemon ---------------------------------------------
def apply_timeouts(k: IPVSKernel, gd: GlobalDefs) -> bool:
    """Set lvs_timeouts once at start (0 leaves a value unchanged). True when sent."""
    if not gd.lvs_timeouts:
        return False
    t = dict(gd.lvs_timeouts)
    k.set_timeouts(Timeouts(tcp=t.get("tcp", 0), tcpfin=t.get("tcpfin", 0), udp=t.get("udp", 0)))
    return True


def sync_daemon_spec(cfg: LvsSyncDaemon, state: str) -> SyncDaemon:
    """The kernel sync daemon for STATE (master/backup) from global_defs lvs_sync_daemon."""
    return SyncDaemon(
        state=state,
        ifname=cfg.interface,
        syncid=cfg.syncid or 0,
        maxlen=cfg.maxlen or 0,
        mcast_group=str(cfg.group) if cfg.group else None,
        mcast_port=cfg.port or 0,
        mcast_ttl=cfg.ttl or 0,
    )


def follow_vrrp_state(k: IPVSKernel, cfg: LvsSyncDaemon, vrrp_state: str) -> str | None:
    """Run the master sync daemon while the instance is MASTER, the backup one otherwise
    (keepalived's ipvs_syncd_master/backup); STOP stops both. Returns the running state."""
    want = {"MASTER": "master", "BACKUP": "backup", "FAULT": "backup", "INIT": "backup"}.get(
        vrrp_state.upper()
    )
    running = {d.state for d in k.daemons()}
    for st in running - {want}:
        k.stop_daemon(st)
    if want and want not in running:
        k.start_daemon(sync_daemon_spec(cfg, want))
    return want


def stop_sync_daemons(k: IPVSKernel) -> None:
    for d in k.daemons():
        k.stop_daemon(d.state)
