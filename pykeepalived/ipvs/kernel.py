"""A thin, typed wrapper around the kernel's IPVS generic-netlink API.

Why our own message classes instead of pyroute2's ``IPVS``/``IPVSService``/``IPVSDest``
(pyroute2 0.9.7, research/deps.md §2.4, tests/ipvs prove each point on a real kernel):

* ``"update"`` is mapped to the DEL commands (it deletes): we never use the command map.
* ``set`` sends pyroute2's defaults for omitted fields (sched ``wlc``, fwd route, timeout 0):
  we always send the complete record we were given (``Service``/``Dest`` are complete).
* ``IPVSDest.from_message()`` loses fwd_method and thresholds: we read every field from the
  netlink attributes ourselves, so no field needs a second source such as /proc/net/ip_vs.
* fwmark and IPv6 services get no netmask (EINVAL), and the netmask attribute is typed
  ``ip4addr`` although for IPv6 the kernel stores the prefix length in it: our message class
  types it as a raw u32 and we convert (IPv4: the be32 mask; IPv6: the prefix in host order).
* ``IPVS_DEST_ATTR_TUN_PORT`` is typed host-order ``uint16`` but the kernel reads be16: ours
  is ``be16``.
* The sync daemon, timeouts, flush and zero are not in the high-level API, and their
  attributes are typed ``hex``: our class gives them real types.

pyroute2 is imported lazily (in ``_msg_classes`` and ``IPVSKernel.__init__``): importing this
module stays cheap and ``pykeepalived -t`` never loads pyroute2.
"""

from __future__ import annotations

import errno as _errno
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# linux/ip_vs.h
IPVS_CMD_NEW_SERVICE = 1
IPVS_CMD_SET_SERVICE = 2
IPVS_CMD_DEL_SERVICE = 3
IPVS_CMD_GET_SERVICE = 4
IPVS_CMD_NEW_DEST = 5
IPVS_CMD_SET_DEST = 6
IPVS_CMD_DEL_DEST = 7
IPVS_CMD_GET_DEST = 8
IPVS_CMD_NEW_DAEMON = 9
IPVS_CMD_DEL_DAEMON = 10
IPVS_CMD_GET_DAEMON = 11
IPVS_CMD_SET_CONFIG = 12
IPVS_CMD_GET_CONFIG = 13
IPVS_CMD_ZERO = 16
IPVS_CMD_FLUSH = 17
GENL_VERSION = 1

PROTOCOLS = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP, "sctp": 132}
_PROTO_NAMES = {v: k for k, v in PROTOCOLS.items()}
FWD_METHODS = {"masq": 0, "local": 1, "tunnel": 2, "route": 3, "bypass": 4}
_FWD_NAMES = {v: k for k, v in FWD_METHODS.items()}
TUN_TYPES = {"ipip": 0, "gue": 1, "gre": 2}
_TUN_NAMES = {v: k for k, v in TUN_TYPES.items()}
# IP_VS_SVC_F_*; sched1/sched2 are what ipvsadm calls sh-fallback/sh-port (mh-* for mh)
SERVICE_FLAGS = {
    "persistent": 0x1,
    "hashed": 0x2,
    "ops": 0x4,
    "sched1": 0x8,
    "sched2": 0x10,
    "sched3": 0x20,
}
FLAG_ALIASES = {
    "sh-fallback": "sched1",
    "sh-port": "sched2",
    "mh-fallback": "sched1",
    "mh-port": "sched2",
}
# the kernel sets these itself; they are reported but never sent back
_KERNEL_FLAGS = frozenset({"hashed"})
DAEMON_STATES = {"master": 1, "backup": 2}


class IPVSError(Exception):
    """A kernel IPVS request failed: ``errno`` plus a message a person can act on."""

    def __init__(self, err: int, op: str, detail: str = "") -> None:
        self.errno = err
        self.op = op
        hint = _HINTS.get(err, "")
        reason = os.strerror(err) if err > 0 else "error"
        msg = f"IPVS {op} failed: [errno {err}] {reason}"
        if detail and detail != reason:
            msg += f" ({detail})"
        if hint:
            msg += f": {hint}"
        super().__init__(msg)


_HINTS = {
    _errno.EEXIST: "the entry already exists",
    _errno.ESRCH: "no such virtual service",
    _errno.ENOENT: "no such entry, or a missing kernel module",
    _errno.EINVAL: "the kernel rejected a field (netmask, port 0, flags, weight ...)",
    _errno.EBUSY: "busy (sync daemon already running?)",
    _errno.EPERM: "needs CAP_NET_ADMIN",
}


@dataclass(frozen=True, order=True)
class Service:
    """One virtual service, complete (every field is sent on add and edit).

    Keyed by (af, protocol, addr, port) or by (af, fwmark). ``netmask`` is the persistence
    granularity as a prefix length (IPv4 32 = 255.255.255.255; IPv6 1..128).
    """

    af: int = socket.AF_INET
    protocol: str | None = "tcp"  # tcp/udp/sctp; None for an fwmark service
    addr: str | None = None
    port: int = 0
    fwmark: int = 0
    scheduler: str = "wlc"
    flags: frozenset[str] = frozenset()
    timeout: int = 0  # persistence timeout in seconds (with the "persistent" flag)
    netmask: int = -1  # -1: 32 for IPv4, 128 for IPv6
    pe_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "af", int(self.af))
        if self.netmask == -1:
            object.__setattr__(self, "netmask", 128 if self.af == socket.AF_INET6 else 32)
        flags = frozenset(FLAG_ALIASES.get(f, f) for f in self.flags)
        unknown = flags - SERVICE_FLAGS.keys()
        if unknown:
            raise ValueError(f"unknown IPVS service flags: {sorted(unknown)}")
        object.__setattr__(self, "flags", flags)
        if self.addr is not None:
            object.__setattr__(self, "addr", str(ipaddress.ip_address(self.addr)))
        if self.fwmark:
            object.__setattr__(self, "protocol", None)

    @classmethod
    def fwm(cls, mark: int, af: int = socket.AF_INET, **kw: Any) -> Service:
        """An fwmark service."""
        return cls(af=af, protocol=None, addr=None, port=0, fwmark=mark, **kw)

    @classmethod
    def inet(cls, protocol: str, addr: str, port: int, **kw: Any) -> Service:
        """An address service; the family comes from ADDR."""
        af = socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET
        return cls(af=af, protocol=protocol, addr=addr, port=port, **kw)

    @property
    def key(self) -> tuple[Any, ...]:
        """What identifies the service in the kernel."""
        if self.fwmark:
            return (self.af, "fwmark", self.fwmark)
        return (self.af, self.protocol, self.addr, self.port)

    def with_(self, **changes: Any) -> Service:
        """A copy with CHANGES (dataclasses.replace, re-validated)."""
        from dataclasses import replace

        return replace(self, **changes)


@dataclass(frozen=True, order=True)
class Dest:
    """One real server of a service (complete: every field is sent on add and edit)."""

    addr: str
    port: int = 0
    fwd: str = "route"  # masq / route / tunnel (/ local / bypass)
    weight: int = 1
    u_thresh: int = 0
    l_thresh: int = 0
    tun_type: str = "ipip"  # ipip / gue / gre (tunnel only)
    tun_port: int = 0  # GUE destination port
    tun_flags: int = 0  # IP_VS_TUNNEL_ENCAP_FLAG_* (csum / remcsum)
    af: int = 0  # 0: same as addr
    # live counters from a dump; never compared
    active_conns: int = field(default=0, compare=False)
    inact_conns: int = field(default=0, compare=False)
    persist_conns: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        ip = ipaddress.ip_address(self.addr)
        object.__setattr__(self, "addr", str(ip))
        if not self.af:
            object.__setattr__(self, "af", socket.AF_INET6 if ip.version == 6 else socket.AF_INET)
        object.__setattr__(self, "af", int(self.af))
        if self.fwd not in FWD_METHODS:
            raise ValueError(f"unknown forwarding method {self.fwd!r}")
        if self.tun_type not in TUN_TYPES:
            raise ValueError(f"unknown tunnel type {self.tun_type!r}")

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.af, self.addr, self.port)


@dataclass(frozen=True)
class Timeouts:
    """IPVS connection timeouts in seconds (ipvsadm --set tcp tcpfin udp); 0 = unchanged."""

    tcp: int
    tcpfin: int
    udp: int


@dataclass(frozen=True)
class SyncDaemon:
    """One running lvs_sync_daemon (ipvsadm --start-daemon)."""

    state: str  # master / backup
    ifname: str
    syncid: int
    maxlen: int = 0
    mcast_group: str | None = None
    mcast_port: int = 0
    mcast_ttl: int = 0


@cache
def _msg_classes() -> Any:
    """Our ipvsmsg: pyroute2's, with correct types for the attributes it gets wrong."""
    from pyroute2.netlink import genlmsg, nla
    from pyroute2.netlink.generic.ipvs import ipvsstats

    class ipvsmsg(genlmsg):
        prefix = "IPVS_CMD_ATTR_"
        nla_map = (
            ("IPVS_CMD_ATTR_UNSPEC", "none"),
            ("IPVS_CMD_ATTR_SERVICE", "service"),
            ("IPVS_CMD_ATTR_DEST", "dest"),
            ("IPVS_CMD_ATTR_DAEMON", "daemon"),
            ("IPVS_CMD_ATTR_TIMEOUT_TCP", "uint32"),
            ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "uint32"),
            ("IPVS_CMD_ATTR_TIMEOUT_UDP", "uint32"),
        )

        class service(nla, ipvsstats):
            prefix = "IPVS_SVC_ATTR_"
            nla_map = (
                ("IPVS_SVC_ATTR_UNSPEC", "none"),
                ("IPVS_SVC_ATTR_AF", "uint16"),
                ("IPVS_SVC_ATTR_PROTOCOL", "uint16"),
                ("IPVS_SVC_ATTR_ADDR", "target(nla,IPVS_SVC_ATTR_AF)"),
                ("IPVS_SVC_ATTR_PORT", "be16"),
                ("IPVS_SVC_ATTR_FWMARK", "uint32"),
                ("IPVS_SVC_ATTR_SCHED_NAME", "asciiz"),
                ("IPVS_SVC_ATTR_FLAGS", "flags"),
                ("IPVS_SVC_ATTR_TIMEOUT", "uint32"),
                # raw: an IPv4 be32 mask, or an IPv6 prefix length (host order)
                ("IPVS_SVC_ATTR_NETMASK", "uint32"),
                ("IPVS_SVC_ATTR_STATS", "stats"),
                ("IPVS_SVC_ATTR_PE_NAME", "asciiz"),
                ("IPVS_SVC_ATTR_STATS64", "stats64"),
            )

            class flags(nla):
                fields = (("flags", "I"), ("mask", "I"))

        class dest(nla, ipvsstats):
            prefix = "IPVS_DEST_ATTR_"
            nla_map = (
                ("IPVS_DEST_ATTR_UNSPEC", "none"),
                ("IPVS_DEST_ATTR_ADDR", "target(nla,IPVS_DEST_ATTR_ADDR_FAMILY)"),
                ("IPVS_DEST_ATTR_PORT", "be16"),
                ("IPVS_DEST_ATTR_FWD_METHOD", "uint32"),
                ("IPVS_DEST_ATTR_WEIGHT", "uint32"),
                ("IPVS_DEST_ATTR_U_THRESH", "uint32"),
                ("IPVS_DEST_ATTR_L_THRESH", "uint32"),
                ("IPVS_DEST_ATTR_ACTIVE_CONNS", "uint32"),
                ("IPVS_DEST_ATTR_INACT_CONNS", "uint32"),
                ("IPVS_DEST_ATTR_PERSIST_CONNS", "uint32"),
                ("IPVS_DEST_ATTR_STATS", "stats"),
                ("IPVS_DEST_ATTR_ADDR_FAMILY", "uint16"),
                ("IPVS_DEST_ATTR_STATS64", "stats64"),
                ("IPVS_DEST_ATTR_TUN_TYPE", "uint8"),
                ("IPVS_DEST_ATTR_TUN_PORT", "be16"),
                ("IPVS_DEST_ATTR_TUN_FLAGS", "uint16"),
            )

        class daemon(nla):
            prefix = "IPVS_DAEMON_ATTR_"
            nla_map = (
                ("IPVS_DAEMON_ATTR_UNSPEC", "none"),
                ("IPVS_DAEMON_ATTR_STATE", "uint32"),
                ("IPVS_DAEMON_ATTR_MCAST_IFN", "asciiz"),
                ("IPVS_DAEMON_ATTR_SYNC_ID", "uint32"),
                ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", "uint16"),
                ("IPVS_DAEMON_ATTR_MCAST_GROUP", "ip4addr"),
                ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "ip6addr"),
                ("IPVS_DAEMON_ATTR_MCAST_PORT", "uint16"),
                ("IPVS_DAEMON_ATTR_MCAST_TTL", "uint8"),
            )

    return ipvsmsg


def _netmask_raw(svc: Service) -> int:
    if svc.af == socket.AF_INET6:
        if not 1 <= svc.netmask <= 128:
            raise ValueError(f"IPv6 persistence netmask must be 1..128, not {svc.netmask}")
        return svc.netmask
    if not 0 <= svc.netmask <= 32:
        raise ValueError(f"IPv4 netmask must be 0..32, not {svc.netmask}")
    mask = (0xFFFFFFFF << (32 - svc.netmask)) & 0xFFFFFFFF
    return int.from_bytes(mask.to_bytes(4, "big"), sys.byteorder)


def _netmask_prefix(af: int, raw: int) -> int:
    if af == socket.AF_INET6:
        return raw
    mask = int.from_bytes(raw.to_bytes(4, sys.byteorder), "big")
    return bin(mask).count("1")


def _service_attrs(svc: Service, full: bool) -> list[tuple[str, Any]]:
    a: list[tuple[str, Any]] = [("IPVS_SVC_ATTR_AF", svc.af)]
    if svc.fwmark:
        a.append(("IPVS_SVC_ATTR_FWMARK", svc.fwmark))
    else:
        if svc.protocol not in PROTOCOLS or svc.addr is None:
            raise ValueError(f"service needs protocol (tcp/udp/sctp) and addr: {svc}")
        a += [
            ("IPVS_SVC_ATTR_PROTOCOL", PROTOCOLS[svc.protocol]),
            ("IPVS_SVC_ATTR_ADDR", svc.addr),
            ("IPVS_SVC_ATTR_PORT", svc.port),
        ]
    if full:
        bits = 0
        for f in svc.flags - _KERNEL_FLAGS:
            bits |= SERVICE_FLAGS[f]
        a += [
            ("IPVS_SVC_ATTR_SCHED_NAME", svc.scheduler),
            ("IPVS_SVC_ATTR_FLAGS", {"flags": bits, "mask": 0xFFFFFFFF}),
            ("IPVS_SVC_ATTR_TIMEOUT", svc.timeout),
            ("IPVS_SVC_ATTR_NETMASK", _netmask_raw(svc)),
        ]
        if svc.pe_name:
            a.append(("IPVS_SVC_ATTR_PE_NAME", svc.pe_name))
    return a


def _dest_attrs(d: Dest, full: bool) -> list[tuple[str, Any]]:
    a: list[tuple[str, Any]] = [
        ("IPVS_DEST_ATTR_ADDR_FAMILY", d.af),
        ("IPVS_DEST_ATTR_ADDR", d.addr),
        ("IPVS_DEST_ATTR_PORT", d.port),
    ]
    if full:
        a += [
            ("IPVS_DEST_ATTR_FWD_METHOD", FWD_METHODS[d.fwd]),
            ("IPVS_DEST_ATTR_WEIGHT", d.weight),
            ("IPVS_DEST_ATTR_U_THRESH", d.u_thresh),
            ("IPVS_DEST_ATTR_L_THRESH", d.l_thresh),
            ("IPVS_DEST_ATTR_TUN_TYPE", TUN_TYPES[d.tun_type]),
            ("IPVS_DEST_ATTR_TUN_PORT", d.tun_port),
            ("IPVS_DEST_ATTR_TUN_FLAGS", d.tun_flags),
        ]
    return a


def _service_from(nl: Any) -> Service:
    g = nl.get_attr
    af = g("IPVS_SVC_ATTR_AF")
    fl = g("IPVS_SVC_ATTR_FLAGS") or {"flags": 0}
    bits = fl["flags"]
    # "hashed" only says the service is in the kernel's table (always true in a dump): drop
    # it so a dumped Service compares equal to the desired one
    flags = frozenset(n for n, bit in SERVICE_FLAGS.items() if bits & bit) - _KERNEL_FLAGS
    fwmark = g("IPVS_SVC_ATTR_FWMARK") or 0
    return Service(
        af=af,
        protocol=None if fwmark else _PROTO_NAMES.get(g("IPVS_SVC_ATTR_PROTOCOL"), "tcp"),
        addr=None if fwmark else g("IPVS_SVC_ATTR_ADDR"),
        port=0 if fwmark else g("IPVS_SVC_ATTR_PORT", 0),
        fwmark=fwmark,
        scheduler=g("IPVS_SVC_ATTR_SCHED_NAME", ""),
        flags=flags,
        timeout=g("IPVS_SVC_ATTR_TIMEOUT", 0),
        netmask=_netmask_prefix(af, g("IPVS_SVC_ATTR_NETMASK", 0xFFFFFFFF)),
        pe_name=g("IPVS_SVC_ATTR_PE_NAME") or None,
    )


def _dest_from(nl: Any, svc_af: int) -> Dest:
    g = nl.get_attr
    return Dest(
        addr=g("IPVS_DEST_ATTR_ADDR"),
        port=g("IPVS_DEST_ATTR_PORT", 0),
        fwd=_FWD_NAMES.get(g("IPVS_DEST_ATTR_FWD_METHOD", 3) & 0x7, "route"),
        weight=g("IPVS_DEST_ATTR_WEIGHT", 0),
        u_thresh=g("IPVS_DEST_ATTR_U_THRESH", 0),
        l_thresh=g("IPVS_DEST_ATTR_L_THRESH", 0),
        tun_type=_TUN_NAMES.get(g("IPVS_DEST_ATTR_TUN_TYPE", 0), "ipip"),
        tun_port=g("IPVS_DEST_ATTR_TUN_PORT", 0),
        tun_flags=g("IPVS_DEST_ATTR_TUN_FLAGS", 0),
        af=g("IPVS_DEST_ATTR_ADDR_FAMILY", svc_af),
        active_conns=g("IPVS_DEST_ATTR_ACTIVE_CONNS", 0),
        inact_conns=g("IPVS_DEST_ATTR_INACT_CONNS", 0),
        persist_conns=g("IPVS_DEST_ATTR_PERSIST_CONNS", 0),
    )


class IPVSKernel:
    """A generic-netlink socket to the kernel's IPVS family (sync; use as a context manager).

    Raises IPVSError(ENOENT) at construction when the kernel has no IPVS (no ip_vs module).
    """

    def __init__(self) -> None:
        from pyroute2.netlink.exceptions import NetlinkError
        from pyroute2.netlink.generic import GenericNetlinkSocket

        self._sock = GenericNetlinkSocket()
        try:
            self._sock.bind("IPVS", _msg_classes())
        except NetlinkError as e:
            self._sock.close()
            raise IPVSError(e.code, "open", "is the ip_vs module loaded?") from e

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> IPVSKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------
    def _request(
        self, cmd: int, attrs: list[tuple[str, Any]], op: str, dump: bool = False
    ) -> tuple[Any, ...]:
        from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST
        from pyroute2.netlink.exceptions import NetlinkError

        msg = _msg_classes()()
        msg["cmd"] = cmd
        msg["version"] = GENL_VERSION
        msg["attrs"] = attrs
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        try:
            return tuple(self._sock.nlm_request(msg, msg_type=self._sock.prid, msg_flags=flags))
        except NetlinkError as e:
            raise IPVSError(e.code, op, str(e.args[1]) if len(e.args) > 1 else "") from e

    # -- services ----------------------------------------------------------------------
    def services(self) -> list[Service]:
        """Every virtual service in the kernel table."""
        out = self._request(IPVS_CMD_GET_SERVICE, [], "dump services", dump=True)
        return [_service_from(m.get_attr("IPVS_CMD_ATTR_SERVICE")) for m in out]

    def dests(self, svc: Service) -> list[Dest]:
        """The real servers of SVC."""
        attrs = [("IPVS_CMD_ATTR_SERVICE", {"attrs": _service_attrs(svc, False)})]
        out = self._request(IPVS_CMD_GET_DEST, attrs, f"dump dests of {svc.key}", dump=True)
        return [_dest_from(m.get_attr("IPVS_CMD_ATTR_DEST"), svc.af) for m in out]

    def table(self) -> dict[Service, tuple[Dest, ...]]:
        """The whole table: each service with its real servers, sorted by address."""
        return {s: tuple(sorted(self.dests(s))) for s in self.services()}

    def _service_write(self, cmd: int, svc: Service, op: str) -> None:
        attrs = [("IPVS_CMD_ATTR_SERVICE", {"attrs": _service_attrs(svc, True)})]
        try:
            self._request(cmd, attrs, f"{op} service {svc.key}")
        except IPVSError as e:
            if e.errno != _errno.ENOENT:
                raise
            # the kernel says ENOENT when it cannot find (or autoload) ip_vs_<scheduler>
            what = f"scheduler {svc.scheduler!r} (module ip_vs_{svc.scheduler})"
            if svc.pe_name:
                what += f" or persistence engine {svc.pe_name!r} (module ip_vs_pe_{svc.pe_name})"
            raise IPVSError(e.errno, f"{op} service {svc.key}", f"{what} not available") from e

    def add_service(self, svc: Service) -> None:
        self._service_write(IPVS_CMD_NEW_SERVICE, svc, "add")

    def edit_service(self, svc: Service) -> None:
        """Replace every editable field of the service keyed like SVC (scheduler, flags,
        timeout, netmask, pe): the complete record is sent, never pyroute2's defaults."""
        self._service_write(IPVS_CMD_SET_SERVICE, svc, "edit")

    def del_service(self, svc: Service) -> None:
        attrs = [("IPVS_CMD_ATTR_SERVICE", {"attrs": _service_attrs(svc, False)})]
        self._request(IPVS_CMD_DEL_SERVICE, attrs, f"delete service {svc.key}")

    # -- real servers ------------------------------------------------------------------
    def _dest_req(self, cmd: int, svc: Service, d: Dest, full: bool, op: str) -> None:
        attrs = [
            ("IPVS_CMD_ATTR_SERVICE", {"attrs": _service_attrs(svc, False)}),
            ("IPVS_CMD_ATTR_DEST", {"attrs": _dest_attrs(d, full)}),
        ]
        self._request(cmd, attrs, f"{op} dest {d.key} of {svc.key}")

    def add_dest(self, svc: Service, d: Dest) -> None:
        self._dest_req(IPVS_CMD_NEW_DEST, svc, d, True, "add")

    def edit_dest(self, svc: Service, d: Dest) -> None:
        """Replace weight, forwarding method, thresholds and tunnel options (full record)."""
        self._dest_req(IPVS_CMD_SET_DEST, svc, d, True, "edit")

    def del_dest(self, svc: Service, d: Dest) -> None:
        self._dest_req(IPVS_CMD_DEL_DEST, svc, d, False, "delete")

    # -- whole table -------------------------------------------------------------------
    def flush(self) -> None:
        """Delete every service (ipvsadm -C). The syncer never calls this on start."""
        self._request(IPVS_CMD_FLUSH, [], "flush")

    def zero(self) -> None:
        """Zero all counters (ipvsadm -Z)."""
        self._request(IPVS_CMD_ZERO, [], "zero")

    # -- timeouts ----------------------------------------------------------------------
    def timeouts(self) -> Timeouts:
        out = self._request(IPVS_CMD_GET_CONFIG, [], "get timeouts")
        m = out[0]
        return Timeouts(
            tcp=m.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP", 0),
            tcpfin=m.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", 0),
            udp=m.get_attr("IPVS_CMD_ATTR_TIMEOUT_UDP", 0),
        )

    def set_timeouts(self, t: Timeouts) -> None:
        """Set tcp/tcpfin/udp timeouts (seconds; 0 leaves one unchanged, as in ipvsadm)."""
        attrs = [
            ("IPVS_CMD_ATTR_TIMEOUT_TCP", t.tcp),
            ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", t.tcpfin),
            ("IPVS_CMD_ATTR_TIMEOUT_UDP", t.udp),
        ]
        self._request(IPVS_CMD_SET_CONFIG, attrs, "set timeouts")

    # -- sync daemon -------------------------------------------------------------------
    def start_daemon(self, d: SyncDaemon) -> None:
        """Start lvs_sync_daemon (keepalived's lvs_sync_daemon IFACE INSTANCE [id N])."""
        a: list[tuple[str, Any]] = [
            ("IPVS_DAEMON_ATTR_STATE", DAEMON_STATES[d.state]),
            ("IPVS_DAEMON_ATTR_MCAST_IFN", d.ifname),
            ("IPVS_DAEMON_ATTR_SYNC_ID", d.syncid),
        ]
        if d.maxlen:
            a.append(("IPVS_DAEMON_ATTR_SYNC_MAXLEN", d.maxlen))
        if d.mcast_group:
            if ipaddress.ip_address(d.mcast_group).version == 6:
                a.append(("IPVS_DAEMON_ATTR_MCAST_GROUP6", d.mcast_group))
            else:
                a.append(("IPVS_DAEMON_ATTR_MCAST_GROUP", d.mcast_group))
        if d.mcast_port:
            a.append(("IPVS_DAEMON_ATTR_MCAST_PORT", d.mcast_port))
        if d.mcast_ttl:
            a.append(("IPVS_DAEMON_ATTR_MCAST_TTL", d.mcast_ttl))
        attrs = [("IPVS_CMD_ATTR_DAEMON", {"attrs": a})]
        self._request(IPVS_CMD_NEW_DAEMON, attrs, f"start {d.state} sync daemon on {d.ifname}")

    def stop_daemon(self, state: str) -> None:
        a = [("IPVS_DAEMON_ATTR_STATE", DAEMON_STATES[state])]
        attrs = [("IPVS_CMD_ATTR_DAEMON", {"attrs": a})]
        self._request(IPVS_CMD_DEL_DAEMON, attrs, f"stop {state} sync daemon")

    def daemons(self) -> list[SyncDaemon]:
        out = self._request(IPVS_CMD_GET_DAEMON, [], "get sync daemons", dump=True)
        names = {v: k for k, v in DAEMON_STATES.items()}
        res = []
        for m in out:
            d = m.get_attr("IPVS_CMD_ATTR_DAEMON")
            if d is None:
                continue
            g = d.get_attr
            res.append(
                SyncDaemon(
                    state=names.get(g("IPVS_DAEMON_ATTR_STATE"), "?"),
                    ifname=g("IPVS_DAEMON_ATTR_MCAST_IFN", ""),
                    syncid=g("IPVS_DAEMON_ATTR_SYNC_ID", 0),
                    maxlen=g("IPVS_DAEMON_ATTR_SYNC_MAXLEN", 0),
                    mcast_group=g("IPVS_DAEMON_ATTR_MCAST_GROUP6")
                    or g("IPVS_DAEMON_ATTR_MCAST_GROUP"),
                    mcast_port=g("IPVS_DAEMON_ATTR_MCAST_PORT", 0),
                    mcast_ttl=g("IPVS_DAEMON_ATTR_MCAST_TTL", 0),
                )
            )
        return res


def ipvs_present() -> bool:
    """True when this kernel has IPVS loaded (cheap; no pyroute2)."""
    return os.path.exists("/proc/net/ip_vs")
