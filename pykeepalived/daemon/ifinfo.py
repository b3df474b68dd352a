"""What keepalived.data's "Interfaces" section shows about each interface, read from the
kernel at dump time (sysfs, procfs, one ioctl): no netlink, no pyroute2, so a USR1 dump never
waits on the VRRP loop's sockets."""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

SYS_NET = "/sys/class/net"
SIOCGIFADDR = 0x8915
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_POINTOPOINT = 0x1, 0x2, 0x8, 0x10
IFF_RUNNING, IFF_NOARP, IFF_MULTICAST = 0x40, 0x80, 0x1000


@dataclass(frozen=True)
class IfaceInfo:
    name: str
    index: int
    flags: int
    mtu: int
    hw_type: int  # ARPHRD_*
    mac: str | None  # None for loopback / no hardware address
    broadcast: str | None
    ipv4: str | None  # the primary address (what SIOCGIFADDR returns)
    ipv6: str | None  # the link-local address (keepalived's VRRPv3 source)
    arp_ignore: int = 0
    arp_filter: int = 0
    promote_secondaries: int = 0


def _read(path: str, default: str = "") -> str:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return default


def _int(path: str, default: int = 0) -> int:
    try:
        return int(_read(path), 0)
    except ValueError:
        return default


def _ipv4(name: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            res = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(res[20:24])


def _link_locals() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _read("/proc/net/if_inet6").splitlines():
        f = line.split()
        if len(f) >= 6 and f[3] == "20":  # scope link
            addr = str(ipaddress.IPv6Address(bytes.fromhex(f[0])))
            out.setdefault(f[5], addr)
    return out


def collect() -> list[IfaceInfo]:
    """Every interface of this network namespace, by index (keepalived's order)."""
    lls = _link_locals()
    out = []
    try:
        names = os.listdir(SYS_NET)
    except OSError:
        return []
    for name in names:
        d = os.path.join(SYS_NET, name)
        hw_type = _int(f"{d}/type")
        mac = _read(f"{d}/address") or None
        if hw_type == 772 or mac in (None, "00:00:00:00:00:00"):  # ARPHRD_LOOPBACK
            mac = None
        flags = _int(f"{d}/flags")
        # sysfs shows dev->flags; IFF_RUNNING is what netlink adds for an operational link
        if flags & IFF_UP and _read(f"{d}/operstate") in ("up", "unknown"):
            flags |= IFF_RUNNING
        conf = f"/proc/sys/net/ipv4/conf/{name}"
        out.append(IfaceInfo(
            name=name, index=_int(f"{d}/ifindex"), flags=flags,
            mtu=_int(f"{d}/mtu"), hw_type=hw_type, mac=mac,
            broadcast=_read(f"{d}/broadcast") if mac else None, ipv4=_ipv4(name),
            ipv6=lls.get(name), arp_ignore=_int(f"{conf}/arp_ignore"),
            arp_filter=_int(f"{conf}/arp_filter"),
            promote_secondaries=_int(f"{conf}/promote_secondaries")))
    return sorted(out, key=lambda i: i.index)
