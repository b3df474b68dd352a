"""The typed configuration model every subsystem consumes.

Frozen dataclasses so a running subsystem can hold a config while a reload builds the next
one, and a diff between the two is a plain comparison: ``loc`` (file:line) takes no part in
equality, so a shifted or re-commented file compares equal. What is "the same" object across a
reload (keepalived's keys) is config/identity.py's business. Values are *completed*: defaults and
inheritance (virtual_server -> real_server -> checker, global_defs -> vrrp_instance) are
already applied, so consumers never re-derive them. Names follow keepalived's keywords.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from pykeepalived.config.diagnostics import Loc

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
IPIface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class State(StrEnum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


@dataclass(frozen=True, slots=True)
class Script:
    """A command keepalived would run: argv already split the way keepalived splits it."""

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    loc: Loc | None = field(default=None, compare=False)

    @property
    def command(self) -> str:
        return " ".join(self.argv)


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
    # every other recognised keyword, kept raw (keyword, args) for dumps and future use
    other: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class VrrpScript:
    """A vrrp_script block: a tracked command whose result moves priority or faults."""

    name: str
    script: Script
    interval: float = 1.0
    timeout: float = 0.0
    weight: int = 0
    weight_reverse: bool = False
    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    loc: Loc | None = field(default=None, compare=False)
    timeout_configured: float = 0.0  # as written (0: unset); keepalived's dump shows this


@dataclass(frozen=True, slots=True)
class TrackFile:
    """A track_file block: the number written in a file moves priority."""

    name: str
    file: str
    weight: int = 1
    weight_reverse: bool = False
    init_file: tuple[str, ...] | None = None
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TrackProcess:
    """A vrrp_track_process block: a process count (psutil) moves priority or faults."""

    name: str
    process: str
    params: tuple[str, ...] = ()
    param_match: str = "exact"
    weight: int = 1
    weight_reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    fork_delay: float = 0.0
    terminate_delay: float = 0.0
    full_command: bool = False
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TrackRef:
    """An entry of track_script/track_interface/track_file/track_process."""

    name: str
    weight: int | None = None  # None: the tracked object's own weight
    reverse: bool = False
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class VirtualIP:
    """A virtual_ipaddress (or static_ipaddress) line with its ip-address options."""

    address: IPIface
    dev: str | None = None
    brd: str | None = None
    scope: str | None = None
    label: str | None = None
    peer: str | None = None
    no_track: bool = False
    options: tuple[str, ...] = ()
    loc: Loc | None = field(default=None, compare=False)

    @property
    def family(self) -> int:
        return self.address.version


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A virtual_routes/static_routes (or rules) line: kept as words plus the key fields."""

    words: tuple[str, ...]
    family: int = 4
    dst: str | None = None
    via: str | None = None
    dev: str | None = None
    table: str | None = None
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UnicastPeer:
    """A unicast_peer line: adverts go to it, not to the multicast group."""

    address: IPAddr
    min_ttl: int | None = None
    max_ttl: int | None = None


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    """A vrrp_instance block, checked; the engine derives its FSM config from it."""

    name: str
    interface: str | None
    virtual_router_id: int
    priority: int = 100
    state: State = State.BACKUP  # the wanted initial state
    advert_int: float = 1.0
    version: int = 2
    family: int = 4
    nopreempt: bool = False
    preempt_delay: float = 0.0
    auth_type: str | None = None  # "PASS" | "AH"
    auth_pass: str | None = None
    virtual_ipaddress: tuple[VirtualIP, ...] = ()
    virtual_ipaddress_excluded: tuple[VirtualIP, ...] = ()
    virtual_routes: tuple[RouteSpec, ...] = ()
    virtual_rules: tuple[RouteSpec, ...] = ()
    track_interface: tuple[TrackRef, ...] = ()
    track_script: tuple[TrackRef, ...] = ()
    track_file: tuple[TrackRef, ...] = ()
    track_process: tuple[TrackRef, ...] = ()
    dont_track_primary: bool = False
    unicast_src_ip: IPAddr | None = None
    unicast_peer: tuple[UnicastPeer, ...] = ()
    unicast_ttl: int = 255
    mcast_src_ip: IPAddr | None = None
    mcast_dst_ip: IPAddr | None = None
    notify_master: Script | None = None
    notify_backup: Script | None = None
    notify_fault: Script | None = None
    notify_stop: Script | None = None
    notify_deleted: Script | None = None
    notify_master_rx_lower_pri: Script | None = None
    notify: Script | None = None
    smtp_alert: bool = False
    garp_master_delay: int = 5
    garp_master_repeat: int = 5
    garp_master_refresh: int = 0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: int = 5
    garp_lower_prio_repeat: int = 5
    garp_interval: float = 0.0
    gna_interval: float = 0.0
    down_timer_adverts: int = 3
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    skip_check_adv_addr: bool = False
    check_unicast_src: bool = False
    strict_mode: bool = False
    v3_checksum_as_v2: bool = False
    owner_ignore_adverts: bool = False  # an address owner (priority 255) ignores adverts
    promote_secondaries: bool = False  # set on the interface while we run, then restored
    accept: bool = True
    use_vmac: str | None = None
    vmac_xmit_base: bool = False
    sync_group: str | None = None
    loc: Loc | None = field(default=None, compare=False)

    @property
    def is_owner(self) -> bool:
        return self.priority == 255


@dataclass(frozen=True, slots=True)
class VrrpSyncGroup:
    """A vrrp_sync_group: its members change state together."""

    name: str
    group: tuple[str, ...]
    track_interface: tuple[TrackRef, ...] = ()
    track_script: tuple[TrackRef, ...] = ()
    track_file: tuple[TrackRef, ...] = ()
    track_process: tuple[TrackRef, ...] = ()
    notify_master: Script | None = None
    notify_backup: Script | None = None
    notify_fault: Script | None = None
    notify_stop: Script | None = None
    notify: Script | None = None
    smtp_alert: bool = False
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class StaticAddress:
    """A static_ipaddress line: configured at start whatever the VRRP state."""

    address: VirtualIP


@dataclass(frozen=True, slots=True)
class Url:
    """An HTTP_GET/SSL_GET url block: what a healthy answer looks like."""

    path: str
    digest: str | None = None
    status_code: tuple[tuple[int, int], ...] = ((200, 299),)
    virtualhost: str | None = None
    regex: str | None = None
    regex_no_match: bool = False
    tls_compliant: bool = False  # SSL_GET: end the TLS session with close_notify
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Checker:
    """One checker block. Connection and retry values are already inherited and defaulted."""

    kind: str  # TCP_CHECK HTTP_GET SSL_GET SMTP_CHECK DNS_CHECK MISC_CHECK UDP_CHECK ...
    connect_ip: IPAddr | None = None
    connect_port: int | None = None
    bindto: IPAddr | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    connect_timeout: float = 5.0
    fwmark: int | None = None
    retry: int = 1
    delay_before_retry: float = 1.0
    delay_loop: float = 60.0
    warmup: float | None = None
    alpha: bool = False
    log_all_failures: bool = False
    # HTTP_GET / SSL_GET
    urls: tuple[Url, ...] = ()
    virtualhost: str | None = None
    http_protocol: str = "1.0"
    enable_sni: bool = False
    tls_compliant: bool = False  # SSL_GET: end every TLS session with close_notify
    fast_recovery: bool = False
    # MISC_CHECK
    misc_path: Script | None = None
    misc_timeout: float | None = None
    misc_dynamic: bool = False
    # SMTP_CHECK
    helo_name: str | None = None
    # DNS_CHECK
    dns_type: str = "SOA"
    dns_name: str = "."
    # UDP_CHECK
    payload: bytes | None = None
    require_reply: str | None = None
    min_reply_length: int = 0
    max_reply_length: int = 255
    # FILE_CHECK / BFD_CHECK
    track_file: str | None = None
    weight: int | None = None
    weight_reverse: bool = False
    dynamic: bool = False
    bfd_name: str | None = None
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RealServer:
    """A real_server block; the IPVS syncer and the checker pool both read it."""

    ip: IPAddr
    port: int | None
    weight: int = 1
    lvs_method: str = "NAT"
    inhibit_on_failure: bool = False
    alpha: bool = False
    notify_up: Script | None = None
    notify_down: Script | None = None
    uthreshold: int = 0
    lthreshold: int = 0
    smtp_alert: bool = False
    smtp_alert_set: bool = False  # written in the block (keepalived dumps unset as "yes")
    checkers: tuple[Checker, ...] = ()
    loc: Loc | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, int | None]:
        return (str(self.ip), self.port)


@dataclass(frozen=True, slots=True)
class VsGroupEntry:
    """A virtual_server_group line: an address (range) with a port, or a fwmark."""

    first: IPAddr | None = None
    last: IPAddr | None = None
    port: int | None = None
    fwmark: int | None = None
    family: int = 4
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class VirtualServerGroup:
    """A virtual_server_group: one virtual server's config for many services."""

    name: str
    entries: tuple[VsGroupEntry, ...]
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AnnounceRoute:
    """announce_route (pykeepalived extension): the VIP as a kernel route a routing daemon
    redistributes; the protocol number says which routes are ours."""

    table: int = 254
    proto: int = 18  # RTPROT_KEEPALIVED
    metric: int | None = None
    dev: str = "lo"


@dataclass(frozen=True, slots=True)
class Announce:
    """The announce_* lines of a virtual_server (pykeepalived extension, health-driven ECMP):
    the VIP is announced exactly while the quorum is up (and the instance is MASTER)."""

    address_dev: str | None = None  # the VIP as a /32 (/128) address on this device
    route: AnnounceRoute | None = None
    only_if_master: str | None = None  # a vrrp_instance name
    without_ipvs: bool = False  # the service runs on this host: no IPVS service
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class VirtualServer:
    """A virtual_server block: one IPVS service (or a group's), its pool and checks."""

    ip: IPAddr | None = None
    port: int | None = None
    fwmark: int | None = None
    group: str | None = None
    protocol: str = "TCP"
    family: int = 4
    lvs_sched: str = "wlc"
    lvs_method: str = "NAT"
    tunnel: tuple[str, ...] = ()
    sched_flags: tuple[str, ...] = ()  # ops, sh-port, sh-fallback, mh-port, mh-fallback, flag-N
    persistence_timeout: int = 0
    persistence_granularity: str | None = None
    persistence_engine: str | None = None
    delay_loop: float = 60.0
    quorum: int = 1
    hysteresis: int = 0
    quorum_up: Script | None = None
    quorum_down: Script | None = None
    sorry_server: tuple[IPAddr, int | None] | None = None
    sorry_server_inhibit: bool = False
    sorry_server_lvs_method: str | None = None
    alpha: bool = False
    omega: bool = False
    ha_suspend: bool = False
    inhibit_on_failure: bool = False
    virtualhost: str | None = None
    smtp_alert: bool = False
    real_servers: tuple[RealServer, ...] = ()
    loc: Loc | None = field(default=None, compare=False)
    announce: Announce | None = None  # pykeepalived extension

    @property
    def key(self) -> str:
        """keepalived's name for a virtual server: [ip]:proto:port, FWM n or group name."""
        if self.fwmark is not None:
            return f"FWM {self.fwmark}"
        if self.group is not None:
            return f"group {self.group}"
        return f"[{self.ip}]:{self.protocol.lower()}:{self.port or 0}"


@dataclass(frozen=True, slots=True)
class Config:
    """The whole checked config: what the three subsystems consume, never mutated."""

    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    static_ipaddress: tuple[VirtualIP, ...] = ()
    static_routes: tuple[RouteSpec, ...] = ()
    static_rules: tuple[RouteSpec, ...] = ()
    vrrp_scripts: tuple[VrrpScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    sync_groups: tuple[VrrpSyncGroup, ...] = ()
    vrrp_instances: tuple[VrrpInstance, ...] = ()
    virtual_server_groups: tuple[VirtualServerGroup, ...] = ()
    virtual_servers: tuple[VirtualServer, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def has_vrrp(self) -> bool:
        """keepalived starts the VRRP child only when there is VRRP work to do."""
        return bool(self.vrrp_instances or self.static_ipaddress or self.static_routes
                    or self.static_rules)

    @property
    def has_checker(self) -> bool:
        return bool(self.virtual_servers)

    def instance(self, name: str) -> VrrpInstance | None:
        return next((i for i in self.vrrp_instances if i.name == name), None)

    def script(self, name: str) -> VrrpScript | None:
        return next((s for s in self.vrrp_scripts if s.name == name), None)
