"""The LVS side of the model: virtual servers, real servers, checkers, groups, announce."""

from __future__ import annotations

from dataclasses import dataclass, field

from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model.common import IPAddr, Script


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
