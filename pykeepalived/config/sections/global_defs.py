"""global_defs: daemon-wide settings and the defaults instances inherit."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model import GlobalDefs, LvsSyncDaemon
from pykeepalived.config.sections.section import Entry, Section

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr
    from pykeepalived.config.sections.completion import Completion

T = TypeVar("T")
DEFAULTS = GlobalDefs()  # keepalived 2.2.7's values for what global_defs does not say
LVS_SYNC_RANGES = {"id": (0, 255), "maxlen": (1, 65507), "port": (1, 65535), "ttl": (1, 255)}


def _or(value: T | None, default: T) -> T:
    return default if value is None else value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class GlobalDefsSection(Section):
    SECTION = "global_defs"
    router_id: str | None = None
    notification_email: Sequence[Entry]  # recognised, not acted on
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

    def post(self, cx: Completion) -> GlobalDefs:
        """The model, with keepalived's defaults; first the script-security facts the script
        checks of every later section depend on (keepalived reads global_defs first)."""
        cx.script_security = bool(self.enable_script_security)
        cx.script_user_set = self.script_user is not None
        if self.script_user is not None and cx.check_users:
            su = self.script_user
            cx.script_user_ok = cx.host.has_user(su[0]) and (
                len(su) < 2 or cx.host.has_group(su[1]))
        master_repeat = self._at_least_1(cx, "vrrp_garp_master_repeat",
                                         self.vrrp_garp_master_repeat)
        refresh_repeat = self._at_least_1(cx, "vrrp_garp_master_refresh_repeat",
                                          self.vrrp_garp_master_refresh_repeat)
        emails = tuple(w[0] for w, _ in self.notification_email)
        if "notification_email" in self.locs and not emails:
            cx.diag.error("Warning - empty notification_email block",
                          self.where("notification_email"), hint="add an address or remove it")
        smtp_server, smtp_port = self._smtp_server(cx)
        script_user = script_group = None
        if self.script_user is not None:
            w = self.script_user
            script_user, script_group = w[0], w[1] if len(w) > 1 else None
            cx.check_user(w, self.where("script_user"), "script_user")
        group4 = self.vrrp_mcast_group4
        if group4 is not None and not (isinstance(group4, ipaddress.IPv4Address)
                                       and group4.is_multicast):
            cx.diag.error(f"vrrp_mcast_group4 must be an IPv4 multicast address, not {group4}",
                          self.where("vrrp_mcast_group4"))
            group4 = None
        group6 = self.vrrp_mcast_group6
        if group6 is not None and not (isinstance(group6, ipaddress.IPv6Address)
                                       and group6.is_multicast):
            cx.diag.error(f"vrrp_mcast_group6 must be an IPv6 multicast address, not {group6}",
                          self.where("vrrp_mcast_group6"))
            group6 = None
        # an error, as in keepalived's nftables-only builds (compat.BUILD_CHOICES says why)
        if self.vrrp_iptables is not None:
            cx.diag.error("iptables not supported: vrrp_iptables is ignored (pykeepalived "
                          "makes no firewall rules)", self.where("vrrp_iptables"),
                          hint="remove it, and open the VIPs in your own firewall rules")
        if self.vrrp_ipsets is not None:
            cx.diag.error("ipsets not supported: vrrp_ipsets is ignored (pykeepalived makes "
                          "no firewall rules)", self.where("vrrp_ipsets"), hint="remove it")
        notify_fifo = self.keyword_script(cx, "notify_fifo")
        vrrp_notify_fifo = self.keyword_script(cx, "vrrp_notify_fifo")
        lvs_notify_fifo = self.keyword_script(cx, "lvs_notify_fifo")
        notify_fifo_script = self.keyword_script(cx, "notify_fifo_script")
        vrrp_notify_fifo_script = self.keyword_script(cx, "vrrp_notify_fifo_script")
        lvs_notify_fifo_script = self.keyword_script(cx, "lvs_notify_fifo_script")
        startup_script = self.keyword_script(cx, "startup_script")
        shutdown_script = self.keyword_script(cx, "shutdown_script")
        sync_daemon = None
        if self.lvs_sync_daemon is not None:
            sync_daemon = lvs_sync_daemon(cx, self.lvs_sync_daemon, self.where("lvs_sync_daemon"))
        elif self.lvs_sync_daemon_interface is not None:
            sync_daemon = LvsSyncDaemon(interface=self.lvs_sync_daemon_interface)
        timeouts = () if self.lvs_timeouts is None else \
            lvs_timeouts(cx, self.lvs_timeouts, self.where("lvs_timeouts"))
        state_dump = self._dump_file(cx, "state_dump_file", self.state_dump_file)
        stats_dump = self._dump_file(cx, "stats_dump_file", self.stats_dump_file)
        json_dump = self._dump_file(cx, "json_dump_file", self.json_dump_file)
        d = DEFAULTS
        return GlobalDefs(
            router_id=self.router_id,
            notification_email=emails,
            notification_email_from=self.notification_email_from,
            smtp_server=smtp_server,
            smtp_server_port=smtp_port,
            smtp_connect_timeout=d.smtp_connect_timeout if self.smtp_connect_timeout is None
            else max(1, self.smtp_connect_timeout),
            smtp_helo_name=self.smtp_helo_name,
            enable_script_security=_or(self.enable_script_security, d.enable_script_security),
            script_user=script_user,
            script_group=script_group,
            vrrp_mcast_group4=_or(group4, d.vrrp_mcast_group4),
            vrrp_mcast_group6=_or(group6, d.vrrp_mcast_group6),
            default_interface=_or(self.default_interface, d.default_interface),
            vrrp_version=_or(self.vrrp_version, d.vrrp_version),
            vrrp_garp_master_delay=_or(self.vrrp_garp_master_delay, d.vrrp_garp_master_delay),
            vrrp_garp_master_repeat=_or(master_repeat, d.vrrp_garp_master_repeat),
            vrrp_garp_master_refresh=_or(self.vrrp_garp_master_refresh,
                                         d.vrrp_garp_master_refresh),
            vrrp_garp_master_refresh_repeat=_or(refresh_repeat,
                                                d.vrrp_garp_master_refresh_repeat),
            vrrp_garp_lower_prio_delay=self.vrrp_garp_lower_prio_delay,
            vrrp_garp_lower_prio_repeat=self.vrrp_garp_lower_prio_repeat,
            vrrp_garp_interval=_or(self.vrrp_garp_interval, d.vrrp_garp_interval),
            vrrp_gna_interval=_or(self.vrrp_gna_interval, d.vrrp_gna_interval),
            vrrp_min_garp=_or(self.vrrp_min_garp, d.vrrp_min_garp),
            vrrp_down_timer_adverts=_or(self.vrrp_down_timer_adverts,
                                        d.vrrp_down_timer_adverts),
            vrrp_lower_prio_no_advert=_or(self.vrrp_lower_prio_no_advert,
                                          d.vrrp_lower_prio_no_advert),
            vrrp_higher_prio_send_advert=_or(self.vrrp_higher_prio_send_advert,
                                             d.vrrp_higher_prio_send_advert),
            vrrp_check_unicast_src=_or(self.vrrp_check_unicast_src, d.vrrp_check_unicast_src),
            vrrp_skip_check_adv_addr=_or(self.vrrp_skip_check_adv_addr,
                                         d.vrrp_skip_check_adv_addr),
            vrrp_strict=_or(self.vrrp_strict, d.vrrp_strict),
            vrrp_startup_delay=_or(self.vrrp_startup_delay, d.vrrp_startup_delay),
            dynamic_interfaces=self.dynamic_interfaces is not None,
            lvs_sync_daemon=sync_daemon,
            lvs_timeouts=timeouts,
            lvs_flush=_or(self.lvs_flush, d.lvs_flush),
            lvs_flush_on_stop=self.lvs_flush_on_stop is not None,
            notify_fifo=notify_fifo,
            vrrp_notify_fifo=vrrp_notify_fifo,
            lvs_notify_fifo=lvs_notify_fifo,
            notify_fifo_script=notify_fifo_script,
            vrrp_notify_fifo_script=vrrp_notify_fifo_script,
            lvs_notify_fifo_script=lvs_notify_fifo_script,
            startup_script=startup_script,
            shutdown_script=shutdown_script,
            checker_log_all_failures=_or(self.checker_log_all_failures,
                                         d.checker_log_all_failures),
            vrrp_notify_priority_changes=_or(self.vrrp_notify_priority_changes,
                                             d.vrrp_notify_priority_changes),
            max_auto_priority=self.max_auto_priority,
            random_seed=self.random_seed,
            # keepalived 2.2.8+ keywords pykeepalived acts on
            v3_checksum_as_v2=_or(self.v3_checksum_as_v2, d.v3_checksum_as_v2),
            vrrp_owner_ignore_adverts=self.vrrp_owner_ignore_adverts is not None,
            state_dump_file=state_dump,
            stats_dump_file=stats_dump,
            json_dump_file=json_dump,
        )

    def _at_least_1(self, cx: Completion, key: str, value: int | None) -> int | None:
        if value == 0:  # 2.2.7 counts it as a config error
            cx.diag.error(f"{key} must be greater than 0, setting to 1", self.where(key))
            return 1
        return value

    def _smtp_server(self, cx: Completion) -> tuple[str | None, int]:
        """The SMTP server and port (not used: checked as keepalived checks them)."""
        w = self.smtp_server
        if w is None:
            return None, DEFAULTS.smtp_server_port
        loc = self.where("smtp_server")
        port = cx.int_in(w[1], 1, 65535, loc, "smtp_server port") if len(w) > 1 else 25
        # keepalived resolves the name when it reads it (a host fact: its DNS, /etc/hosts)
        if port is None or (cx.check_interfaces and not _is_ip(w[0])
                            and not cx.host.resolves(w[0])):
            cx.diag.error(f"Invalid smtp server {w[0]} {w[1] if len(w) > 1 else 25}", loc,
                          hint="an address, or a name this host can resolve")
        return w[0], DEFAULTS.smtp_server_port if port is None else port


    def _dump_file(self, cx: Completion, key: str, w: tuple[str, ...] | None) -> str | None:
        """keepalived 2.3.3's dump file keywords: a relative path is taken from /, the
        daemon's working directory."""
        if w is None:
            return None
        if not w or not w[0]:
            # keepalived 2.3.3's words; a config error, not a fatal parse error
            cx.diag.error(f"{key} requires a non-empty path", self.where(key))
            return None
        return os.path.join("/", w[0])


def merged(blocks: Sequence[GlobalDefsSection]) -> GlobalDefsSection | None:
    """keepalived reads repeated global_defs blocks as one: later values win."""
    if not blocks:
        return None
    g = blocks[0]
    for extra in blocks[1:]:
        g.merge(extra)
    return g


def global_defs(cx: Completion, blocks: Sequence[GlobalDefsSection]) -> GlobalDefs:
    g = merged(blocks)
    return GlobalDefs() if g is None else g.post(cx)


def lvs_sync_daemon(cx: Completion, w: tuple[str, ...], loc: Loc) -> LvsSyncDaemon:
    """`lvs_sync_daemon IFNAME [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N]
    [group ADDR]`."""
    instance = None
    numbers: dict[str, int] = {}
    group: IPAddr | None = None
    i = 1
    if i < len(w) and w[i] not in ("id", "maxlen", "port", "ttl", "group"):
        if w[i] == "inst":
            i += 1
        if i < len(w):
            instance = w[i]
            i += 1
    while i < len(w):
        key = w[i]
        if i + 1 >= len(w):
            cx.diag.error(f"lvs_sync_daemon: '{key}' needs a value", loc)
            break
        val = w[i + 1]
        if key in LVS_SYNC_RANGES:
            lo, hi = LVS_SYNC_RANGES[key]
            n = cx.int_in(val, lo, hi, loc, f"lvs_sync_daemon {key}")
            if n is not None:
                numbers[key] = n
        elif key == "group":
            try:
                group = ipaddress.ip_address(val)
            except ValueError:
                cx.diag.error(f"lvs_sync_daemon: invalid group address '{val}'", loc)
        else:
            cx.diag.error(f"lvs_sync_daemon: unknown option '{key}'", loc)
        i += 2
    return LvsSyncDaemon(interface=w[0], instance=instance, syncid=numbers.get("id"),
                         maxlen=numbers.get("maxlen"), port=numbers.get("port"),
                         ttl=numbers.get("ttl"), group=group)


def lvs_timeouts(cx: Completion, w: tuple[str, ...], loc: Loc) -> tuple[tuple[str, int], ...]:
    """`lvs_timeouts [tcp S] [tcpfin S] [udp S]`."""
    out = []
    for i in range(0, len(w), 2):
        key = w[i]
        if key not in ("tcp", "tcpfin", "udp") or i + 1 >= len(w):
            cx.diag.error(f"lvs_timeouts: expected tcp/tcpfin/udp SECONDS, got '{key}'", loc)
            break
        n = cx.int_in(w[i + 1], 0, 86400 * 31, loc, f"lvs_timeouts {key}")
        if n is not None:
            out.append((key, n))
    return tuple(out)
