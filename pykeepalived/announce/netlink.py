"""The effector: put announcements into the kernel and take them out (pyroute2, blocking).

Why no dump-and-diff: adding what exists (EEXIST) and deleting what is gone (ENOENT) are
harmless, so every reconcile simply states the wanted set and the withdrawn set; a VIP
deleted behind our back comes back at the next reconcile. Routes are deleted with their
protocol number, so the kernel never removes another owner's route to the same prefix.
Callers run this in a worker thread: netlink calls block.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.announce.core import ADDRESS, Announcement

log = logging.getLogger("pykeepalived.announce")

_GONE = (errno.ENOENT, errno.EADDRNOTAVAIL, errno.ESRCH)


@dataclass
class Report:
    """What one reconcile changed, and what the kernel refused."""

    added: list[Announcement] = field(default_factory=list)
    removed: list[Announcement] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        parts = [f"announced {a.describe()}" for a in self.added]
        parts += [f"withdrew {a.describe()}" for a in self.removed]
        return "; ".join(parts + self.errors) or "no change"


class Kernel:
    """One rtnetlink socket, opened on first use."""

    def __init__(self, netns: str | None = None) -> None:
        self._ipr: Any = None
        self._netns = netns  # tests: a named namespace; the daemon works in its own

    @property
    def ipr(self) -> Any:
        if self._ipr is None:
            from pyroute2 import IPRoute

            self._ipr = IPRoute(netns=self._netns) if self._netns else IPRoute()
        return self._ipr

    def close(self) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    def _index(self, dev: str) -> int:
        idx = self.ipr.link_lookup(ifname=dev)
        if not idx:
            raise LookupError(f"interface {dev} not found")
        return int(idx[0])

    def _request(self, a: Announcement, add: bool) -> bool:
        """Add or remove A; True when the kernel changed."""
        from pyroute2.netlink.exceptions import NetlinkError

        net = ipaddress.ip_network(a.prefix)
        cmd = "add" if add else "del"
        try:
            idx = self._index(a.dev)
            if a.kind == ADDRESS:
                self.ipr.addr(cmd, index=idx, address=str(net.network_address),
                              prefixlen=net.prefixlen,
                              family=socket.AF_INET if net.version == 4 else socket.AF_INET6)
            else:
                kw: dict[str, Any] = {"dst": a.prefix, "oif": idx, "table": a.table,
                                      "proto": a.proto}
                if a.metric is not None:
                    kw["priority"] = a.metric
                self.ipr.route(cmd, **kw)
        except NetlinkError as e:
            if (add and e.code == errno.EEXIST) or (not add and e.code in _GONE):
                return False
            raise OSError(e.code, f"cannot {cmd} {a.describe()}: {e}") from e
        return True

    def apply(self, wanted: Iterable[Announcement], withdrawn: Iterable[Announcement]
              ) -> Report:
        """Withdraw first (traffic leaves at once), then announce; errors per item."""
        rep = Report()
        for a, add in [*((a, False) for a in sorted(withdrawn)),
                       *((a, True) for a in sorted(wanted))]:
            try:
                if self._request(a, add):
                    (rep.added if add else rep.removed).append(a)
            except (OSError, LookupError) as e:
                rep.errors.append(str(e) if isinstance(e, LookupError) or not e.strerror
                                  else e.strerror)
        return rep


def withdraw(anns: Iterable[Announcement]) -> Report:
    """Remove ANNS with a socket of its own (the parent, when the checker child is gone)."""
    k = Kernel()
    try:
        return k.apply((), anns)
    finally:
        k.close()
