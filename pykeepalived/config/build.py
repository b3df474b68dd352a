"""Completion: raw block values -> the frozen model, with keepalived's defaults and checks.

This mirrors keepalived's completion step (vrrp_complete_instance, check_data.c): derived
values (MASTER without priority is the address owner, IPv6 VIPs mean VRRPv3 ...), inheritance
(virtual_server -> real_server -> checker) and the cross-object checks (duplicate VRID on an
interface, unknown track_script ...). Where keepalived only logs and carries on, we report a
diagnostic with the same meaning and carry on with the same value.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import replace
from typing import Any

from pykeepalived.config.announce import build_announce
from pykeepalived.config.crosscheck import cross_checks, near
from pykeepalived.config.diagnostics import Loc, Rc
from pykeepalived.config.model import (
    Checker,
    Config,
    GlobalDefs,
    IPAddr,
    LvsSyncDaemon,
    RealServer,
    TrackFile,
    TrackProcess,
    Url,
    VirtualServer,
    VirtualServerGroup,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
    VsGroupEntry,
)
from pykeepalived.config.sections.addresses import routes, rule, vip
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.section import Section
from pykeepalived.config.sections.sync_group import VrrpSyncGroupSection
from pykeepalived.config.sections.vrrp_instance import VrrpInstanceSection

SCHEDULERS = frozenset(
    ["rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"]
)
METHODS = frozenset({"NAT", "DR", "TUN"})
PROTOCOLS = frozenset({"TCP", "UDP", "SCTP"})
CHECKER_DEFAULTS: dict[str, dict[str, float]] = {
    # per checker kind: retry, delay_before_retry (None = delay_loop)
    "TCP_CHECK": {"retry": 1, "delay_before_retry": 1.0},
    "HTTP_GET": {"retry": 1, "delay_before_retry": 3.0},
    "SSL_GET": {"retry": 1, "delay_before_retry": 3.0},
    "SMTP_CHECK": {"retry": 1, "delay_before_retry": 1.0},
    "DNS_CHECK": {"retry": 3, "delay_before_retry": -1.0},
    "MISC_CHECK": {"retry": 0, "delay_before_retry": 1.0},
    "UDP_CHECK": {"retry": 1, "delay_before_retry": 1.0},
    "PING_CHECK": {"retry": 1, "delay_before_retry": 1.0},
    "FILE_CHECK": {"retry": 1, "delay_before_retry": 1.0},
    "BFD_CHECK": {"retry": 1, "delay_before_retry": 1.0},
}
CHECKER_KINDS = tuple(CHECKER_DEFAULTS)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class Builder(Completion):
    """The sections' completion steps not yet moved into their section modules (issue 14)."""


    # -- entry ----------------------------------------------------------------------------
    def build(self, root: Section, files: list[str]) -> Config:
        gctx = root.blocks.get("global_defs", [])
        self.gdefs = self.global_defs(gctx)
        self.bfd_instances(root.blocks.get("bfd_instance", []))
        self.garp_groups(root.blocks.get("garp_group", []))
        # keepalived -t parses the checker's part before the VRRP part: its once-only
        # messages (the script default user) land where it would report them
        self.track_file_names = {c.args[0] for c in root.blocks.get("track_file", [])
                                 if c.args and c.has("file")}
        vsgs = self.unique(root.blocks.get("virtual_server_group", []), "virtual_server_group",
                           self.vs_group, dup_error=False)
        self.vsgs = {g.name: g for g in vsgs}  # the port rules of a group's real servers
        vss = [v for v in (self.virtual_server(c) for c in root.blocks.get("virtual_server", []))
               if v is not None]
        self.flush_completion()  # the checker's part is complete before the VRRP part is read
        scripts = self.unique(root.blocks.get("vrrp_script", []), "vrrp_script", self.vrrp_script,
                              dup_error=False)
        tfiles = self.unique(root.blocks.get("track_file", []), "track_file", self.track_file,
                             dup_error=False)
        tprocs = self.unique(root.blocks.get("vrrp_track_process", []), "vrrp_track_process",
                             self.track_process, dup_error=False)
        instances = self.unique(root.blocks.get("vrrp_instance", []), "vrrp instance",
                                self.vrrp_instance)
        groups = self.unique(root.blocks.get("vrrp_sync_group", []), "vrrp_sync_group",
                             self.sync_group)
        self.up_down_delays(root.entries.get("interface_up_down_delays", []))
        cfg = Config(
            global_defs=self.gdefs,
            static_ipaddress=tuple(
                v for v in (vip(self, w, loc, None) for w, loc in root.entries.get(
                    "static_ipaddress", [])) if v is not None),
            static_routes=routes(self, root.entries.get("static_routes", [])),
            static_rules=tuple(rule(self, w, loc) for w, loc in root.entries.get(
                "static_rules", [])),
            vrrp_scripts=tuple(scripts),
            track_files=tuple(tfiles),
            track_processes=tuple(tprocs),
            sync_groups=tuple(groups),
            vrrp_instances=tuple(instances),
            virtual_server_groups=tuple(vsgs),
            virtual_servers=tuple(vss),
            files=tuple(files),
        )
        self.after_read_from = len(self.diag.items)  # what follows is found after reading
        return cross_checks(self, cfg)


    # -- global_defs -----------------------------------------------------------------------
    def global_defs(self, ctxs: list[Section]) -> GlobalDefs:
        if not ctxs:
            return GlobalDefs()
        g = ctxs[0]
        for extra in ctxs[1:]:  # keepalived merges repeated global_defs blocks
            g.merge(extra)
        self.script_security = bool(g.get("enable_script_security", False))
        self.script_user_set = g.has("script_user")
        if self.script_user_set and self.check_users:
            su = g.get("script_user")
            self.script_user_ok = self.host.has_user(su[0]) and (
                len(su) < 2 or self.host.has_group(su[1]))
        kw: dict[str, Any] = {}
        simple = ("router_id", "notification_email_from", "smtp_helo_name", "default_interface",
                  "enable_script_security", "vrrp_version", "vrrp_garp_master_delay",
                  "vrrp_garp_master_repeat", "vrrp_garp_master_refresh",
                  "vrrp_garp_master_refresh_repeat", "vrrp_garp_lower_prio_delay",
                  "vrrp_garp_lower_prio_repeat", "vrrp_garp_interval", "vrrp_gna_interval",
                  "vrrp_min_garp", "vrrp_down_timer_adverts", "vrrp_lower_prio_no_advert",
                  "vrrp_higher_prio_send_advert", "vrrp_check_unicast_src",
                  "vrrp_skip_check_adv_addr", "vrrp_strict", "vrrp_startup_delay",
                  "lvs_flush", "checker_log_all_failures", "vrrp_notify_priority_changes",
                  "random_seed")
        for k in simple:
            if g.has(k):
                v = g.get(k)
                kw[k] = int(v) if isinstance(v, float) and k.startswith(("vrrp_garp_master",
                    "vrrp_garp_lower", "vrrp_version", "vrrp_down")) else v
        for k in ("vrrp_garp_master_repeat", "vrrp_garp_master_refresh_repeat"):
            if kw.get(k) == 0:  # 2.2.7 counts it as a config error
                self.diag.error(f"{k} must be greater than 0, setting to 1", g.where(k))
                kw[k] = 1
        if g.has("smtp_connect_timeout"):
            kw["smtp_connect_timeout"] = max(1, int(g.get("smtp_connect_timeout")))
        kw["notification_email"] = tuple(w[0] for w, _ in g.entries.get("notification_email", []))
        if "notification_email" in g.entries and not kw["notification_email"]:
            self.diag.error("Warning - empty notification_email block",
                            g.where("notification_email"), hint="add an address or remove it")
        if g.has("smtp_server"):
            w = g.get("smtp_server")
            kw["smtp_server"] = w[0]
            port = self.int_in(w[1], 1, 65535, g.where("smtp_server"), "smtp_server port") \
                if len(w) > 1 else 25
            if port is not None and len(w) > 1:
                kw["smtp_server_port"] = port
            # keepalived resolves the name when it reads it (a host fact: its DNS, /etc/hosts)
            if port is None or (self.check_interfaces and not _is_ip(w[0])
                                and not self.host.resolves(w[0])):
                self.diag.error(f"Invalid smtp server {w[0]} {w[1] if len(w) > 1 else 25}",
                                g.where("smtp_server"),
                                hint="an address, or a name this host can resolve")
        if g.has("script_user"):
            w = g.get("script_user")
            kw["script_user"] = w[0]
            kw["script_group"] = w[1] if len(w) > 1 else None
            self.check_user(w, g.where("script_user"), "script_user")
        for k in ("vrrp_mcast_group4", "vrrp_mcast_group6"):
            if g.has(k):
                a = g.get(k)
                want = 4 if k.endswith("4") else 6
                if a.version != want or not a.is_multicast:
                    self.diag.error(f"{k} must be an IPv{want} multicast address, not {a}",
                                    g.where(k))
                else:
                    kw[k] = a
        if g.has("dynamic_interfaces"):
            kw["dynamic_interfaces"] = True
        # an error, as in keepalived's nftables-only builds (compat.BUILD_CHOICES says why)
        if g.has("vrrp_iptables"):
            self.diag.error("iptables not supported: vrrp_iptables is ignored (pykeepalived "
                            "makes no firewall rules)",
                            g.where("vrrp_iptables"),
                            hint="remove it, and open the VIPs in your own firewall rules")
        if g.has("vrrp_ipsets"):
            self.diag.error("ipsets not supported: vrrp_ipsets is ignored (pykeepalived makes "
                            "no firewall rules)", g.where("vrrp_ipsets"), hint="remove it")
        if g.has("lvs_flush_on_stop"):
            kw["lvs_flush_on_stop"] = True
        if g.has("max_auto_priority"):
            kw["max_auto_priority"] = int(g.get("max_auto_priority"))
        for k in ("notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo", "notify_fifo_script",
                  "vrrp_notify_fifo_script", "lvs_notify_fifo_script", "startup_script",
                  "shutdown_script"):
            if g.has(k) and g.get(k):
                kw[k] = self.script(g.get(k), g.where(k))
        if g.has("lvs_sync_daemon"):
            kw["lvs_sync_daemon"] = self.lvs_sync_daemon(g.get("lvs_sync_daemon"),
                                                         g.where("lvs_sync_daemon"))
        elif g.has("lvs_sync_daemon_interface"):
            kw["lvs_sync_daemon"] = LvsSyncDaemon(interface=g.get("lvs_sync_daemon_interface"))
        if g.has("lvs_timeouts"):
            kw["lvs_timeouts"] = self.lvs_timeouts(g.get("lvs_timeouts"), g.where("lvs_timeouts"))
        kw.update(self.global_defs_233(g))
        return GlobalDefs(**kw)

    def global_defs_233(self, g: Section) -> dict[str, Any]:
        """global_defs keywords added after keepalived 2.2.7 that pykeepalived acts on."""
        kw: dict[str, Any] = {}
        if g.has("v3_checksum_as_v2"):
            kw["v3_checksum_as_v2"] = bool(g.get("v3_checksum_as_v2"))
        if g.has("vrrp_owner_ignore_adverts"):
            kw["vrrp_owner_ignore_adverts"] = True
        for k in ("state_dump_file", "stats_dump_file", "json_dump_file"):
            if g.has(k):
                w = g.get(k)
                if not w or not w[0]:
                    # keepalived 2.3.3's words; a config error, not a fatal parse error
                    self.diag.error(f"{k} requires a non-empty path", g.where(k))
                else:
                    # a relative path is taken from /, the daemon's working directory
                    kw[k] = os.path.join("/", w[0])
        return kw

    def lvs_sync_daemon(self, w: tuple[str, ...], loc: Loc) -> LvsSyncDaemon | None:
        kw: dict[str, Any] = {"interface": w[0]}
        i = 1
        if i < len(w) and w[i] not in ("id", "maxlen", "port", "ttl", "group"):
            if w[i] == "inst":
                i += 1
            if i < len(w):
                kw["instance"] = w[i]
                i += 1
        ranges = {"id": (0, 255, "syncid"), "maxlen": (1, 65507, "maxlen"),
                  "port": (1, 65535, "port"), "ttl": (1, 255, "ttl")}
        while i < len(w):
            key = w[i]
            if i + 1 >= len(w):
                self.diag.error(f"lvs_sync_daemon: '{key}' needs a value", loc)
                break
            val = w[i + 1]
            if key in ranges:
                lo, hi, name = ranges[key]
                n = self.int_in(val, lo, hi, loc, f"lvs_sync_daemon {key}")
                if n is not None:
                    kw[name] = n
            elif key == "group":
                try:
                    kw["group"] = ipaddress.ip_address(val)
                except ValueError:
                    self.diag.error(f"lvs_sync_daemon: invalid group address '{val}'", loc)
            else:
                self.diag.error(f"lvs_sync_daemon: unknown option '{key}'", loc)
            i += 2
        return LvsSyncDaemon(**kw)

    def lvs_timeouts(self, w: tuple[str, ...], loc: Loc) -> tuple[tuple[str, int], ...]:
        out = []
        for i in range(0, len(w), 2):
            key = w[i]
            if key not in ("tcp", "tcpfin", "udp") or i + 1 >= len(w):
                self.diag.error(f"lvs_timeouts: expected tcp/tcpfin/udp SECONDS, got '{key}'",
                                loc)
                break
            n = self.int_in(w[i + 1], 0, 86400 * 31, loc, f"lvs_timeouts {key}")
            if n is not None:
                out.append((key, n))
        return tuple(out)


    def up_down_delays(self, entries: list[tuple[tuple[str, ...], Loc]]) -> None:
        """`IFNAME UP [DOWN]` lines, checked as keepalived checks them (not acted on): an
        unknown interface is the cannot-run class (-t exits 4), a bad delay a config error."""
        for w, loc in entries:
            if self.check_interfaces and not self.host.has_interface(w[0]) and \
                    not self.gdefs.dynamic_interfaces:
                self.diag.error(f"unknown interface {w[0]} specified for up/down delay", loc,
                                Rc.CANNOT_RUN, hint="create it, or drop the line")
                continue
            for v in w[1:3]:
                try:
                    ok = 0 <= float(v) <= 255
                except ValueError:
                    ok = False
                if not ok:
                    self.diag.error(f"invalid number '{v}'", loc,
                                    hint="delays are seconds in [0, 255], e.g. 1.5")
                    break

    def garp_groups(self, ctxs: list[Section]) -> None:
        """garp_group blocks (not acted on) as keepalived 2.2.7 checks them: interfaces that
        exist (a host check), each in one group only, and a garp or gna interval set."""
        taken: set[str] = set()
        aggregation = 0  # the groups kept that have an interfaces block (keepalived numbers)
        for c in ctxs:
            names = [(c.get("interface"), c.where("interface"), None)] if c.has("interface") \
                else []
            if "interfaces" in c.entries:
                if not c.entries["interfaces"]:
                    self.diag.error("Warning - empty garp_group interfaces block", c.loc,
                                    end_line=c.end_line)
                names += [(n, loc, c.end_line) for w, loc in c.entries["interfaces"] for n in w]
            for name, loc, end in names:
                if self.check_interfaces and not self.host.has_interface(name):
                    if end is not None and self.gdefs.dynamic_interfaces:
                        continue  # keepalived only logs it then
                    self.missing_interface = True
                    self.diag.error(f"WARNING - interface {name} specified for garp_group "
                                    "doesn't exist", loc, end_line=end)
                elif name in taken:
                    self.diag.error(f"garp_group already specified for {name} - ignoring", loc,
                                    end_line=end)
                taken.add(name)
            number = aggregation + 1 if "interfaces" in c.entries else 0
            if c.has("garp_interval") or c.has("gna_interval"):
                aggregation += number > 0
            elif c.entries.get("interfaces", True):  # 2.2.7 says nothing after an empty one
                self.diag.error(f"garp group {number} does not have any delay set - removing",
                                Loc(c.loc.file, c.end_line),
                                hint="add garp_interval or gna_interval")

    # -- bfd_instance (checked, not run) -----------------------------------------------------
    def bfd_instances(self, ctxs: list[Section]) -> None:
        """keepalived's checks of a bfd_instance (BFD itself is not implemented): each needs a
        valid neighbor_ip of the source_ip's family, and no two share a neighbor."""
        seen: dict[tuple[str, str], str] = {}
        for c in ctxs:
            name = c.args[0]
            end = Loc(c.loc.file, c.end_line)
            if not c.has("neighbor_ip"):
                self.diag.error(f"Configuration error: BFD instance {name} has no neighbor "
                                "address set, disabling instance", end,
                                hint="add: neighbor_ip ADDRESS")
                continue
            try:
                nbr = ipaddress.ip_address(c.get("neighbor_ip"))
            except ValueError:
                self.diag.error(f"Configuration error: BFD instance {name} has malformed "
                                f"neighbor address {c.get('neighbor_ip')}, ignoring instance",
                                c.where("neighbor_ip"))
                continue
            src = None
            if c.has("source_ip"):
                try:
                    src = ipaddress.ip_address(c.get("source_ip"))
                except ValueError:
                    self.diag.error(f"Configuration error: BFD instance {name} has malformed "
                                    f"source address {c.get('source_ip')}, ignoring",
                                    c.where("source_ip"))
            if src is not None and src.version != nbr.version:
                self.diag.error(f"Configuration error: BFD instance {name} source address {src} "
                                f"and neighbor address {nbr} are not of the same family, "
                                "disabling instance", end)
                continue
            key = (str(src or ""), str(nbr))
            if key in seen:
                self.diag.error(f"Configuration error: BFD instance {name} has duplicate "
                                f"neighbor address {nbr}, ignoring instance", end,
                                hint=f"BFD instance {seen[key]} already uses it")
                continue
            seen[key] = name

    # -- tracking objects ------------------------------------------------------------------
    def vrrp_script(self, c: Section) -> VrrpScript | None:
        name = c.args[0]
        if not c.has("script"):
            # at the closing brace, where keepalived finds it
            self.diag.error(f"No script set for vrrp_script {name} - removing",
                            Loc(c.loc.file, c.end_line),
                            hint="add: script \"/path/to/check args\"")
            return None
        s = self.block_script(c, c.script, "script", f"vrrp_script {name}", "script",
                              f"Unable to set default user for vrrp script {name} - removing")
        if s is None:
            return None
        weight, rev = 0, False
        if c.has("weight"):
            w, rev = self.weight(c.get("weight"), c.where("weight"), -253, 253,
                                 f"vrrp_script {name}")
            weight = w or 0
        interval = c.get("interval", 1.0)
        return VrrpScript(
            name=name, script=s, interval=interval, timeout=c.get("timeout", 0.0) or interval,
            weight=weight, weight_reverse=rev, rise=int(c.get("rise", 1)),
            fall=int(c.get("fall", 1)), init_fail=bool(c.get("init_fail", False)), loc=c.loc,
            timeout_configured=c.get("timeout", 0.0))

    def track_file(self, c: Section) -> TrackFile | None:
        name = c.args[0]
        if not c.has("file"):
            self.diag.error(f"No file set for track_file {name} - ignoring",
                            Loc(c.loc.file, c.end_line), hint="add: file /path/to/file")
            return None
        w, rev = (1, False)
        if c.has("weight"):
            wv, rev = self.weight(c.get("weight"), c.where("weight"), -2147483647, 2147483647,
                                  f"track_file {name}")
            w = 1 if wv is None else wv
        return TrackFile(name, c.get("file"), w, rev, c.get("init_file"), c.loc)

    def track_process(self, c: Section) -> TrackProcess | None:
        name = c.args[0]
        if not c.has("process"):
            self.diag.error(f"vrrp_track_process {name} has no process - removing", c.loc)
            return None
        p = c.get("process")
        # a valid param_match (bare: exact) makes keepalived match the full command line
        full = bool(c.get("full_command", False)) or c.has("param_match")
        w, rev = (1, False)
        if c.has("weight"):
            wv, rev = self.weight(c.get("weight"), c.where("weight"), -254, 254,
                                  f"vrrp_track_process {name}")
            w = 1 if wv is None else wv
        return TrackProcess(
            name=name, process=p[0], params=tuple(p[1:]),
            param_match=c.get("param_match", "exact"), weight=w, weight_reverse=rev,
            quorum=int(c.get("quorum", 1)),
            quorum_max=int(c.get("quorum_max")) if c.has("quorum_max") else None,
            fork_delay=c.get("fork_delay", c.get("delay", 0.0)),
            terminate_delay=c.get("terminate_delay", c.get("delay", 0.0)),
            full_command=full, loc=c.loc)


    # -- vrrp_instance ---------------------------------------------------------------------
    def vrrp_instance(self, c: VrrpInstanceSection) -> VrrpInstance | None:
        return c.post(self)

    # -- sync groups -----------------------------------------------------------------------
    def sync_group(self, c: VrrpSyncGroupSection) -> VrrpSyncGroup | None:
        return c.post(self)

    # -- virtual servers -------------------------------------------------------------------
    def vs_group(self, c: Section) -> VirtualServerGroup | None:
        entries = []
        for w, loc in c.lines:
            if w[0] == "fwmark":
                n = self.int_in(w[1], 1, 4294967295, loc, "fwmark") if len(w) > 1 else None
                if n is not None:
                    fam = 6 if len(w) > 2 and w[2] == "inet6" else 4
                    entries.append(VsGroupEntry(fwmark=n, family=fam, loc=loc))
                continue
            rng = self.addr_range(w[0], loc)
            if rng is None:
                continue
            port = self.port(w[1], loc, "virtual_server_group") if len(w) > 1 else None
            entries.append(VsGroupEntry(rng[0], rng[1], port, None, rng[0].version, loc))
        if not c.lines:
            self.diag.error(f"virtual server group {c.args[0]} has no entries - removing",
                            Loc(c.loc.file, c.end_line), hint="add ADDRESS PORT or fwmark N lines")
            return None
        return VirtualServerGroup(c.args[0], tuple(entries), c.loc)

    def addr_range(self, text: str, loc: Loc) -> tuple[IPAddr, IPAddr] | None:
        try:
            if "/" in text:
                net = ipaddress.ip_network(text, strict=False)
                return net[0], net[-1]
            if "-" in text:
                a, b = text.split("-", 1)
                first = ipaddress.ip_address(a)
                if ":" in b or "." in b:
                    last = ipaddress.ip_address(b)
                else:
                    sep = ":" if first.version == 6 else "."
                    head = a.rsplit(sep, 1)[0]
                    last = ipaddress.ip_address(f"{head}{sep}{b}")
                if int(last) < int(first):
                    raise ValueError("range ends before it starts")
                return first, last
            a = ipaddress.ip_address(text)
            return a, a
        except ValueError as e:
            self.diag.error(f"virtual_server_group: invalid address or range '{text}' ({e})",
                            loc)
            return None

    def method(self, w: tuple[str, ...], loc: Loc, key: str) -> tuple[str | None, tuple[str, ...]]:
        m = w[0]
        if m not in METHODS:
            self.diag.error(f"PARSER : unknown [{m}] routing method for virtual server.", loc,
                            hint="NAT, DR or TUN (case matters)")
            return None, ()
        return m, tuple(w[1:]) if m == "TUN" else ()

    def protocol(self, c: Section) -> str | None:
        """`protocol TCP|UDP|SCTP`, in any case (keepalived compares case-insensitively)."""
        p = c.get("protocol")
        if p is None:
            return None
        if p.upper() in PROTOCOLS:
            return str(p.upper())
        self.diag.error(f"Unknown protocol {p} - ignoring", c.where("protocol"),
                        hint="TCP, UDP or SCTP")
        return None

    def virtual_server(self, c: Section) -> VirtualServer | None:
        a = c.args
        kw: dict[str, Any] = {"loc": c.loc}
        if a[0] == "fwmark":
            n = self.int_in(a[1], 1, 4294967295, c.loc, "virtual_server fwmark") \
                if len(a) > 1 else None
            if n is None:
                if len(a) < 2:
                    self.diag.error("virtual_server fwmark needs a number", c.loc)
                return None
            kw["fwmark"] = n
            kw["family"] = 6 if c.get("ip_family") == "inet6" else 4
            if c.has("protocol"):
                self.diag.error(f"Warning: Virtual server FWM {n}: protocol specified for fwmark"
                                " - protocol will be ignored", c.where("protocol"),
                                hint="remove 'protocol' from fwmark virtual servers")
        elif a[0] == "group":
            if len(a) < 2:
                self.diag.error("virtual_server group needs a name", c.loc)
                return None
            kw["group"] = a[1]
            g = self.vsgs.get(a[1])
            if g and g.entries and not self._addr_entries(g) and c.has("protocol"):
                self.diag.error(f"Warning: Virtual server [{a[1]}]:0: protocol specified for "
                                "fwmark - protocol will be ignored", c.where("protocol"),
                                hint=f"group {a[1]} has only fwmarks: remove 'protocol'")
        else:
            try:
                ip = ipaddress.ip_address(a[0])
            except ValueError:
                self.diag.error(f"virtual_server: invalid address '{a[0]}' - skipping it", c.loc,
                                end_line=c.end_line,
                                hint="virtual_server IP PORT | fwmark N | group NAME")
                return None
            kw["ip"], kw["family"] = ip, ip.version
            if len(a) > 1:
                p = self.port(a[1], c.loc, "virtual_server")
                if p is None:
                    return None
                kw["port"] = p
        proto = self.protocol(c) if kw.get("fwmark") is None else "TCP"
        probe = VirtualServer(**{**kw, "protocol": proto or "TCP"})
        name = probe.key if proto else probe.key.replace(":tcp:", ":none:")
        grp_addrs = kw.get("group") is not None and bool(
            self._addr_entries(self.vsgs[kw["group"]]) if kw["group"] in self.vsgs else False)
        if proto is None and (kw.get("ip") is not None or grp_addrs):
            # keepalived carries on with UDP, but counts it as a config error (-t exits 5)
            shown = name if kw.get("ip") is not None else f"[{kw['group']}]:0"
            self.completion_error(f"Virtual server {shown}: no protocol set - defaulting to UDP",
                                  c.loc, hint="add: protocol TCP")
            proto = "UDP"
        kw["protocol"] = proto or "TCP"
        name = VirtualServer(**kw).key
        sched = c.get("lvs_sched")
        if sched is not None and sched not in SCHEDULERS:
            self.diag.error(f"Invalid lvs_scheduler '{sched}' - ignoring", c.where("lvs_sched"),
                            hint=f"one of {' '.join(sorted(SCHEDULERS))}")
            sched = None
        if sched is None:  # a config error for keepalived 2.2.7, though it carries on
            self.completion_error(f"Virtual server {name}: no scheduler set, setting default 'wlc'",
                                  c.loc, hint="add: lb_algo wlc (or rr, wrr, ...)")
            sched = "wlc"
        kw["lvs_sched"] = sched
        meth: str | None = None
        if c.has("lvs_method"):
            meth, kw["tunnel"] = self.method(c.get("lvs_method"), c.where("lvs_method"), name)
        if meth is None:  # a config error for keepalived 2.2.7, though it carries on
            self.completion_error(f"Virtual server {name}: no forwarding method set, setting "
                                  "default NAT", c.loc, hint="add: lb_kind NAT (or DR, TUN)")
            meth = "NAT"
        kw["lvs_method"] = meth
        flags = tuple(f for f in ("ops", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback",
                                  "mh-port", "mh-fallback", "hashed") if c.has(f))
        for f in flags:
            if f.startswith(("sh-", "mh-")) and not sched.startswith(f[:2]):
                self.diag.error(f"Virtual server {name}: '{f}' only applies to the "
                                f"{f[:2]} scheduler", c.where(f))
        if "ops" in flags and kw["protocol"] != "UDP":
            self.diag.error(f"Virtual server {name}: ops (one-packet scheduling) requires "
                            "protocol UDP", c.where("ops"))
        kw["sched_flags"] = flags
        if c.has("persistence_timeout"):
            pt = c.get("persistence_timeout")
            if pt is True or pt is None:
                pt = 360
            pt = int(pt)
            if pt == 0:
                self.diag.warning("persistence_timeout 0 means not persistent; keepalived 2.x "
                                  "rejects 0 (range 1-2678400)", c.where("persistence_timeout"),
                                  hint="remove the line to turn persistence off")
            kw["persistence_timeout"] = pt
        for k in ("persistence_granularity", "persistence_engine", "virtualhost"):
            if c.has(k):
                kw[k] = c.get(k)
        delay_loop = float(c.get("delay_loop", 60.0))
        kw["delay_loop"] = delay_loop
        for k in ("alpha", "omega", "ha_suspend", "inhibit_on_failure", "smtp_alert",
                  "sorry_server_inhibit"):
            kw[k] = bool(c.get(k, False))
        for k in ("quorum_up", "quorum_down"):
            if c.has(k):
                kw[k] = self.script(c.get(k), c.where(k), "quorum")
        kw["quorum"] = int(c.get("quorum", 1))
        kw["hysteresis"] = int(c.get("hysteresis", 0))
        if c.has("sorry_server"):
            w = c.get("sorry_server")
            try:
                sip = ipaddress.ip_address(w[0])
                sport = self.port(w[1], c.where("sorry_server"), "sorry_server") \
                    if len(w) > 1 else None
                kw["sorry_server"] = (sip, sport)
            except ValueError:
                self.diag.error(f"sorry_server: invalid address '{w[0]}'",
                                c.where("sorry_server"))
        if c.has("sorry_server_lvs_method"):
            kw["sorry_server_lvs_method"], _ = self.method(c.get("sorry_server_lvs_method"),
                                                           c.where("sorry_server_lvs_method"),
                                                           name)
        vs_defaults = {
            "connect_timeout": c.get("connect_timeout"), "retry": c.get("retry"),
            "delay_before_retry": c.get("delay_before_retry"), "warmup": c.get("warmup"),
            "delay_loop": delay_loop, "alpha": c.get("alpha"),
            "virtualhost": c.get("virtualhost"),
        }
        default_weight = int(c.get("weight", 1))
        rss: list[RealServer] = []
        seen: set[tuple[str, int | None]] = set()
        for rc in c.blocks.get("real_server", []):
            rs = self.real_server(rc, kw, vs_defaults, default_weight, name)
            if rs is None:
                continue
            if rs.key in seen:
                self.diag.error(f"Virtual server {name}: real server [{rs.ip}]:{rs.port} "
                                "is defined twice - ignoring the second", rc.loc)
                continue
            seen.add(rs.key)
            rss.append(self.rs_port(rs, kw, name, rc.loc))
        kw["real_servers"] = tuple(rss)
        if kw.get("sorry_server") and kw.get("group") is None:
            kw["sorry_server"] = self.sorry_port(kw, name, c.where("sorry_server"))
        elif kw.get("sorry_server"):
            self.group_sorry_port(kw, c.where("sorry_server"))
        total = sum(r.weight for r in rss)
        if rss and kw["quorum"] > total:  # a config error for keepalived 2.2.7
            self.completion_error(f"Warning - quorum {kw['quorum']} for {name} exceeds total "
                                  f"weight of real servers {total}, reducing quorum to {total}",
                                  c.where("quorum"),
                                  hint=f"quorum is a sum of weights: at most {total}")
            kw["quorum"] = max(1, total)
        kw["announce"] = build_announce(c, kw, name, self.diag, self.iface_ok)
        return VirtualServer(**kw)

    def rs_port(self, rs: RealServer, vs: dict[str, Any], vsname: str, loc: Loc) -> RealServer:
        """keepalived's port rules: DR/TUN cannot translate ports, so the real server takes
        the virtual server's (a fwmark service has none); NAT keeps its own. The checkers
        keep the port as written, as keepalived's do (they were made while parsing)."""
        if vs.get("group") is not None:
            self.group_rs_port(rs, vs, loc)
            return rs
        vport = None if vs.get("fwmark") is not None else vs.get("port")
        proto = "none" if vs.get("fwmark") is not None else str(vs.get("protocol")).lower()
        rsname = f"[{rs.ip}]:{proto}:{rs.port or 0}"
        port = rs.port
        if rs.lvs_method == "NAT":
            if port is None and vport is not None:
                port = vport
        elif vport is None:
            if port:
                self.diag.error(f"fwmark virtual server {vsname}, real server {rsname}"
                                " has port specified - clearing", loc,
                                hint="fwmark services have no port: drop it from real_server")
            port = None
        elif port is None:
            port = vport
        elif port != vport:
            self.diag.error(f"virtual server {vsname} and real server {rsname} ports "
                            f"don't match - resetting", loc,
                            hint=f"{rs.lvs_method} cannot change the port: the real server is "
                            f"used on port {vport}; write that port, or use lb_kind NAT")
            port = vport
        if port == rs.port:
            return rs
        if rs.port:  # the checkers keep probing the port that was written
            chs = tuple(ch if ch.connect_port else replace(ch, connect_port=rs.port)
                        for ch in rs.checkers)
            return replace(rs, port=port, checkers=chs)
        return replace(rs, port=port)

    @staticmethod
    def _addr_entries(g: VirtualServerGroup) -> list[VsGroupEntry]:
        """The group's address (range) entries; the rest are fwmarks, which have no port."""
        return [e for e in g.entries if e.fwmark is None]

    def group_rs_port(self, rs: RealServer, vs: dict[str, Any], loc: Loc) -> None:
        """The same rules for a group's real server, checked against every entry of the group.
        keepalived reports each mismatch (-t exits 5) and changes nothing: the IPVS syncer
        gives a DR/TUN real server each service's own port (ipvs/desired.py)."""
        g = self.vsgs.get(vs["group"])
        if g is None or rs.lvs_method == "NAT" or not rs.port:
            return
        addrs = self._addr_entries(g)
        proto = str(vs.get("protocol")).lower() if addrs else "none"
        rsname = f"[{rs.ip}]:{proto}:{rs.port}"
        gname = f"[{g.name}]:0"
        if len(addrs) < len(g.entries):
            self.diag.error(f"WARNING - fwmark virtual server {gname}, real server {rsname} "
                            "has port specified - port will be ignored", loc,
                            hint="fwmark services have no port: drop it from real_server")
        for e in addrs:
            if (e.port or 0) != rs.port:
                where = str(e.first) if e.last in (None, e.first) else f"{e.first}-{e.last}"
                self.diag.error(f"virtual server {gname}:[{where},{e.port or 0}] and real "
                                f"server {rsname} ports don't match", loc,
                                hint=f"{rs.lvs_method} cannot change the port: give the real "
                                "server the group's port, or use lb_kind NAT")

    def group_sorry_port(self, vs: dict[str, Any], loc: Loc) -> None:
        g = self.vsgs.get(vs["group"])
        _sip, sport = vs["sorry_server"]
        if g is None or not sport or \
                vs.get("sorry_server_lvs_method", vs.get("lvs_method", "NAT")) == "NAT":
            return
        addrs = self._addr_entries(g)
        if len(addrs) < len(g.entries):
            self.diag.error(f"WARNING - fwmark virtual server [{g.name}]:0, sorry server has "
                            "port specified - port will be ignored", loc)
        elif any((e.port or 0) != sport for e in addrs):
            self.diag.error(f"WARNING - virtual server [{g.name}]:0, sorry server has port "
                            "specified - port will be ignored", loc)

    def sorry_port(self, vs: dict[str, Any], vsname: str, loc: Loc
                   ) -> tuple[IPAddr, int | None]:
        sip, sport = vs["sorry_server"]
        if vs.get("sorry_server_lvs_method", vs.get("lvs_method", "NAT")) == "NAT":
            return sip, sport
        vport = None if vs.get("fwmark") is not None else vs.get("port")
        if vport is None:
            if sport:
                self.diag.error(f"virtual server {vsname}, sorry server has port "
                                "specified - clearing", loc)
            return sip, None
        if sport is not None and sport != vport:
            self.diag.error(f"virtual server {vsname} and sorry server ports don't "
                            "match - resetting", loc)
        return sip, vport

    def real_server(self, c: Section, vs: dict[str, Any], dflt: dict[str, Any], default_weight: int,
                    vsname: str) -> RealServer | None:
        a = c.args
        try:
            ip = ipaddress.ip_address(a[0])
        except ValueError:
            self.diag.error(f"real_server: invalid address '{a[0]}' - skipping it", c.loc,
                            end_line=c.end_line)
            return None
        port = None
        if len(a) > 1:
            port = self.port(a[1], c.loc, "real_server")
        elif vs.get("port") is not None and vs.get("lvs_method") != "DR":
            port = vs.get("port")
        kw: dict[str, Any] = {"ip": ip, "port": port, "loc": c.loc}
        if c.has("weight"):
            kw["weight"] = int(c.get("weight"))
        elif "weight" in c.locs:
            kw["weight"] = default_weight
        else:
            kw["weight"] = default_weight
        meth = vs.get("lvs_method", "NAT")
        if c.has("lvs_method"):
            m, _ = self.method(c.get("lvs_method"), c.where("lvs_method"), vsname)
            meth = m or meth
        kw["lvs_method"] = meth
        if vs.get("ip") is not None and vs["ip"].version != ip.version and meth != "TUN":
            self.diag.error(f"Address family of virtual server and real server {ip} don't match "
                            "- skipping real server.", Loc(c.loc.file, c.end_line),
                            hint="only TUN forwards across address families")
            return None
        for k in ("notify_up", "notify_down"):
            if c.has(k):
                kw[k] = self.script(c.get(k), c.where(k))
        kw["uthreshold"] = int(c.get("uthreshold", 0))
        kw["lthreshold"] = int(c.get("lthreshold", 0))
        inherit = dict(dflt)
        for k in ("connect_timeout", "retry", "delay_before_retry", "warmup", "delay_loop",
                  "alpha", "virtualhost"):
            if c.has(k):
                inherit[k] = c.get(k)
        kw["inhibit_on_failure"] = bool(c.get("inhibit_on_failure",
                                              vs.get("inhibit_on_failure", False)))
        kw["alpha"] = bool(inherit.get("alpha") or False)
        kw["smtp_alert"] = bool(c.get("smtp_alert", vs.get("smtp_alert", False)))
        kw["smtp_alert_set"] = c.has("smtp_alert")
        checkers = []
        for kind in CHECKER_KINDS:
            for cc in c.blocks.get(kind, []):
                ch = self.checker(kind, cc, ip, port, inherit)
                if ch is not None:
                    checkers.append(ch)
        checkers.sort(key=lambda ch: (ch.loc.line if ch.loc else 0))
        kw["checkers"] = tuple(checkers)
        return RealServer(**kw)

    def checker(self, kind: str, c: Section, ip: IPAddr, port: int | None, inherit: dict[str, Any]
                ) -> Checker | None:
        d = CHECKER_DEFAULTS[kind]
        kw: dict[str, Any] = {"kind": kind, "loc": c.loc}

        def pick(name: str, default: Any) -> Any:
            if c.has(name):
                return c.get(name)
            v = inherit.get(name)
            return default if v is None else v

        delay_loop = float(pick("delay_loop", 60.0))
        kw["delay_loop"] = delay_loop
        kw["connect_timeout"] = float(pick("connect_timeout", 5.0))
        kw["retry"] = int(pick("retry", d["retry"]))
        dbr = d["delay_before_retry"]
        kw["delay_before_retry"] = float(pick("delay_before_retry",
                                              delay_loop if dbr < 0 else dbr))
        wu = pick("warmup", None)
        kw["warmup"] = None if wu is None else float(wu)
        kw["alpha"] = bool(pick("alpha", False))
        kw["log_all_failures"] = bool(c.get("log_all_failures", False))
        for k in ("connect_ip", "bindto", "bind_if"):
            if c.has(k):
                kw[k] = c.get(k)
        for k in ("connect_port", "bind_port", "fwmark"):
            if c.has(k):
                kw[k] = int(c.get(k))
        if kind in ("HTTP_GET", "SSL_GET"):
            urls = []
            for u in c.blocks.get("url", []):
                if not u.has("path"):
                    self.diag.error(f"{kind}: url block without path - ignoring it", u.loc)
                    continue
                urls.append(self.url(u))
            if not urls:
                self.diag.error(f"{kind} has no url - the checker is removed", c.loc,
                                hint="add: url { path / }")
                return None
            kw["urls"] = tuple(urls)
            kw["virtualhost"] = c.get("virtualhost", inherit.get("virtualhost"))
            kw["http_protocol"] = c.get("http_protocol", "1.0")
            kw["enable_sni"] = bool(c.get("enable_sni", False))
            kw["tls_compliant"] = bool(c.get("tls_compliant", False))
            kw["fast_recovery"] = bool(c.get("fast_recovery", False))
        elif kind == "MISC_CHECK":
            if not c.has("misc_path"):
                self.diag.error("MISC_CHECK has no misc_path - the checker is removed", c.loc)
                return None
            s = self.block_script(c, c.misc_path, "misc_path", "MISC_CHECK", "checker",
                                  f"Unable to set default user for misc script "
                                  f"'{c.get('misc_path')[0]}' - removing")
            if s is None:
                return None
            kw["misc_path"] = s
            kw["misc_timeout"] = float(c.get("misc_timeout")) if c.has("misc_timeout") else None
            kw["misc_dynamic"] = bool(c.get("misc_dynamic", False))
        elif kind == "SMTP_CHECK":
            kw["helo_name"] = c.get("helo_name")
        elif kind == "DNS_CHECK":
            kw["dns_type"] = c.get("type", "SOA")
            kw["dns_name"] = c.get("name", ".")
        elif kind == "UDP_CHECK":
            if c.has("payload"):
                try:
                    kw["payload"] = bytes.fromhex(c.get("payload"))
                except ValueError:
                    self.diag.error("UDP_CHECK payload must be hex digits", c.where("payload"))
            if c.has("require_reply"):
                rr = c.get("require_reply")
                kw["require_reply"] = rr[0] if rr else ""
            kw["min_reply_length"] = int(c.get("min_reply_length", 0))
            kw["max_reply_length"] = int(c.get("max_reply_length", 255))
        elif kind == "FILE_CHECK":
            tf = c.get("track_file")
            if tf is not None and tf not in self.track_file_names:
                self.diag.error(f"track_file {tf} not found", c.where("track_file"),
                                hint=near(tf, self.track_file_names, "track_file"))
                tf = None
            if tf is None:
                self.diag.error("FILE_CHECK has no track_file specified - ignoring",
                                Loc(c.loc.file, c.end_line))
                return None
            kw["track_file"] = tf
            if c.has("weight"):
                kw["weight"], kw["weight_reverse"] = self.weight(
                    c.get("weight"), c.where("weight"), -2147483647, 2147483647, "FILE_CHECK")
            kw["dynamic"] = bool(c.get("dynamic", False))
        elif kind == "BFD_CHECK":
            kw["bfd_name"] = c.get("name")
        return Checker(**kw)

    def url(self, u: Section) -> Url:
        kw: dict[str, Any] = {"path": u.get("path"), "loc": u.loc}
        if u.has("digest"):
            dg = u.get("digest").lower()
            if len(dg) != 32 or any(ch not in "0123456789abcdef" for ch in dg):
                self.diag.error(f"digest '{u.get('digest')}' is not an MD5 hex digest",
                                u.where("digest"), hint="compute it with: pykeepalived -T URL")
            else:
                kw["digest"] = dg
        if u.has("status_code"):
            codes = []
            for tok in u.get("status_code"):
                lo_s, _, hi_s = tok.partition("-")
                try:
                    lo_n, hi_n = int(lo_s), int(hi_s or lo_s)
                except ValueError:
                    self.diag.error(f"status_code '{tok}' is not a number or range",
                                    u.where("status_code"))
                    continue
                if not (100 <= lo_n <= hi_n <= 599):
                    self.diag.error(f"status_code '{tok}' outside 100-599",
                                    u.where("status_code"))
                    continue
                codes.append((lo_n, hi_n))
            if codes:
                kw["status_code"] = tuple(codes)
        for k in ("virtualhost", "regex"):
            if u.has(k):
                kw[k] = u.get(k)
        kw["regex_no_match"] = bool(u.get("regex_no_match", False))
        kw["tls_compliant"] = bool(u.get("tls_compliant", False))
        return Url(**kw)


