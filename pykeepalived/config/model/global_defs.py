"""global_defs as keepalived 2.2.7 defaults it, and its lvs_sync_daemon."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pykeepalived.config.model.common import IPAddr, Script


@dataclass(frozen=True, slots=True)
class LvsSyncDaemon:
    """global_defs lvs_sync_daemon: the kernel sync daemon follows one VRRP instance's state."""

    interface: str
    instance: str | None = None
    syncid: int | None = None
    maxlen: int | None = None
    port: int | None = None
    ttl: int | None = None
    group: IPAddr | None = None


@dataclass(frozen=True, slots=True)
class GlobalDefs:
    """global_defs, defaulted as keepalived 2.2.7 defaults them."""

    router_id: str | None = None
    notification_email: tuple[str, ...] = ()
    notification_email_from: str | None = None
    smtp_server: str | None = None
    smtp_server_port: int = 25
    smtp_connect_timeout: int = 30
    smtp_helo_name: str | None = None
    enable_script_security: bool = False
    script_user: str | None = None
    script_group: str | None = None
    vrrp_mcast_group4: ipaddress.IPv4Address = ipaddress.IPv4Address("224.0.0.18")
    vrrp_mcast_group6: ipaddress.IPv6Address = ipaddress.IPv6Address("ff02::12")
    default_interface: str = "eth0"
    vrrp_version: int = 2
    vrrp_garp_master_delay: int = 5
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: int = 0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_lower_prio_delay: int | None = None
    vrrp_garp_lower_prio_repeat: int | None = None
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0
    vrrp_min_garp: bool = False
    vrrp_down_timer_adverts: int = 3
    vrrp_lower_prio_no_advert: bool = False
    vrrp_higher_prio_send_advert: bool = False
    vrrp_check_unicast_src: bool = False
    vrrp_skip_check_adv_addr: bool = False
    vrrp_strict: bool = False
    vrrp_startup_delay: float = 0.0
    dynamic_interfaces: bool = False
    lvs_sync_daemon: LvsSyncDaemon | None = None
    lvs_timeouts: tuple[tuple[str, int], ...] = ()
    lvs_flush: bool = False
    lvs_flush_on_stop: bool = False
    notify_fifo: Script | None = None
    vrrp_notify_fifo: Script | None = None
    lvs_notify_fifo: Script | None = None
    notify_fifo_script: Script | None = None
    vrrp_notify_fifo_script: Script | None = None
    lvs_notify_fifo_script: Script | None = None
    startup_script: Script | None = None
    shutdown_script: Script | None = None
    checker_log_all_failures: bool = False
    vrrp_notify_priority_changes: bool = False
    max_auto_priority: int | None = None
    random_seed: int | None = None
    # keepalived 2.2.8+ (issue 11)
    v3_checksum_as_v2: bool = False  # default of the instances' v3_checksum_as_v2
    vrrp_owner_ignore_adverts: bool = False  # default of owner_ignore_adverts
    state_dump_file: str | None = None  # USR1 dump: a file (template) or a directory ("/")
    stats_dump_file: str | None = None  # USR2 dump
    json_dump_file: str | None = None  # JSON dump
