"""The VRRP side of the model: instances, sync groups and what they track."""

from __future__ import annotations

from dataclasses import dataclass, field

from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model.common import IPAddr, RouteSpec, Script, State, TrackRef, VirtualIP


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
