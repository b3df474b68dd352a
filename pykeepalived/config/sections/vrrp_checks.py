"""vrrp_instance's consistency checks that keepalived makes when it completes an instance:
authentication, unicast against multicast, strict mode, VMAC names, vrf, and the 2.3.3
keywords (owner_ignore_adverts, timer_expired_backup). Each takes the values it checks and
returns what survives, so the instance is built from typed locals."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from pykeepalived.config.model import IPAddr, State, UnicastPeer
from pykeepalived.config.sections.completion import Completion

if TYPE_CHECKING:
    from pykeepalived.config.sections.vrrp_instance import (
        AuthenticationSection,
        VrrpInstanceSection,
    )


class Auth(NamedTuple):
    """What an authentication block leaves: its type (PASS | AH) and password."""

    type: str
    password: str | None


class Unicast(NamedTuple):
    """What the unicast checks leave of an instance's unicast/multicast keywords."""

    written: bool  # a unicast keyword was written (peers or not)
    ttl: int
    mcast_dst_ip: IPAddr | None


def vrf_checks(cx: Completion, c: VrrpInstanceSection, tag: str, vrf: str, iface: str | None
               ) -> None:
    """`vrf NAME` (not acted on) as keepalived 2.2.7 checks it: instead of `interface`,
    and naming an existing device (a host check)."""
    vloc = c.where("vrf")
    if iface and c.where("interface").line < vloc.line:
        cx.diag.error(f"{tag} Cannot specify VRF interface and interface - ignoring", vloc)
    elif iface:
        cx.completion_error(f"{tag} vrf can only be specified without interface - "
                            "clearing", vloc)
    elif cx.check_interfaces and not cx.host.has_interface(vrf) and \
            not cx.gdefs.dynamic_interfaces:
        cx.missing_interface = True
        cx.diag.error(f"{tag} WARNING - VRF interface {vrf} doesn't exist", vloc,
                      hint="create the VRF device, or fix the name")


def vmac_name(cx: Completion, c: VrrpInstanceSection, name: str, fam: int, vrid: int) -> str:
    """The VMAC interface name: a name already taken (by a host interface that is not a
    private macvlan, or by another instance) is ignored for the default, as keepalived
    does (and counts as a config error)."""
    w = c.use_vmac
    default = f"vrrp{'6' if fam == 6 else ''}.{vrid}"
    if not w:
        return default
    want, loc = w[0], c.where("use_vmac")
    if want in cx.vmac_names:
        cx.diag.error(f"({name}) VRRP instance {cx.vmac_names[want]} is already using "
                      f"{want} - ignoring name", loc, hint="give each instance its own "
                      "use_vmac name")
        return default
    if cx.check_interfaces and cx.host.has_interface(want) and \
            not cx.host.is_private_macvlan(want):
        cx.diag.error(f"({name}) interface {want} already exists and is not a private "
                      "macvlan; ignoring vmac if_name", loc,
                      hint="name the VMAC interface something no other interface uses")
        return default
    cx.vmac_names[want] = name
    return want


def unicast_peers(cx: Completion, c: VrrpInstanceSection, tag: str, fam: int
                  ) -> tuple[UnicastPeer, ...]:
    """The unicast_peer lines: an address of the instance's family [min_ttl N] [max_ttl N]."""
    peers = []
    for w, loc in c.unicast_peer:
        try:
            a = ipaddress.ip_address(w[0])
        except ValueError:
            cx.diag.error(f"{tag} invalid unicast_peer address '{w[0]}' - ignoring", loc)
            continue
        if a.version != fam:
            cx.diag.error(f"{tag} unicast_peer {a} is not the instance's address family "
                          "- ignoring", loc)
            continue
        min_ttl: int | None = None
        max_ttl: int | None = None
        for j in range(1, len(w) - 1, 2):
            if w[j] in ("min_ttl", "max_ttl"):
                n = cx.int_in(w[j + 1], 0, 255, loc, w[j])
                if n is None:
                    continue
                if w[j] == "min_ttl":
                    min_ttl = n
                else:
                    max_ttl = n
        peers.append(UnicastPeer(a, min_ttl=min_ttl, max_ttl=max_ttl))
    return tuple(peers)


def unicast_checks(cx: Completion, c: VrrpInstanceSection, tag: str,
                   peers: tuple[UnicastPeer, ...]) -> Unicast:
    """keepalived 2.2.7's unicast/multicast consistency errors (each makes -t exit 5)."""
    ttl = 255
    if c.unicast_ttl is not None:
        if peers:
            ttl = c.unicast_ttl
        else:
            cx.diag.error(f"{tag}: Cannot use unicast_ttl without unicast peers - "
                          "resetting", c.end, hint="unicast_ttl only applies to unicast_peer")
    mcast_dst_ip = c.mcast_dst_ip
    if peers and mcast_dst_ip is not None:
        cx.completion_error(f"{tag} multicast destination specified with unicast - "
                            "ignoring", c.where("mcast_dst_ip"),
                            hint="remove mcast_dst_ip or unicast_peer")
        mcast_dst_ip = None
    # an empty unicast_peer block counts as a unicast keyword; unicast_fault_no_peer does not
    unicast_kw = [k for k, v in (("unicast_src_ip", c.unicast_src_ip),
                                 ("check_unicast_src", c.check_unicast_src),
                                 ("old_unicast_checksum", c.old_unicast_checksum))
                  if v is not None] + (["unicast_peer"] if "unicast_peer" in c.locs else [])
    if unicast_kw and not peers:
        cx.completion_error(f"{tag} A unicast keyword has been specified without any "
                            "unicast peers. Defaulting to multicast. This usage is "
                            "deprecated - please update your configuration.",
                            c.where(unicast_kw[0]),
                            hint=f"add unicast_peer addresses, or remove {unicast_kw[0]}")
    return Unicast(bool(peers or unicast_kw), ttl, mcast_dst_ip)


def authentication(cx: Completion, blocks: Sequence[AuthenticationSection], tag: str,
                   version: int, want: State, fam: int) -> tuple[Auth | None, State]:
    """The last authentication block, as keepalived takes it; and the initial state, which
    AH authentication makes BACKUP."""
    if not blocks:
        return None, want
    a = blocks[-1]
    if version == 3:
        cx.diag.error(f"{tag} VRRP version 3 does not support authentication. Ignoring.",
                      a.loc)
        return None, want
    atype = a.auth_type
    if atype is not None and atype not in ("PASS", "AH"):
        cx.diag.error(f"{tag} unknown authentication type '{atype}'", a.where("auth_type"),
                      hint="PASS or AH (did you mean auth_pass?)")
        atype = None
    pw = a.auth_pass
    if atype is None or (atype == "PASS" and pw is None):
        cx.diag.error("Authentication specified but no password given. Ignoring", a.loc)
        return None, want
    if atype == "AH" and fam == 6:
        cx.diag.error(f"{tag} AH authentication is not supported with IPv6 - ignoring",
                      a.where("auth_type"))
        return None, want
    if atype == "AH" and want == State.MASTER:
        cx.diag.error(f"{tag} Initial state master is incompatible with AH authentication"
                      " - clearing", a.where("auth_type"))
        want = State.BACKUP
    if pw is not None and len(pw.encode()) > 8:
        cx.diag.error("Truncating auth_pass to 8 characters", a.where("auth_pass"),
                      hint="VRRPv2 carries at most 8 bytes of password")
        pw = pw.encode()[:8].decode(errors="ignore")
    return Auth(atype, pw), want


def strict_checks(cx: Completion, c: VrrpInstanceSection, tag: str,
                  peers: tuple[UnicastPeer, ...], auth: Auth | None, preempt_delay: float
                  ) -> tuple[Auth | None, float]:
    """strict_mode's errors: no unicast, no authentication, no preempt_delay; what is left
    of the last two."""
    if peers:
        cx.diag.error(f"{tag} Unicast peers are not supported in strict mode", c.loc)
    if auth is not None:
        cx.diag.error(f"{tag} Strict mode does not support authentication. Ignoring.", c.loc)
        auth = None
    if preempt_delay:
        cx.diag.error(f"{tag} preempt_delay is incompatible with strict mode - clearing",
                      c.loc)
        preempt_delay = 0.0
    return auth, preempt_delay


def owner_ignore_adverts(cx: Completion, c: VrrpInstanceSection, tag: str, prio: int) -> bool:
    """keepalived 2.3.3: only an address owner may ignore adverts; otherwise it says so."""
    if not (c.owner_ignore_adverts is not None or cx.gdefs.vrrp_owner_ignore_adverts):
        return False
    if prio != 255:
        if c.owner_ignore_adverts is not None:  # a config error for keepalived 2.3.3
            cx.diag.error(f"{tag} ignoring owner_ignore_adverts since priority is not "
                          "255", c.where("owner_ignore_adverts"),
                          hint="only the address owner (priority 255) may ignore adverts")
        return False
    return True


def timer_expired_checks(cx: Completion, c: VrrpInstanceSection, tag: str) -> None:
    """timer_expired_backup (2.3.3) and its 2.3.2 name: recognised, checked, not acted on."""
    for k, w in (("timer_expired_backup", c.timer_expired_backup),
                 ("thread_timer_expired", c.thread_timer_expired)):
        if w:  # [HIGHEST_PRIORITY_OF_OTHER_INSTANCES]
            cx.int_in(w[0], 1, 254, c.where(k),
                      f"{tag} timer_expired_backup highest_other_priority")
    if (c.timer_expired_backup is not None or c.thread_timer_expired is not None) \
            and c.nopreempt is None:  # keepalived 2.3.3's words; a config error
        cx.diag.error(f"{tag} expired_timer_backup requires nopreempt - resetting",
                      c.where("timer_expired_backup") if c.timer_expired_backup is not None
                      else c.where("thread_timer_expired"))
    if c.thread_timer_expired is not None:  # the 2.3.2 name: a config error for 2.3.3 too
        cx.diag.error(f"{tag} thread_timer_expired - please replace with keyword "
                      "'timer_expired_backup'", c.where("thread_timer_expired"))
