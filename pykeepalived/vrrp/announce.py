"""Gratuitous ARP (IPv4 VIPs) and unsolicited NA (IPv6 VIPs) on AF_PACKET, keepalived's schedule.

Measured on keepalived 2.2.7 (research/kad-baseline.md): on becoming MASTER one burst of
``garp_master_repeat`` rounds over all VIPs (round-major: .100 .101 .100 .101 …), a second
identical burst ``garp_master_delay`` seconds later, then every ``garp_master_refresh`` seconds
``garp_master_refresh_repeat`` rounds while MASTER. A MASTER that hears a lower-priority advert
does the same with ``garp_lower_prio_repeat`` / ``garp_lower_prio_delay``. Packets are spaced by
``garp_interval`` (IPv4) / ``gna_interval`` (IPv6); 0 = back to back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface

from pykeepalived.config.model import VirtualIP
from pykeepalived.logdefer import later
from pykeepalived.loglevels import DETAIL
from pykeepalived.vrrp.codec import build_garp, build_unsolicited_na

log = logging.getLogger("pykeepalived.vrrp")


@dataclass(frozen=True, slots=True)
class Schedule:
    repeat: int
    delay: float  # second burst after this many seconds (0 = none)
    refresh: float = 0.0  # then every refresh seconds (0 = never)
    refresh_repeat: int = 1
    garp_interval: float = 0.0
    gna_interval: float = 0.0


def _forwarding(ifname: str) -> bool:
    try:
        with open(f"/proc/sys/net/ipv6/conf/{ifname}/forwarding") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


class Announcer:
    """One AF_PACKET socket per interface; one running schedule per instance."""

    def __init__(self) -> None:
        self.socks: dict[str, socket.socket] = {}
        self.jobs: dict[str, asyncio.Task[None]] = {}
        self.sent: dict[str, int] = {}  # per instance, for snapshot/tests

    def _sock(self, ifname: str) -> socket.socket:
        s = self.socks.get(ifname)
        if s is None:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            s.bind((ifname, 0))
            s.setblocking(False)
            self.socks[ifname] = s
        return s

    def frames(self, vips: list[tuple[VirtualIP, str, str]]) -> list[tuple[str, bytes, int]]:
        out = []
        for vip, ifname, mac in vips:
            a = vip.address
            if isinstance(a, IPv4Interface):
                out.append((ifname, build_garp(mac, a.ip), 4))
            elif isinstance(a, IPv6Interface) and not a.ip.is_link_local:
                out.append((ifname, build_unsolicited_na(mac, a.ip, router=_forwarding(ifname)),
                            6))
        return out

    def _send(self, name: str, ifname: str, frame: bytes, fam: int, txt: str, first: bool
              ) -> None:
        try:
            self._sock(ifname).send(frame)
            self.sent[name] = self.sent.get(name, 0) + 1
        except OSError as e:
            log.warning("(%s) Sending gratuitous %s on %s failed: %s", name,
                        "ARP" if fam == 4 else "NA", ifname, e)
            return
        if log.isEnabledFor(DETAIL):  # keepalived -D: one line per packet, at info
            later(log, DETAIL, "Sending %s on %s for %s",
                  "gratuitous ARP" if fam == 4 else "unsolicited Neighbour Advert", ifname, txt)

    async def _burst(self, name: str, frames: list[tuple[str, bytes, int]], vips_txt: list[str],
                     rounds: int, sch: Schedule) -> None:
        for r in range(rounds):
            for (ifname, frame, fam), txt in zip(frames, vips_txt, strict=True):
                self._send(name, ifname, frame, fam, txt, r == 0)
                gap = sch.garp_interval if fam == 4 else sch.gna_interval
                if gap > 0:
                    await asyncio.sleep(gap)

    def prepare(self, ifnames: set[str]) -> None:
        """Open the AF_PACKET sockets before they are needed (not on the failover path)."""
        for ifname in ifnames:
            try:
                self._sock(ifname)
            except OSError as e:
                log.debug("no AF_PACKET socket on %s yet: %s", ifname, e)

    def start(self, name: str, vips: list[tuple[VirtualIP, str, str]], sch: Schedule) -> None:
        """(Re)start the schedule of instance ``name``; vips = (vip, ifname, source MAC)."""
        self.cancel(name)
        frames = self.frames(vips)
        if not frames or sch.repeat <= 0:
            return
        txt = [str(v.address.ip) for v, _i, _m in vips
               if not (v.address.version == 6 and v.address.ip.is_link_local)]
        for (ifname, _f, fam), t in zip(frames, txt, strict=True):
            if fam == 4:
                later(log, DETAIL, "(%s) Sending/queueing gratuitous ARPs on %s for %s",
                      name, ifname, t)
            else:
                later(log, DETAIL,
                      "(%s) Sending/queueing Unsolicited Neighbour Adverts on %s for %s",
                      name, ifname, t)

        loop = asyncio.get_running_loop()
        start = loop.time()
        # back to back (the default): the first burst goes out now, not a loop turn later
        now = sch.garp_interval <= 0 and sch.gna_interval <= 0
        if now:
            for r in range(sch.repeat):
                for (ifname, frame, fam), t in zip(frames, txt, strict=True):
                    self._send(name, ifname, frame, fam, t, r == 0)
            if sch.delay <= 0 and sch.refresh <= 0:
                return

        async def run() -> None:
            # keepalived times both the delayed burst and the refresh from the moment of
            # becoming MASTER
            if not now:
                await self._burst(name, frames, txt, sch.repeat, sch)
            pending_delay = sch.delay > 0
            k = 1
            while pending_delay or sch.refresh > 0:
                t_refresh = k * sch.refresh if sch.refresh > 0 else float("inf")
                if pending_delay and sch.delay <= t_refresh:
                    await asyncio.sleep(max(0.0, start + sch.delay - loop.time()))
                    await self._burst(name, frames, txt, sch.repeat, sch)
                    pending_delay = False
                    continue
                await asyncio.sleep(max(0.0, start + t_refresh - loop.time()))
                await self._burst(name, frames, txt, sch.refresh_repeat, sch)
                k += 1

        task = loop.create_task(run())
        self.jobs[name] = task
        task.add_done_callback(lambda t, n=name: self._done(n, t))

    def _done(self, name: str, task: asyncio.Task[None]) -> None:
        if self.jobs.get(name) is task:
            del self.jobs[name]
        if not task.cancelled() and task.exception() is not None:
            log.error("(%s) announcement failed: %s", name, task.exception())

    def cancel(self, name: str) -> None:
        """Stop the schedule of ``name`` and its sub-schedules (``name:restore`` …)."""
        for key in [k for k in self.jobs if k == name or k.startswith(name + ":")]:
            self.jobs.pop(key).cancel()

    def close(self) -> None:
        for name in list(self.jobs):
            self.cancel(name)
        for s in self.socks.values():
            with contextlib.suppress(OSError):
                s.close()
        self.socks.clear()
