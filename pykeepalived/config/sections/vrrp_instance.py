"""vrrp_instance and its authentication block; post() completes an instance as keepalived's
vrrp_complete_instance does (defaults from global_defs, the checks of sections/vrrp_checks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pykeepalived.config.model import IPAddr, State, TrackRef, VirtualIP, VrrpInstance
from pykeepalived.config.sections.addresses import routes, rule, vip
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.section import Entry, Section
from pykeepalived.config.sections.vrrp_checks import (
    authentication,
    owner_ignore_adverts,
    strict_checks,
    timer_expired_checks,
    unicast_checks,
    unicast_peers,
    vmac_name,
    vrf_checks,
)

T = TypeVar("T")


class VrrpInstanceSection(Section):
    SECTION = "vrrp_instance"
    state: str | None = None
    interface: str | None = None
    virtual_router_id: int | None = None
    priority: int | None = None
    advert_int: float | None = None
    nopreempt: bool | None = None
    preempt_delay: float | None = None
    authentication: Sequence[AuthenticationSection]
    virtual_ipaddress: Sequence[Entry]
    virtual_ipaddress_excluded: Sequence[Entry]
    no_virtual_ipaddress: bool | None = None
    virtual_routes: Sequence[Entry]
    virtual_rules: Sequence[Entry]
    track_script: Sequence[Entry]
    track_interface: Sequence[Entry]
    track_file: Sequence[Entry]
    track_process: Sequence[Entry]
    dont_track_primary: bool | None = None
    unicast_src_ip: IPAddr | None = None
    unicast_peer: Sequence[Entry]
    unicast_ttl: int | None = None
    check_unicast_src: bool | None = None
    mcast_src_ip: IPAddr | None = None
    mcast_dst_ip: IPAddr | None = None
    version: int | None = None
    use_vmac: tuple[str, ...] | None = None
    vmac_xmit_base: bool | None = None
    use_ipvlan: tuple[str, ...] | None = None  # recognised, not acted on
    vrf: str | None = None  # recognised, not acted on
    accept: bool | None = None
    no_accept: bool | None = None  # recognised, not acted on
    garp_master_delay: int | None = None
    garp_master_repeat: int | None = None
    garp_lower_prio_delay: int | None = None
    garp_lower_prio_repeat: int | None = None
    garp_master_refresh: int | None = None
    garp_master_refresh_repeat: int | None = None
    down_timer_adverts: int | None = None
    lower_prio_no_advert: bool | None = None
    higher_prio_send_advert: bool | None = None
    skip_check_adv_addr: bool | None = None
    strict_mode: bool | None = None
    old_unicast_checksum: tuple[str, ...] | None = None  # recognised, not acted on
    v3_checksum_as_v2: bool | None = None
    promote_secondaries: bool | None = None
    linkbeat_use_polling: bool | None = None
    lvs_sync_daemon_interface: str | None = None
    notify_master: tuple[str, ...] | None = None
    notify_backup: tuple[str, ...] | None = None
    notify_fault: tuple[str, ...] | None = None
    notify_stop: tuple[str, ...] | None = None
    notify: tuple[str, ...] | None = None
    notify_master_rx_lower_pri: tuple[str, ...] | None = None
    smtp_alert: bool | None = None  # recognised, not acted on
    owner_ignore_adverts: bool | None = None
    timer_expired_backup: tuple[str, ...] | None = None  # recognised, not acted on
    thread_timer_expired: tuple[str, ...] | None = None  # recognised, not acted on

    def post(self, cx: Completion) -> VrrpInstance | None:
        """The instance with keepalived's defaults and checks, in keepalived's report order;
        None without a virtual_router_id (keepalived drops it)."""
        name = self.args[0]
        g = cx.gdefs
        tag = f"({name})"
        want = self._state(cx, tag)
        iface = self.interface
        if iface == "lo":
            cx.diag.error(f"{tag} cannot use a loopback interface (lo) for vrrp - ignoring",
                          self.where("interface"))
            iface = None
        iface_found = bool(iface and cx.iface_ok(iface, self.where("interface"),
                                                 f"vrrp_instance {name}"))
        if self.vrf is not None:
            vrf_checks(cx, self, tag, self.vrf, iface)
        if self.virtual_router_id is None:
            cx.diag.error(f"{tag} the virtual router id must be set", self.loc,
                          hint="add: virtual_router_id 1..255 (the same on every peer)")
            return None
        vrid = self.virtual_router_id
        # a MASTER with no valid priority keyword is the address owner (255)
        if self.priority is not None:
            prio = self.priority
        elif "priority" in self.locs or want != State.MASTER:
            prio = 100
        else:
            prio = 255
        vips, evips, fam = self._addresses(cx, tag, iface)
        version = self.version if self.version is not None else g.vrrp_version
        if fam == 6 and version == 2:
            if self.version is not None:
                cx.diag.error(f"{tag} VRRPv2 does not support IPv6 - using version 3",
                              self.where("version"))
            version = 3
        advert_int = self._advert_int(cx, tag, version)
        nopreempt, preempt_delay = self._preemption(cx, tag, prio, want)
        auth, state = authentication(cx, self.authentication, tag, version, want, fam)
        tracking = cx.tracking(self)
        track_interface = self._track_interface(cx, tag, iface, iface_found,
                                                tracking.track_interface)
        virtual_routes = routes(cx, list(self.virtual_routes))
        virtual_rules = tuple(rule(cx, w, loc) for w, loc in self.virtual_rules)
        peers = unicast_peers(cx, self, tag, fam)
        if not iface and not (peers and self.unicast_src_ip is not None) and \
                "interface" not in self.locs and self.vrf is None:
            cx.completion_error(f"{tag} Unknown interface!", self.loc,
                                hint="add: interface IFNAME")
        unicast = unicast_checks(cx, self, tag, peers)
        notify_master = self.keyword_script(cx, "notify_master")
        notify_backup = self.keyword_script(cx, "notify_backup")
        notify_fault = self.keyword_script(cx, "notify_fault")
        notify_stop = self.keyword_script(cx, "notify_stop")
        notify_master_rx_lower_pri = self.keyword_script(cx, "notify_master_rx_lower_pri")
        notify = self.keyword_script(cx, "notify")
        # per-instance knobs falling back to globals
        garp_master_delay = _or(self.garp_master_delay, g.vrrp_garp_master_delay)
        garp_master_repeat = self._at_least_1(
            cx, tag, "garp_master_repeat", self.garp_master_repeat, g.vrrp_garp_master_repeat)
        garp_master_refresh = _or(self.garp_master_refresh, g.vrrp_garp_master_refresh)
        garp_master_refresh_repeat = self._at_least_1(
            cx, tag, "garp_master_refresh_repeat", self.garp_master_refresh_repeat,
            g.vrrp_garp_master_refresh_repeat)
        garp_lower_prio_delay = _or(self.garp_lower_prio_delay, _or(
            g.vrrp_garp_lower_prio_delay, garp_master_delay))
        garp_lower_prio_repeat = _or(self.garp_lower_prio_repeat, _or(
            g.vrrp_garp_lower_prio_repeat, garp_master_repeat))
        strict_mode = _or(self.strict_mode, g.vrrp_strict)
        owner_ignores = owner_ignore_adverts(cx, self, tag, prio)
        promote_secondaries = self.promote_secondaries is not None
        if promote_secondaries and (self.use_vmac is not None or self.use_ipvlan is not None):
            # a config error for 2.2.7/2.3.3 (use_ipvlan too, tried on 2.2.7)
            cx.diag.error(f"{tag} promote_secondaries is automatically set for vmacs - "
                          "ignoring", self.where("promote_secondaries"))
            promote_secondaries = False
        timer_expired_checks(cx, self, tag)
        vmac_xmit_base = bool(self.vmac_xmit_base)
        use_vmac = None
        if self.use_vmac is not None:
            use_vmac = vmac_name(cx, self, name, fam, vrid)
            if unicast.written and not vmac_xmit_base:
                cx.diag.error(f"{tag} unicast with use_vmac requires vmac_xmit_base - setting",
                              self.end, hint="add: vmac_xmit_base")
                vmac_xmit_base = True
        if strict_mode:
            auth, preempt_delay = strict_checks(cx, self, tag, peers, auth, preempt_delay)
        return VrrpInstance(
            name=name,
            interface=iface,
            virtual_router_id=vrid,
            priority=prio,
            state=state,
            advert_int=advert_int,
            version=version,
            family=fam,
            nopreempt=nopreempt,
            preempt_delay=preempt_delay,
            auth_type=auth.type if auth else None,
            auth_pass=auth.password if auth else None,
            virtual_ipaddress=vips,
            virtual_ipaddress_excluded=evips,
            virtual_routes=virtual_routes,
            virtual_rules=virtual_rules,
            track_interface=track_interface,
            track_script=tracking.track_script,
            track_file=tracking.track_file,
            track_process=tracking.track_process,
            dont_track_primary=bool(self.dont_track_primary),
            unicast_src_ip=self.unicast_src_ip,
            unicast_peer=peers,
            unicast_ttl=unicast.ttl,
            mcast_src_ip=self.mcast_src_ip,
            mcast_dst_ip=unicast.mcast_dst_ip,
            notify_master=notify_master,
            notify_backup=notify_backup,
            notify_fault=notify_fault,
            notify_stop=notify_stop,
            notify_master_rx_lower_pri=notify_master_rx_lower_pri,
            notify=notify,
            smtp_alert=bool(self.smtp_alert),
            garp_master_delay=garp_master_delay,
            garp_master_repeat=garp_master_repeat,
            garp_master_refresh=garp_master_refresh,
            garp_master_refresh_repeat=garp_master_refresh_repeat,
            garp_lower_prio_delay=garp_lower_prio_delay,
            garp_lower_prio_repeat=garp_lower_prio_repeat,
            garp_interval=g.vrrp_garp_interval,
            gna_interval=g.vrrp_gna_interval,
            down_timer_adverts=_or(self.down_timer_adverts, g.vrrp_down_timer_adverts),
            lower_prio_no_advert=_or(self.lower_prio_no_advert, g.vrrp_lower_prio_no_advert),
            higher_prio_send_advert=_or(self.higher_prio_send_advert,
                                        g.vrrp_higher_prio_send_advert),
            skip_check_adv_addr=_or(self.skip_check_adv_addr, g.vrrp_skip_check_adv_addr),
            check_unicast_src=_or(self.check_unicast_src, g.vrrp_check_unicast_src),
            strict_mode=strict_mode,
            v3_checksum_as_v2=_or(self.v3_checksum_as_v2, g.v3_checksum_as_v2),
            owner_ignore_adverts=owner_ignores,
            promote_secondaries=promote_secondaries,
            accept=self.no_accept is None and not (strict_mode and prio != 255
                                                   and self.accept is None),
            use_vmac=use_vmac,
            vmac_xmit_base=vmac_xmit_base,
            loc=self.loc,
        )

    def _state(self, cx: Completion, tag: str) -> State:
        if self.state is None:
            return State.BACKUP
        if self.state in ("MASTER", "BACKUP"):
            return State(self.state)
        cx.diag.error(f"{tag} unknown state '{self.state}', defaulting to BACKUP",
                      self.where("state"), hint="MASTER or BACKUP, in capitals")
        return State.BACKUP

    def _addresses(self, cx: Completion, tag: str, iface: str | None
                   ) -> tuple[tuple[VirtualIP, ...], tuple[VirtualIP, ...], int]:
        """virtual_ipaddress[_excluded] and the family they give the instance (the first
        VIP's; a VIP of the other family belongs in the excluded block)."""
        vips = [v for v in (vip(cx, w, loc, iface) for w, loc in self.virtual_ipaddress)
                if v is not None]
        evips = [v for v in (vip(cx, w, loc, iface) for w, loc in
                             self.virtual_ipaddress_excluded) if v is not None]
        fam = vips[0].family if vips else (evips[0].family if evips else 4)
        for v in [x for x in vips if x.family != fam]:
            cx.diag.error(f"{tag}: address family must match VRRP instance "
                          f"[{v.address}] - ignoring", v.loc,
                          hint="put the other family in virtual_ipaddress_excluded")
        vips = [x for x in vips if x.family == fam]
        if not vips and self.no_virtual_ipaddress is None:
            cx.completion_error(f"{tag} No VIP specified; at least one is sensible", self.loc)
        return tuple(vips), tuple(evips), fam

    def _advert_int(self, cx: Completion, tag: str, version: int) -> float:
        adv = self.advert_int if self.advert_int is not None else 1.0
        if version == 2 and adv != int(adv):
            new = max(1.0, float(round(adv)))
            cx.completion_error(f"{tag} VRRPv2 advertisement interval {adv:f}s must be an "
                                f"integer. rounding to {new:g}s", self.where("advert_int"),
                                hint="sub-second adverts need version 3")
            adv = new
        if version == 3:
            if adv > 40.95:
                cx.diag.error(f"{tag} VRRPv3 advertisement interval {adv:.2f}s is out of "
                              "range. Must be less than 40.96s. Setting to 40.95s",
                              self.where("advert_int"))
                adv = 40.95
            if abs(adv * 100 - round(adv * 100)) > 1e-6:
                cx.completion_error(f"{tag} VRRPv3 advertisement interval {adv:f}s must be "
                                    "in units of 10ms - rounding", self.where("advert_int"),
                                    hint=f"write {round(adv * 100) / 100:g}")
            adv = round(adv * 100) / 100
        return adv

    def _preemption(self, cx: Completion, tag: str, prio: int, want: State
                    ) -> tuple[bool, float]:
        """nopreempt and preempt_delay, cleared where keepalived clears them."""
        nopreempt = bool(self.nopreempt)
        pdelay = self.preempt_delay if self.preempt_delay is not None else 0.0
        if nopreempt and prio == 255:
            # keepalived 2.2.7 counts this one as a config error (-t exits 5)
            cx.completion_error(f"{tag} nopreempt is incompatible with priority 255. "
                                "resetting nopreempt", self.where("nopreempt"),
                                hint="an address owner (255) always preempts: lower the "
                                     "priority")
            nopreempt = False
        if nopreempt and want == State.MASTER:
            cx.diag.warning(f"{tag} Warning - nopreempt will not work with initial state "
                            "MASTER - clearing", self.where("nopreempt"),
                            hint="use state BACKUP on both nodes for a nopreempt pair")
            nopreempt = False
        if pdelay and (nopreempt or want == State.MASTER):
            cx.diag.warning(f"{tag} preempt_delay will not work with "
                            f"{'nopreempt' if nopreempt else 'initial state MASTER'} - "
                            "clearing", self.where("preempt_delay"))
            pdelay = 0.0
        return nopreempt, pdelay

    def _track_interface(self, cx: Completion, tag: str, iface: str | None, iface_found: bool,
                         refs: tuple[TrackRef, ...]) -> tuple[TrackRef, ...]:
        """track_interface: each must exist (a host check); the own interface is dropped."""
        for ref in refs:
            if cx.check_interfaces and not cx.host.has_interface(ref.name) and \
                    not cx.gdefs.dynamic_interfaces:
                cx.missing_interface = True
                cx.diag.error(f"{tag} tracked interface {ref.name} doesn't exist", ref.loc)
        if not (iface and iface_found and any(r.name == iface for r in refs)):
            return refs
        for ref in (r for r in refs if r.name == iface):
            cx.completion_error(f"{tag} Ignoring track_interface {iface} since own "
                                "interface", ref.loc,
                                hint="the instance's own interface is always tracked")
        return tuple(r for r in refs if r.name != iface)


    def _at_least_1(self, cx: Completion, tag: str, key: str, value: int | None,
                    default: int) -> int:
        """A GARP repeat count: 0 written is a config error for 2.2.7, set to 1."""
        if value == 0:
            cx.diag.error(f"{tag}: {key} must be greater than 0, setting to 1",
                          self.where(key))
            return 1
        return _or(value, default)


class AuthenticationSection(Section):
    SECTION = "authentication"
    auth_type: str | None = None
    auth_pass: str | None = None


def _or(value: T | None, default: T) -> T:
    """A keyword's value, else its default (from global_defs)."""
    return default if value is None else value
