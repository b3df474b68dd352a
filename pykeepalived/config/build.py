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
from typing import Any

from pykeepalived.config.crosscheck import cross_checks
from pykeepalived.config.diagnostics import Loc, Rc
from pykeepalived.config.model import (
    Config,
    GlobalDefs,
    LvsSyncDaemon,
    TrackFile,
    TrackProcess,
    VirtualServer,
    VirtualServerGroup,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)
from pykeepalived.config.sections.addresses import routes, rule, vip
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.section import Section
from pykeepalived.config.sections.sync_group import VrrpSyncGroupSection
from pykeepalived.config.sections.virtual_server import VirtualServerSection
from pykeepalived.config.sections.vrrp_instance import VrrpInstanceSection
from pykeepalived.config.sections.vs_group import VsGroupSection


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
    def vs_group(self, c: VsGroupSection) -> VirtualServerGroup | None:
        return c.post(self)

    def virtual_server(self, c: VirtualServerSection) -> VirtualServer | None:
        return c.post(self)
