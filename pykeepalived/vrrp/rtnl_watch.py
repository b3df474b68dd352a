"""Link and address dumps and events as raw rtnetlink, without pyroute2.

Why: the VRRP child needs only the interfaces (index, name, MAC, up), their addresses and the
link/address events, and importing pyroute2 for that cost ~95 ms and ~12 MiB at every start
(the daemon start benchmark, bench/daemon_start.py): a node that starts slower loses the
first election to a lower-priority peer started at the same moment. The messages are small
fixed structs plus attributes; parsing them is a pure function (unit-tested with bytes the
kernel sent). pyroute2 is still used, lazily, for use_vmac's macvlan links.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .rtnl import (
    _ERR,
    _IFADDR,
    _NLMSG,
    _RTA,
    IFA_ADDRESS,
    IFA_FLAGS,
    IFA_LOCAL,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    RTM_DELADDR,
    RTM_NEWADDR,
    route_socket,
)

NLMSG_DONE = 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_GETADDR = 22
NLM_F_DUMP = 0x300
IFLA_ADDRESS, IFLA_IFNAME = 1, 3
RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x10, 0x100

_IFINFO = struct.Struct("=BxHiII")
_U32 = struct.Struct("=I")


@dataclass(frozen=True, slots=True)
class Link:
    """RTM_NEWLINK / RTM_DELLINK: what the engine keeps of an interface."""

    event: int
    index: int
    name: str
    mac: str
    flags: int


@dataclass(frozen=True, slots=True)
class Addr:
    """RTM_NEWADDR / RTM_DELADDR. address is IFA_ADDRESS (the peer's for a peer address,
    as iproute2 and pyroute2 show it), else IFA_LOCAL; flags from IFA_FLAGS when present."""

    event: int
    index: int
    family: int
    address: bytes
    prefixlen: int
    flags: int
    scope: int


def messages(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(type, seq, payload) of each netlink message in one datagram."""
    off = 0
    while off + _NLMSG.size <= len(data):
        length, kind, _flags, seq, _pid = _NLMSG.unpack_from(data, off)
        if length < _NLMSG.size or off + length > len(data):
            return
        yield kind, seq, data[off + _NLMSG.size:off + length]
        off += (length + 3) & ~3


def attrs(data: bytes, off: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + _RTA.size <= len(data):
        length, kind = _RTA.unpack_from(data, off)
        if length < _RTA.size:
            break
        out.setdefault(kind & 0x3FFF, data[off + _RTA.size:off + length])
        off += (length + 3) & ~3
    return out


def parse(kind: int, payload: bytes) -> Link | Addr | None:
    """One link or address message; None for anything else (or a truncated one)."""
    if kind in (RTM_NEWLINK, RTM_DELLINK) and len(payload) >= _IFINFO.size:
        _fam, _type, index, flags, _change = _IFINFO.unpack_from(payload)
        a = attrs(payload, _IFINFO.size)
        name = a.get(IFLA_IFNAME, b"").split(b"\0", 1)[0].decode(errors="replace")
        mac = ":".join(f"{b:02x}" for b in a.get(IFLA_ADDRESS, b""))
        return Link(kind, index, name, mac, flags)
    if kind in (RTM_NEWADDR, RTM_DELADDR) and len(payload) >= _IFADDR.size:
        fam, plen, flags, scope, index = _IFADDR.unpack_from(payload)
        a = attrs(payload, _IFADDR.size)
        addr = a.get(IFA_ADDRESS) or a.get(IFA_LOCAL)
        if addr is None:
            return None
        if len(a.get(IFA_FLAGS, b"")) >= 4:
            flags = _U32.unpack_from(a[IFA_FLAGS])[0]
        return Addr(kind, index, fam, addr, plen, flags, scope)
    return None


def dump_request(kind: int, family: int, seq: int) -> bytes:
    body = _IFINFO.pack(family, 0, 0, 0, 0) if kind == RTM_GETLINK else \
        _IFADDR.pack(family, 0, 0, 0, 0)
    return _NLMSG.pack(_NLMSG.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq,
                       0) + body


class Dumper:
    """A blocking NETLINK_ROUTE socket for dumps (the kernel answers a host's links in
    well under a millisecond); one dump at a time."""

    def __init__(self, timeout: float = 2.0) -> None:
        self.sock, self._seq = route_socket(timeout)

    def dump(self, kind: int, family: int = socket.AF_UNSPEC) -> list[Link | Addr]:
        seq = next(self._seq) & 0xFFFFFFFF
        self.sock.send(dump_request(kind, family, seq))
        out: list[Link | Addr] = []
        for _ in range(100_000):  # bounded: a dump ends with NLMSG_DONE
            for k, s, payload in messages(self.sock.recv(1 << 17)):
                if s != seq:
                    continue  # a late answer to an earlier, timed-out dump
                if k == NLMSG_DONE:
                    return out
                if k == NLMSG_ERROR:
                    err = -_ERR.unpack_from(payload)[0] if len(payload) >= 4 else 0
                    raise OSError(err, os.strerror(err) if err else "netlink dump failed")
                m = parse(k, payload)
                if m is not None:
                    out.append(m)
        raise OSError(0, "netlink dump did not end")

    def close(self) -> None:
        self.sock.close()


def monitor_socket() -> socket.socket:
    """Non-blocking, subscribed to link and IPv4/IPv6 address events."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                      socket.NETLINK_ROUTE)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
    s.setblocking(False)
    return s
