"""use_vmac: the macvlan interface that carries an instance's virtual MAC (RFC 5798 §7.3).

keepalived 2.2.7's behaviour, reproduced because peers and switches see it:

* one macvlan per instance, named by ``use_vmac`` (default ``vrrp.<VRID>`` / ``vrrp6.<VRID>``),
  MAC 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6), on top of the instance's
  interface, mode **private**. Private matters on receive: a multicast frame whose source MAC
  equals a local macvlan's MAC (a peer master sending from the same VMAC) is delivered to that
  macvlan only, not to the base interface, so the VRRP socket must listen on the macvlan
  (or, with ``vmac_xmit_base``, every node must send from its base MAC);
* sysctls on the macvlan: ``arp_ignore=1`` (answer ARP only for the VIPs on it),
  ``accept_local=1`` (hear another local instance), ``rp_filter=0`` (receive with no address of
  its own), ``promote_secondaries=1``; on the base interface ``arp_ignore=1`` and
  ``arp_filter=1`` so it never answers for the VIPs with the real MAC. The base values are saved
  and put back when the last macvlan of that base goes away;
* IPv4 instances: IPv6 off on the macvlan (no link-local, no MLD from the VMAC) unless IPv6
  VIPs will live on it; IPv6 instances: no auto-generated link-local (RFC 5798 §7.4), instead
  the advert source (the base's link-local, or the configured source, or an EUI-64 of the base
  MAC) is put on the macvlan so adverts leave with the VMAC and a non-VIP source;
* an existing interface of that name is adopted when it already is our macvlan (a restart after
  a crash), re-created when it is a macvlan with the wrong MAC or base, and refused when it is
  anything else (we never delete a real interface);
* removed on stop.

pyroute2 is imported by the caller (Netlink.open); this module only uses the handle it is
given, so ``-t`` never pays for it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any

from pykeepalived.vrrp.codec import vrrp_vmac

log = logging.getLogger("pykeepalived.vrrp")

IFA_F_NODAD = 0x02
ADDR_GEN_MODE_NONE = 1
SYSCTL = "/proc/sys/net"
VMAC_SYSCTLS4 = (("arp_ignore", 1), ("accept_local", 1), ("rp_filter", 0),
                 ("promote_secondaries", 1))
BASE_SYSCTLS4 = (("arp_ignore", 1), ("arp_filter", 1))


def vmac_name(vrid: int, family: int, configured: str | None = None) -> str:
    """keepalived's default name when use_vmac has no interface name."""
    return configured or f"vrrp{'6' if family == 6 else ''}.{vrid}"


def vmac_str(vrid: int, family: int) -> str:
    return ":".join(f"{b:02x}" for b in vrrp_vmac(vrid, family))


def eui64_link_local(mac: str) -> IPv6Address:
    """fe80::/64 + modified EUI-64 of a MAC (used when the base has no link-local)."""
    b = bytes(int(x, 16) for x in mac.split(":"))
    iid = bytes((b[0] ^ 0x02, b[1], b[2], 0xFF, 0xFE, b[3], b[4], b[5]))
    return IPv6Address(b"\xfe\x80" + bytes(6) + iid)


def read_sysctl(path: str) -> int | None:
    try:
        with open(f"{SYSCTL}/{path}") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def write_sysctl(path: str, value: int) -> bool:
    try:
        with open(f"{SYSCTL}/{path}", "w") as f:
            f.write(str(value))
        return True
    except OSError as e:
        log.warning("vmac: cannot set %s = %d: %s", path.replace("/", "."), value, e)
        return False


@dataclass
class VmacLink:
    """One macvlan we manage, and what it was made for."""

    name: str
    index: int
    mac: str
    base: str
    base_index: int
    family: int
    instance: str
    lladdr: IPv6Address | None = None
    created: bool = True


class VmacManager:
    """Creates, adopts and removes instances' macvlans; keeps the base sysctls ref-counted."""

    def __init__(self) -> None:
        self.links: dict[str, VmacLink] = {}  # by instance name
        self._base_saved: dict[str, tuple[int, dict[str, int | None]]] = {}

    async def ensure(self, ipr: Any, *, instance: str, name: str, vrid: int, family: int,
                     base: str, base_index: int, base_mac: str,
                     lladdr: IPv6Address | None = None, ipv6_on_vmac: bool = False
                     ) -> VmacLink:
        """Create (or adopt) the macvlan, configure it, bring it up; returns its identity.

        ``lladdr``: the IPv6 advert source for a v6 instance (None: EUI-64 of the base MAC).
        ``ipv6_on_vmac``: an IPv4 instance keeps IPv6 on the macvlan (IPv6 VIPs go there).
        """
        mac = vmac_str(vrid, family)
        msg = await self._get(ipr, name)
        created = True
        if msg is not None:
            info = msg.get("IFLA_LINKINFO")
            kind = info.get("IFLA_INFO_KIND") if info is not None else None
            if kind != "macvlan":
                raise RuntimeError(f"({instance}) interface {name} already exists and is not a "
                                   "macvlan; not using it as VMAC interface")
            if (msg.get("address") or "").lower() == mac and msg.get("IFLA_LINK") == base_index:
                created = False
                log.info("(%s) vmac: adopting existing VMAC interface %s", instance, name)
            else:
                log.info("vmac: Removing old VMAC interface %s due to conflicting interface or "
                         "MAC for vrrp_instance %s!!!", name, instance)
                await ipr.link("del", index=msg["index"])
        if created:
            await ipr.link("add", ifname=name, kind="macvlan", link=base_index,
                           macvlan_mode="private", address=mac)
            log.info("(%s): Success creating VMAC interface %s", instance, name)
            msg = await self._get(ipr, name)
            if msg is None:
                raise RuntimeError(f"({instance}) VMAC interface {name} vanished after creation")
        assert msg is not None
        vm = VmacLink(name, msg["index"], mac, base, base_index, family, instance,
                      created=created)
        self._configure(vm, ipv6_on_vmac)
        if family == 6:
            vm.lladdr = lladdr or eui64_link_local(base_mac)
        await ipr.link("set", index=vm.index, state="up")
        if vm.lladdr is not None:
            try:
                await ipr.addr("replace", index=vm.index, address=str(vm.lladdr),
                               prefixlen=64, flags=IFA_F_NODAD)
            except Exception as e:
                log.info("Adding link-local address to vmac failed: %s", e)
        self.links[instance] = vm
        return vm

    def _configure(self, vm: VmacLink, ipv6_on_vmac: bool) -> None:
        """The sysctls keepalived sets; done before the link is up so no stray packets."""
        if vm.family == 4:
            for key, val in VMAC_SYSCTLS4:
                write_sysctl(f"ipv4/conf/{vm.name}/{key}", val)
            self._hold_base(vm.base)
            if not ipv6_on_vmac:
                write_sysctl(f"ipv6/conf/{vm.name}/disable_ipv6", 1)
                return
        write_sysctl(f"ipv6/conf/{vm.name}/disable_ipv6", 0)
        write_sysctl(f"ipv6/conf/{vm.name}/addr_gen_mode", ADDR_GEN_MODE_NONE)

    def _hold_base(self, base: str) -> None:
        n, saved = self._base_saved.get(base, (0, {}))
        if n == 0:
            saved = {k: read_sysctl(f"ipv4/conf/{base}/{k}") for k, _v in BASE_SYSCTLS4}
            for key, val in BASE_SYSCTLS4:
                if saved[key] != val:
                    write_sysctl(f"ipv4/conf/{base}/{key}", val)
        self._base_saved[base] = (n + 1, saved)

    def _release_base(self, base: str) -> None:
        n, saved = self._base_saved.get(base, (0, {}))
        if n <= 1:
            self._base_saved.pop(base, None)
            for key, val in BASE_SYSCTLS4:
                old = saved.get(key)
                if old is not None and old != val:
                    write_sysctl(f"ipv4/conf/{base}/{key}", old)
        else:
            self._base_saved[base] = (n - 1, saved)

    async def remove(self, ipr: Any, instance: str) -> None:
        """Delete the instance's macvlan (if it is still ours) and release the base sysctls."""
        vm = self.links.pop(instance, None)
        if vm is None:
            return
        if vm.family == 4:
            self._release_base(vm.base)
        msg = await self._get(ipr, vm.name)
        if msg is None or msg["index"] != vm.index:
            return
        try:
            await ipr.link("del", index=vm.index)
        except Exception as e:
            log.info("vmac: Error removing VMAC interface %s for vrrp_instance %s!!! (%s)",
                     vm.name, instance, e)
            return
        log.info("(%s) Success removing VMAC interface %s", instance, vm.name)  # 2.2.7's words

    async def remove_all(self, ipr: Any) -> None:
        for instance in list(self.links):
            with contextlib.suppress(Exception):
                await self.remove(ipr, instance)

    @staticmethod
    async def _get(ipr: Any, name: str) -> Any:
        try:
            msgs = await ipr.link("get", ifname=name)
        except Exception as e:
            if getattr(e, "code", None) == 19:  # ENODEV
                return None
            raise
        msgs = list(msgs)
        if not msgs:
            return None
        m = msgs[0]
        info = m.get("IFLA_LINKINFO")
        kind = info.get("IFLA_INFO_KIND") if info is not None else None
        # flatten what ensure() compares, whatever pyroute2's attribute spelling
        return {"index": m["index"], "address": m.get("IFLA_ADDRESS"),
                "IFLA_LINK": m.get("IFLA_LINK"),
                "IFLA_LINKINFO": {"IFLA_INFO_KIND": kind}}
