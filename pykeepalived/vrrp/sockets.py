"""Raw VRRP sockets (IPv4 proto 112/51, IPv6 proto 112) integrated with asyncio.

One socket per (interface, family, protocol) is shared by every instance on that interface, as
keepalived's "sockpool" does; received packets are demultiplexed by VRID. The same socket sends:

* IPv4 uses IP_HDRINCL so the header is byte-identical to keepalived's (TOS 0xc0, TTL 255,
  DF clear, IP id counting from 1 per instance) and the source address is ours to choose
  (the v3 pseudo-header needs it, and a raw socket *bound* to an address gets no multicast).
* IPv6 lets the kernel build the header; IPV6_CHECKSUM=6 makes it fill the v3 checksum on send
  and drop bad ones on receive; the source (link-local or unicast_src_ip) goes in IPV6_PKTINFO.

Multicast loop is off (we never hear ourselves) and IP_MULTICAST_ALL off (only groups joined
on this socket). Reading is drained in bounded batches per loop turn so that a flood of junk
cannot starve the timers that send our adverts, and a classic BPF filter keeps adverts for
VRIDs nobody here runs in the kernel: a busy segment (or a flood of other VRIDs) then never
fills our receive queue, where it would crowd out the real master's adverts.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.loglevels import DETAIL

log = logging.getLogger("pykeepalived.vrrp")

IPPROTO_VRRP = 112
IPPROTO_AH = 51
IP_MULTICAST_ALL = 49  # missing from Python 3.11's socket module
IPV6_CHECKSUM = getattr(socket, "IPV6_CHECKSUM", 7)
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
RX_BATCH = 64  # packets handled per readable callback before yielding to the loop
RX_BUF = 1 << 20
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35  # also the cmsg type (SCM_TIMESTAMPNS)
MAX_RX_AGE = 0.5  # a kernel timestamp older than this (or in the future) is not trusted
SO_DETACH_FILTER = 27

IPAddr = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class RxPacket:
    """What the instance needs from one received datagram.

    IPv4: ``data`` is the whole IP datagram (header included), src/dst/hop_limit are None (the
    codec reads them from the header). IPv6: ``data`` is the VRRP message only; the rest comes
    from the socket address and ancillary data.
    """

    family: int
    data: bytes
    src: IPv6Address | None = None
    dst: IPv6Address | None = None
    hop_limit: int | None = None
    rx_time: float | None = None  # monotonic time the kernel received it (SO_TIMESTAMPNS)


Handler = Callable[[RxPacket], None]


def vrid_filter(family: int, proto: int, vrids: frozenset[int]) -> list[tuple[int, int, int, int]]:
    """Classic BPF accepting only datagrams whose VRRP header carries one of ``vrids``.

    A pure function (unit-tested); what the socket sees: IPv4 raw sockets get the IP header
    first (VRID at IHL + 1, or IHL + 24 + 1 behind an AH header), IPv6 ones the VRRP message.
    Truncated packets fail the load and are rejected by the kernel.
    """
    ld_b_abs, ld_b_ind, ldx_msh = 0x30, 0x50, 0xB1
    jeq_k, ret_k = 0x15, 0x06
    prog: list[tuple[int, int, int, int]] = []
    if family == 4:
        prog.append((ldx_msh, 0, 0, 0))  # X = 4 * (IP[0] & 0xf)
        prog.append((ld_b_ind, 0, 0, 1 + (24 if proto == IPPROTO_AH else 0)))
    else:
        prog.append((ld_b_abs, 0, 0, 1))
    ids = sorted(v for v in vrids if 0 <= v <= 255)
    n = len(ids)
    for i, v in enumerate(ids):
        prog.append((jeq_k, n - i, 0, v))  # true: jump over the rest and the reject
    prog.append((ret_k, 0, 0, 0))
    prog.append((ret_k, 0, 0, 0xFFFFFFFF))
    return prog


def rx_monotonic(anc: list[tuple[int, int, bytes]], now_mono: float, now_real: float
                 ) -> float | None:
    """The kernel's receive time of a datagram on the monotonic clock.

    Why: the master-down timer restarts when an advert *arrives*; our own wake-up and
    decoding (0.1-0.3 ms, more under load) would otherwise push every failover later. The
    kernel stamps CLOCK_REALTIME, so the age is taken against the wall clock read now and
    clamped: a clock step between the two readings cannot move the timer by more than
    MAX_RX_AGE."""
    for level, kind, val in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(val) >= 16:
            sec, nsec = struct.unpack("@qq", val[:16])
            age = now_real - (sec + nsec * 1e-9)
            if 0.0 <= age <= MAX_RX_AGE:
                return now_mono - age
            return None
    return None


def _ifindex(ifname: str) -> int:
    return socket.if_nametoindex(ifname)


def _vrid_of(pkt: RxPacket) -> int | None:
    d = pkt.data
    if pkt.family == 6:
        return d[1] if len(d) >= 2 else None
    if len(d) < 20:
        return None
    ihl = (d[0] & 0x0F) * 4
    off = ihl + (24 if d[9] == IPPROTO_AH else 0)
    return d[off + 1] if len(d) > off + 1 else None


class VrrpSocket:
    """One raw socket on one interface: sends for its instances, dispatches what it reads."""

    def __init__(self, ifname: str, family: int, proto: int = IPPROTO_VRRP) -> None:
        self.ifname = ifname
        self.family = family
        self.proto = proto
        self.ifindex = _ifindex(ifname)
        self.handlers: dict[int, list[Handler]] = {}
        self.groups: set[IPAddr] = set()
        self.unknown_vrid = 0
        self.rx_packets = 0
        self.batches_full = 0  # readable callbacks that hit RX_BATCH (a flood indicator)
        self.filtered = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sock = self._open()

    # -- setup ---------------------------------------------------------------------------
    def _open(self) -> socket.socket:
        fam = socket.AF_INET if self.family == 4 else socket.AF_INET6
        s = socket.socket(fam, socket.SOCK_RAW, self.proto)
        try:
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.ifname.encode())
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RX_BUF)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            if self.family == 4:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
                s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                             struct.pack("4s4si", bytes(4), bytes(4), self.ifindex))
            else:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 6)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, 0xC0)
        except OSError:
            s.close()
            raise
        return s

    def join(self, group: IPAddr) -> None:
        """Join a multicast group on this interface (idempotent)."""
        if group in self.groups:
            return
        if self.family == 4:
            mreq = struct.pack("4s4si", group.packed, bytes(4), self.ifindex)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            mreq = group.packed + struct.pack("@I", self.ifindex)
            self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        self.groups.add(group)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self.sock.fileno(), self._readable)

    def register(self, vrid: int, handler: Handler) -> None:
        new = vrid not in self.handlers
        self.handlers.setdefault(vrid, []).append(handler)
        if new:
            self._filter()

    def unregister(self, vrid: int, handler: Handler) -> None:
        lst = self.handlers.get(vrid, [])
        if handler in lst:
            lst.remove(handler)
        if not lst and self.handlers.pop(vrid, None) is not None:
            self._filter()

    def _filter(self) -> None:
        """(Re)install the kernel VRID filter; without it we still demultiplex in user space."""
        import ctypes

        prog = vrid_filter(self.family, self.proto, frozenset(self.handlers))
        code = b"".join(struct.pack("@HBBI", *insn) for insn in prog)
        buf = ctypes.create_string_buffer(code, len(code))
        fprog = struct.pack("@HP", len(prog), ctypes.addressof(buf))
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
            self.filtered = True
        except OSError as e:
            self.filtered = False
            log.warning("VRRP socket %s: no kernel VRID filter (%s)", self.ifname, e)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.sock.fileno())
            self._loop = None
        self.sock.close()

    # -- receive -------------------------------------------------------------------------
    def _recv_one(self) -> RxPacket | None:
        if self.family == 4:
            data, anc, _flags, _addr = self.sock.recvmsg(65535, 64)
            return RxPacket(4, data, rx_time=rx_monotonic(anc, time.monotonic(), time.time())
                            if anc else None)
        data, anc, _flags, addr = self.sock.recvmsg(65535, 256)
        rx = rx_monotonic(anc, time.monotonic(), time.time())
        hop: int | None = None
        dst: IPv6Address | None = None
        for level, kind, val in anc:
            if level != socket.IPPROTO_IPV6:
                continue
            if kind == socket.IPV6_HOPLIMIT and len(val) >= 4:
                hop = struct.unpack("@i", val[:4])[0]
            elif kind == socket.IPV6_PKTINFO and len(val) >= 16:
                dst = IPv6Address(val[:16])
        src = IPv6Address(addr[0].split("%", 1)[0])
        return RxPacket(6, data, src, dst, hop, rx)

    def _readable(self) -> None:
        """Handle at most RX_BATCH packets; the loop calls us again if more are queued."""
        for _ in range(RX_BATCH):
            try:
                pkt = self._recv_one()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.warning("VRRP socket %s receive error: %s", self.ifname, e)
                return
            if pkt is None:
                continue
            self.rx_packets += 1
            vrid = _vrid_of(pkt)
            handlers = self.handlers.get(vrid) if vrid is not None else None
            if not handlers:
                self.unknown_vrid += 1
                continue
            for h in handlers:
                try:
                    h(pkt)
                except Exception:  # a bug in one instance must not kill the socket
                    log.exception("VRRP handler for VRID %s failed", vrid)
        self.batches_full += 1

    # -- send ----------------------------------------------------------------------------
    def send4(self, datagram: bytes, dst: IPv4Address) -> None:
        """Send a complete IPv4 datagram (we built the header)."""
        self.sock.sendto(datagram, (str(dst), 0))

    def send6(self, payload: bytes, src: IPv6Address, dst: IPv6Address) -> None:
        """Send a VRRPv3 message; the kernel adds the header and the checksum."""
        pktinfo = src.packed + struct.pack("@I", self.ifindex)
        scope = self.ifindex if dst.is_link_local or dst.is_multicast else 0
        self.sock.sendmsg([payload], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)], 0,
                          (str(dst), 0, 0, scope))


class SocketPool:
    """keepalived's sockpool: share one socket per (interface, family, protocol)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.sockets: dict[tuple[str, int, int], VrrpSocket] = {}

    def get(self, ifname: str, family: int, proto: int = IPPROTO_VRRP) -> VrrpSocket:
        key = (ifname, family, proto)
        s = self.sockets.get(key)
        if s is None:
            s = VrrpSocket(ifname, family, proto)
            s.attach(self.loop)
            self.sockets[key] = s
            log.log(DETAIL, "VRRP sockpool: [ifindex(%3d), family(IPv%d), proto(%d)]",
                     s.ifindex, family, proto)
        return s

    def release_unused(self) -> None:
        """Close sockets no instance uses any more (after a reload)."""
        for key, s in list(self.sockets.items()):
            if not s.handlers:
                s.close()
                del self.sockets[key]

    def close(self) -> None:
        for s in self.sockets.values():
            s.close()
        self.sockets.clear()
