"""vrrp_instance and its authentication block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.config.sections.section import Entry, Section

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr


class VrrpInstanceSection(Section):
    SECTION = "vrrp_instance"
    state: str | None = None
    interface: str | None = None
    virtual_router_id: int | None = None
    priority: int | None = None
    advert_int: float | None = None
    nopreempt: bool | None = None
    preempt_delay: float | None = None
    authentication: list[AuthenticationSection]
    virtual_ipaddress: list[Entry]
    virtual_ipaddress_excluded: list[Entry]
    no_virtual_ipaddress: bool | None = None
    virtual_routes: list[Entry]
    virtual_rules: list[Entry]
    track_script: list[Entry]
    track_interface: list[Entry]
    track_file: list[Entry]
    track_process: list[Entry]
    dont_track_primary: bool | None = None
    unicast_src_ip: IPAddr | None = None
    unicast_peer: list[Entry]
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


class AuthenticationSection(Section):
    SECTION = "authentication"
    auth_type: str | None = None
    auth_pass: str | None = None
