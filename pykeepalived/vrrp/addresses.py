"""Kernel state the VRRP child changes or watches: VIPs, virtual routes/rules, link events.

Dumps and events go through pyroute2's AsyncIPRoute (imported lazily: it costs ~170 ms and
``-t`` must not pay it); VIP add/delete, on the failover path, are raw synchronous rtnetlink
requests (rtnl.py). Virtual routes and rules are kept as keepalived's words, which are iproute2
syntax, so they are applied with ``ip route``/``ip rule`` rather than re-implementing that
grammar on top of netlink.

A separate netlink socket subscribes to link and address events so the engine can (a) restore
VIPs someone deleted while we are MASTER and (b) drive track_interface / primary interface
FAULT. Link "up" means IFF_UP and IFF_RUNNING (operstate lags by ~1 s on link up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, ip_address
from typing import Any

from pykeepalived.config.model import RouteSpec, VirtualIP

log = logging.getLogger("pykeepalived.vrrp")

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}

IPAddr = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class LinkInfo:
    index: int
    name: str
    mac: str
    up: bool


def vip_str(vip: VirtualIP, default_dev: str | None) -> str:
    """keepalived's textual form: '192.0.2.100/24 dev eth0 scope global'."""
    dev = vip.dev or default_dev
    scope = vip.scope or "global"
    s = f"{vip.address.with_prefixlen} dev {dev} scope {scope}"
    if vip.label:
        s += f" label {vip.label}"
    return s


class Netlink:
    """Commands (one AsyncIPRoute) and an event monitor (another) in the running loop."""

    def __init__(self) -> None:
        self.ipr: Any = None
        self.mon: Any = None
        self.addr_sock: Any = None
        self._mon_task: asyncio.Task[None] | None = None
        self.on_link: Callable[[int, str, bool], None] | None = None
        self.on_addr_del: Callable[[int, IPAddr, int], None] | None = None
        self.on_addr_new: Callable[[int, IPAddr, int], None] | None = None

    async def open(self) -> None:
        from pyroute2 import AsyncIPRoute

        from pykeepalived.vrrp.rtnl import AddrSocket

        self.ipr = AsyncIPRoute()
        self.addr_sock = AddrSocket()

    async def close(self) -> None:
        if self._mon_task is not None:
            self._mon_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._mon_task
        if self.addr_sock is not None:
            self.addr_sock.close()
            self.addr_sock = None
        for s in (self.ipr, self.mon):
            if s is not None:
                with contextlib.suppress(Exception):
                    r = s.close()
                    if asyncio.iscoroutine(r):
                        await r
        self.ipr = self.mon = None

    # -- queries -------------------------------------------------------------------------
    async def links(self) -> list[LinkInfo]:
        out = []
        async for m in await self.ipr.link("dump"):
            fl = m["flags"]
            out.append(LinkInfo(m["index"], m.get("ifname"), m.get("address") or "",
                                bool(fl & IFF_UP and fl & IFF_RUNNING)))
        return out

    async def link(self, ifname: str) -> LinkInfo | None:
        return next((li for li in await self.links() if li.name == ifname), None)

    async def addresses(self, index: int, family: int) -> list[tuple[IPAddr, int, int, int]]:
        """(address, prefixlen, flags, scope) on an interface, in kernel order."""
        fam = socket.AF_INET if family == 4 else socket.AF_INET6
        out = []
        async for m in await self.ipr.addr("dump", index=index, family=fam):
            a = m.get("address")
            if a is None:
                continue
            flags = m.get("IFA_FLAGS") or m["flags"]
            out.append((ip_address(a), m["prefixlen"], flags, m["scope"]))
        return out

    async def primary_address(self, index: int, family: int) -> IPAddr | None:
        """IPv4: the first primary address; IPv6: the link-local (VRRPv3 source)."""
        for a, _plen, flags, _scope in await self.addresses(index, family):
            if family == 4 and not flags & IFA_F_SECONDARY:
                return a
            if family == 6 and a.is_link_local:
                return a
        return None

    # -- VIPs ----------------------------------------------------------------------------
    @staticmethod
    def _req(vip: VirtualIP, index: int) -> Any:
        from pykeepalived.vrrp.rtnl import AddrReq

        a = vip.address
        v4 = isinstance(a, IPv4Interface)
        brd = None
        if v4 and vip.brd:
            brd = (a.network.broadcast_address if vip.brd == "+"
                   else IPv4Address(vip.brd)).packed
        scope = SCOPES.get(vip.scope, int(vip.scope) if vip.scope.isdigit() else 0) \
            if vip.scope else 0
        return AddrReq(socket.AF_INET if v4 else socket.AF_INET6, index, a.ip.packed,
                       a.network.prefixlen,
                       peer=ip_address(vip.peer.split("/", 1)[0]).packed if vip.peer else None,
                       broadcast=brd, label=vip.label if v4 else None, scope=scope,
                       flags=0 if v4 else IFA_F_NODAD)

    async def add_vip(self, vip: VirtualIP, index: int) -> bool:
        """Add (replace: idempotent) one VIP; False on error (logged)."""
        return self.add_vip_now(vip, index)

    def add_vip_now(self, vip: VirtualIP, index: int) -> bool:
        """The same, synchronously (the failover path; the kernel answers in µs)."""
        from pykeepalived.vrrp.rtnl import RTM_NEWADDR

        try:
            self.addr_sock.request(RTM_NEWADDR, self._req(vip, index))
        except (OSError, ValueError) as e:
            log.error("Cannot add VIP %s on ifindex %d: %s", vip.address, index, e)
            return False
        return True

    def rehearse_vip(self, vip: VirtualIP, index: int) -> bytes:
        """Encode add_vip_now's request without sending it (warms the take-over path)."""
        from pykeepalived.vrrp.rtnl import RTM_NEWADDR, encode

        return encode(RTM_NEWADDR, self._req(vip, index), 0)

    async def del_vip(self, vip: VirtualIP, index: int) -> bool:
        from pykeepalived.vrrp.rtnl import RTM_DELADDR

        try:
            self.addr_sock.request(RTM_DELADDR, self._req(vip, index))
        except (OSError, ValueError) as e:
            if getattr(e, "errno", None) != 99:  # EADDRNOTAVAIL: already gone
                log.error("Cannot remove VIP %s on ifindex %d: %s", vip.address, index, e)
            return False
        return True

    async def has_vip(self, vip: VirtualIP, index: int) -> bool:
        fam = vip.address.version
        return any(a == vip.address.ip for a, *_ in await self.addresses(index, fam))

    # -- routes / rules ------------------------------------------------------------------
    @staticmethod
    async def ip_cmd(kind: str, op: str, spec: RouteSpec) -> bool:
        """`ip [-6] route|rule add|del WORDS`; False on failure (logged)."""
        argv = ["ip"] + (["-6"] if spec.family == 6 else []) + [kind, op, *spec.words]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 10)
        except (OSError, TimeoutError) as e:
            log.error("%s failed: %s", " ".join(argv), e)
            return False
        if proc.returncode != 0:
            msg = err.decode(errors="replace").strip()
            if not (op == "del" and "No such" in msg):
                log.error("%s failed: %s", " ".join(argv), msg)
            return False
        return True

    # -- events --------------------------------------------------------------------------
    async def start_monitor(self) -> None:
        from pyroute2 import AsyncIPRoute
        from pyroute2.netlink.rtnl import RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK

        self.mon = AsyncIPRoute()
        await self.mon.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
        self._mon_task = asyncio.get_running_loop().create_task(self._monitor())

    async def _monitor(self) -> None:
        while True:
            try:
                async for msg in self.mon.get():
                    self._event(msg)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("netlink monitor error")
                await asyncio.sleep(0.1)

    def _event(self, msg: Any) -> None:
        ev = msg.get("event")
        if ev in ("RTM_NEWLINK", "RTM_DELLINK") and self.on_link is not None:
            fl = msg["flags"]
            up = ev == "RTM_NEWLINK" and bool(fl & IFF_UP and fl & IFF_RUNNING)
            self.on_link(msg["index"], msg.get("ifname") or "", up)
        elif ev in ("RTM_NEWADDR", "RTM_DELADDR"):
            a = msg.get("address")
            if a is None:
                return
            cb = self.on_addr_del if ev == "RTM_DELADDR" else self.on_addr_new
            if cb is not None:
                cb(msg["index"], ip_address(a), msg["prefixlen"])
