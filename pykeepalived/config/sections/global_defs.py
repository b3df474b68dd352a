"""global_defs: daemon-wide settings and the defaults instances inherit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.config.sections.section import Entry, Section

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr


class GlobalDefsSection(Section):
    SECTION = "global_defs"
    router_id: str | None = None
    notification_email: list[Entry]  # recognised, not acted on
    notification_email_from: str | None = None  # recognised, not acted on
    smtp_server: tuple[str, ...] | None = None  # recognised, not acted on
    smtp_helo_name: str | None = None  # recognised, not acted on
    smtp_connect_timeout: int | None = None  # recognised, not acted on
    smtp_alert: bool | None = None  # recognised, not acted on
    checker_log_all_failures: bool | None = None
    enable_script_security: bool | None = None
    script_user: tuple[str, ...] | None = None
    startup_script: tuple[str, ...] | None = None  # recognised, not acted on
    shutdown_script: tuple[str, ...] | None = None  # recognised, not acted on
    vrrp_mcast_group4: IPAddr | None = None
    vrrp_mcast_group6: IPAddr | None = None
    default_interface: str | None = None
    vrrp_version: int | None = None
    vrrp_garp_master_delay: int | None = None
    vrrp_garp_master_repeat: int | None = None
    vrrp_garp_master_refresh: int | None = None
    vrrp_garp_master_refresh_repeat: int | None = None
    vrrp_garp_lower_prio_delay: int | None = None
    vrrp_garp_lower_prio_repeat: int | None = None
    vrrp_garp_interval: float | None = None
    vrrp_gna_interval: float | None = None
    vrrp_min_garp: bool | None = None  # recognised, not acted on
    vrrp_down_timer_adverts: int | None = None
    vrrp_lower_prio_no_advert: bool | None = None
    vrrp_higher_prio_send_advert: bool | None = None
    vrrp_check_unicast_src: bool | None = None
    vrrp_skip_check_adv_addr: bool | None = None
    vrrp_strict: bool | None = None
    vrrp_iptables: tuple[str, ...] | None = None
    vrrp_ipsets: tuple[str, ...] | None = None
    vrrp_notify_priority_changes: bool | None = None  # recognised, not acted on
    lvs_sync_daemon: tuple[str, ...] | None = None
    lvs_sync_daemon_interface: str | None = None
    lvs_timeouts: tuple[str, ...] | None = None
    lvs_flush: bool | None = None
    lvs_flush_on_stop: tuple[str, ...] | None = None
    lvs_id: bool | None = None
    max_auto_priority: int | None = None  # recognised, not acted on
    notify_fifo: tuple[str, ...] | None = None
    vrrp_notify_fifo: tuple[str, ...] | None = None
    lvs_notify_fifo: tuple[str, ...] | None = None  # recognised, not acted on
    notify_fifo_script: tuple[str, ...] | None = None  # recognised, not acted on
    vrrp_notify_fifo_script: tuple[str, ...] | None = None  # recognised, not acted on
    lvs_notify_fifo_script: tuple[str, ...] | None = None  # recognised, not acted on
    dynamic_interfaces: tuple[str, ...] | None = None
    vrrp_startup_delay: float | None = None
    random_seed: int | None = None
    vrrp_owner_ignore_adverts: bool | None = None
    v3_checksum_as_v2: bool | None = None
    state_dump_file: tuple[str, ...] | None = None
    stats_dump_file: tuple[str, ...] | None = None
    json_dump_file: tuple[str, ...] | None = None
