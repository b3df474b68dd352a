"""Completion: raw block values -> the frozen model, with keepalived's defaults and checks.

This mirrors keepalived's completion step (vrrp_complete_instance, check_data.c): derived
values (MASTER without priority is the address owner, IPv6 VIPs mean VRRPv3 ...), inheritance
(virtual_server -> real_server -> checker) and the cross-object checks (duplicate VRID on an
interface, unknown track_script ...). Where keepalived only logs and carries on, we report a
diagnostic with the same meaning and carry on with the same value.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from pykeepalived.config.announce import build_announce
from pykeepalived.config.crosscheck import cross_checks, near
from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model import (
    Checker,
    Config,
    GlobalDefs,
    IPAddr,
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
from pykeepalived.config.sections.checked_only import (
    BfdInstanceSection,
    GarpGroupSection,
    bfd_instances,
    garp_groups,
    up_down_delays,
)
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.global_defs import GlobalDefsSection, global_defs
from pykeepalived.config.sections.section import Entry, Section
from pykeepalived.config.sections.sync_group import VrrpSyncGroupSection
from pykeepalived.config.sections.tracking import (
    TrackFileSection,
    VrrpScriptSection,
    VrrpTrackProcessSection,
)
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


    # -- global_defs, the checked-only blocks, the tracked objects: sections/ (issue 14) --
    def global_defs(self, ctxs: list[GlobalDefsSection]) -> GlobalDefs:
        return global_defs(self, ctxs)

    def up_down_delays(self, entries: list[Entry]) -> None:
        return up_down_delays(self, entries)

    def garp_groups(self, ctxs: list[GarpGroupSection]) -> None:
        return garp_groups(self, ctxs)

    def bfd_instances(self, ctxs: list[BfdInstanceSection]) -> None:
        return bfd_instances(self, ctxs)

    def vrrp_script(self, c: VrrpScriptSection) -> VrrpScript | None:
        return c.post(self)

    def track_file(self, c: TrackFileSection) -> TrackFile | None:
        return c.post(self)

    def track_process(self, c: VrrpTrackProcessSection) -> TrackProcess | None:
        return c.post(self)

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


