"""VIP add/delete as raw rtnetlink requests, answered synchronously.

Why not pyroute2 here: becoming MASTER is the one latency-critical path (the backup's VIP and
GARP follow the master-down timer), and AsyncIPRoute's request costs ~0.5-0.9 ms of Python
around a kernel call that takes ~20 µs. An RTM_NEWADDR is 40-70 bytes; we pack it (a pure
function, unit-tested), send it on a blocking NETLINK_ROUTE socket and read the kernel's ack,
as keepalived does. pyroute2 still serves the dumps and the event monitor.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

RTM_NEWADDR = 20
RTM_DELADDR = 21
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_REPLACE = 0x100
NLM_F_CREATE = 0x400
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
IFA_BROADCAST = 4
IFA_FLAGS = 8

_NLMSG = struct.Struct("=IHHII")
_IFADDR = struct.Struct("=BBBBI")
_RTA = struct.Struct("=HH")
_ERR = struct.Struct("=i")


@dataclass(frozen=True, slots=True)
class AddrReq:
    """One address as the kernel sees it (packed addresses, numeric scope)."""

    family: int  # socket.AF_INET / AF_INET6
    index: int
    local: bytes
    prefixlen: int
    peer: bytes | None = None
    broadcast: bytes | None = None
    label: str | None = None
    scope: int = 0
    flags: int = 0


def _attr(kind: int, data: bytes) -> bytes:
    n = _RTA.size + len(data)
    return _RTA.pack(n, kind) + data + bytes(-n % 4)


def encode(op: int, req: AddrReq, seq: int, pid: int = 0) -> bytes:
    """RTM_NEWADDR (create or replace: idempotent) or RTM_DELADDR for ``req``."""
    body = _IFADDR.pack(req.family, req.prefixlen, req.flags & 0xFF, req.scope, req.index)
    body += _attr(IFA_LOCAL, req.local)
    body += _attr(IFA_ADDRESS, req.peer or req.local)
    if op == RTM_NEWADDR:
        if req.broadcast is not None:
            body += _attr(IFA_BROADCAST, req.broadcast)
        if req.label:
            body += _attr(IFA_LABEL, req.label.encode() + b"\0")
        if req.flags:
            body += _attr(IFA_FLAGS, struct.pack("=I", req.flags))
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
    else:
        flags = NLM_F_REQUEST | NLM_F_ACK
    return _NLMSG.pack(_NLMSG.size + len(body), op, flags, seq, pid) + body


def ack_errno(data: bytes, seq: int) -> int | None:
    """The errno (0 = success) of the NLMSG_ERROR answering ``seq`` in ``data``, if there."""
    off = 0
    while off + _NLMSG.size <= len(data):
        length, kind, _fl, mseq, _pid = _NLMSG.unpack_from(data, off)
        if length < _NLMSG.size:
            return None
        if kind == NLMSG_ERROR and mseq == seq and off + _NLMSG.size + 4 <= len(data):
            return -_ERR.unpack_from(data, off + _NLMSG.size)[0]
        off += (length + 3) & ~3
    return None


def route_socket(timeout: float) -> tuple[socket.socket, Iterator[int]]:
    """A blocking, bound NETLINK_ROUTE socket and its request sequence numbers (random start:
    a restarted process does not take a predecessor's late answers for its own)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                         socket.NETLINK_ROUTE)
    sock.bind((0, 0))
    sock.settimeout(timeout)
    return sock, itertools.count(int.from_bytes(os.urandom(2), "big") + 1)


class AddrSocket:
    """A blocking rtnetlink socket for address requests; one request in flight at a time."""

    def __init__(self, timeout: float = 2.0) -> None:
        self.sock, self._seq = route_socket(timeout)

    def request(self, op: int, req: AddrReq) -> None:
        """Send and wait for the ack; OSError(errno) on a kernel refusal or no answer."""
        seq = next(self._seq) & 0xFFFFFFFF
        self.sock.send(encode(op, req, seq))
        for _ in range(16):  # stale acks of timed-out requests are skipped, boundedly
            err = ack_errno(self.sock.recv(65536), seq)
            if err is None:
                continue
            if err:
                raise OSError(err, os.strerror(err))
            return
        raise OSError(0, "no netlink ack")

    def close(self) -> None:
        self.sock.close()
