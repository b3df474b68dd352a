"""Kernel state the VRRP child changes or watches: VIPs, virtual routes/rules, link events.

Dumps and events are raw rtnetlink (rtnl_watch.py: pyroute2's import cost every start ~95 ms
and ~12 MiB); VIP add/delete, on the failover path, are raw synchronous rtnetlink requests
(rtnl.py); pyroute2's AsyncIPRoute is opened only for use_vmac's macvlan links. Virtual
routes and rules are kept as keepalived's words, which are iproute2 syntax, so they are
applied with ``ip route``/``ip rule`` rather than re-implementing that grammar on top of
netlink.

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
    """Dumps and an event monitor as raw rtnetlink (rtnl_watch.py: no pyroute2 on the start
    path); pyroute2's AsyncIPRoute only when something needs it (use_vmac), opened then."""

    def __init__(self) -> None:
        self._ipr: Any = None
        self.dumper: Any = None
        self.mon: socket.socket | None = None
        self.addr_sock: Any = None
        self.on_link: Callable[[int, str, bool], None] | None = None
        self.on_addr_del: Callable[[int, IPAddr, int], None] | None = None
        self.on_addr_new: Callable[[int, IPAddr, int], None] | None = None

    async def open(self) -> None:
        from pykeepalived.vrrp.rtnl import AddrSocket
        from pykeepalived.vrrp.rtnl_watch import Dumper

        self.dumper = Dumper()
        self.addr_sock = AddrSocket()

    @property
    def ipr(self) -> Any:
        """pyroute2's AsyncIPRoute, opened on first use (its import costs ~95 ms, ~12 MiB)."""
        if self._ipr is None:
            from pyroute2 import AsyncIPRoute

            self._ipr = AsyncIPRoute()
        return self._ipr

    async def close(self) -> None:
        if self.mon is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.mon.fileno())
            self.mon.close()
            self.mon = None
        for s in (self.addr_sock, self.dumper):
            if s is not None:
                s.close()
        self.addr_sock = self.dumper = None
        if self._ipr is not None:
            with contextlib.suppress(Exception):
                r = self._ipr.close()
                if asyncio.iscoroutine(r):
                    await r
        self._ipr = None

    # -- queries -------------------------------------------------------------------------
    async def links(self) -> list[LinkInfo]:
        from pykeepalived.vrrp.rtnl_watch import RTM_GETLINK, Link

        return [LinkInfo(m.index, m.name, m.mac, bool(m.flags & IFF_UP and
                                                       m.flags & IFF_RUNNING))
                for m in self.dumper.dump(RTM_GETLINK) if isinstance(m, Link)]

    async def link(self, ifname: str) -> LinkInfo | None:
        return next((li for li in await self.links() if li.name == ifname), None)

    async def addresses(self, index: int, family: int) -> list[tuple[IPAddr, int, int, int]]:
        """(address, prefixlen, flags, scope) on an interface, in kernel order."""
        from pykeepalived.vrrp.rtnl_watch import RTM_GETADDR, Addr

        fam = socket.AF_INET if family == 4 else socket.AF_INET6
        return [(ip_address(m.address), m.prefixlen, m.flags, m.scope)
                for m in self.dumper.dump(RTM_GETADDR, fam)
                if isinstance(m, Addr) and m.index == index and m.family == fam]

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
        from pykeepalived.vrrp.rtnl_watch import monitor_socket

        self.mon = monitor_socket()
        asyncio.get_running_loop().add_reader(self.mon.fileno(), self._readable)

    def _readable(self) -> None:
        from pykeepalived.vrrp.rtnl_watch import messages, parse

        for _ in range(256):  # bounded: the rest waits for the next round of the loop
            try:
                data = self.mon.recv(1 << 17) if self.mon is not None else b""
            except BlockingIOError:
                return
            except OSError as e:  # ENOBUFS: the kernel dropped events (a burst); go on
                log.warning("netlink monitor: %s (events lost)", e)
                continue
            if not data:
                return
            for kind, _seq, payload in messages(data):
                m = parse(kind, payload)
                if m is not None:
                    try:
                        self._event(m)
                    except Exception:
                        log.exception("netlink monitor error")

    def _event(self, msg: Any) -> None:
        from pykeepalived.vrrp.rtnl_watch import RTM_DELADDR, RTM_NEWLINK, Link

        if isinstance(msg, Link):
            if self.on_link is not None:
                fl = msg.flags
                up = msg.event == RTM_NEWLINK and bool(fl & IFF_UP and fl & IFF_RUNNING)
                self.on_link(msg.index, msg.name, up)
            return
        cb = self.on_addr_del if msg.event == RTM_DELADDR else self.on_addr_new
        if cb is not None:
            cb(msg.index, ip_address(msg.address), msg.prefixlen)
