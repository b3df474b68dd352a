"""virtual_server: one IPVS service, its scheduler and its real servers.

Its completion (keepalived's check_data.c) also gives each real server the port rules of
the service's forwarding method, and checks its sorry server and quorum.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from pykeepalived.config.announce import build_announce
from pykeepalived.config.model import RealServer, VirtualServer
from pykeepalived.config.sections.checkers import Inherited
from pykeepalived.config.sections.real_server import ServiceDefaults, method
from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.diagnostics import Loc
    from pykeepalived.config.model import IPAddr, VirtualServerGroup, VsGroupEntry
    from pykeepalived.config.sections.completion import Completion
    from pykeepalived.config.sections.real_server import RealServerSection

SCHEDULERS = frozenset(
    ["rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos"]
)
PROTOCOLS = frozenset({"TCP", "UDP", "SCTP"})


class Where(NamedTuple):
    """What a virtual_server line names: an address and port, a fwmark or a group."""

    ip: IPAddr | None = None
    port: int | None = None
    fwmark: int | None = None
    group: str | None = None
    family: int = 4

    def key(self, protocol: str) -> str:
        return VirtualServer(ip=self.ip, port=self.port, fwmark=self.fwmark, group=self.group,
                             protocol=protocol).key


class VirtualServerSection(Section):
    SECTION = "virtual_server"
    delay_loop: float | None = None
    lvs_sched: str | None = None
    lvs_method: tuple[str, ...] | None = None
    ops: bool | None = None
    flag_1: bool | None = None
    flag_2: bool | None = None
    flag_3: bool | None = None
    sh_port: bool | None = None
    sh_fallback: bool | None = None
    mh_port: bool | None = None
    mh_fallback: bool | None = None
    hashed: bool | None = None
    persistence_timeout: int | None = None
    persistence_granularity: str | None = None
    persistence_engine: str | None = None
    protocol: str | None = None
    nat_mask: bool | None = None
    ha_suspend: bool | None = None  # recognised, not acted on
    smtp_alert: bool | None = None  # recognised, not acted on
    virtualhost: str | None = None
    alpha: bool | None = None
    omega: bool | None = None
    quorum: int | None = None
    hysteresis: int | None = None
    quorum_up: tuple[str, ...] | None = None
    quorum_down: tuple[str, ...] | None = None
    ip_family: str | None = None
    weight: int | None = None
    sorry_server: tuple[str, ...] | None = None
    sorry_server_inhibit: bool | None = None
    sorry_server_lvs_method: tuple[str, ...] | None = None
    connect_timeout: float | None = None
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    inhibit_on_failure: bool | None = None
    real_server: Sequence[RealServerSection]
    announce_address: tuple[str, ...] | None = None
    announce_route: tuple[str, ...] | None = None
    announce_only_if_master: str | None = None
    announce_without_ipvs: bool | None = None

    def post(self, cx: Completion) -> VirtualServer | None:
        at = self.where_to(cx)
        if at is None:
            return None
        proto = self.protocol_of(cx) if at.fwmark is None else "TCP"
        name = at.key(proto or "TCP")
        if not proto:
            name = name.replace(":tcp:", ":none:")
        g = cx.vsgs.get(at.group) if at.group is not None else None
        if proto is None and (at.ip is not None or (g is not None and bool(_addr_entries(g)))):
            # keepalived carries on with UDP, but counts it as a config error (-t exits 5)
            shown = name if at.ip is not None else f"[{at.group}]:0"
            cx.completion_error(f"Virtual server {shown}: no protocol set - defaulting to UDP",
                                self.loc, hint="add: protocol TCP")
            proto = "UDP"
        protocol = proto or "TCP"
        name = at.key(protocol)
        sched = self.scheduler(cx, name)
        meth: str | None = None
        tunnel: tuple[str, ...] = ()
        if self.lvs_method is not None:
            meth, tunnel = method(cx, self.lvs_method, self.where("lvs_method"))
        if meth is None:  # a config error for keepalived 2.2.7, though it carries on
            cx.completion_error(f"Virtual server {name}: no forwarding method set, setting "
                                "default NAT", self.loc, hint="add: lb_kind NAT (or DR, TUN)")
            meth = "NAT"
        flags = self.sched_flags(cx, name, sched, protocol)
        persistence = 0
        if self.persistence_timeout is not None:
            persistence = self.persistence_timeout
            if persistence == 0:
                cx.diag.warning("persistence_timeout 0 means not persistent; keepalived 2.x "
                                "rejects 0 (range 1-2678400)", self.where("persistence_timeout"),
                                hint="remove the line to turn persistence off")
        delay_loop = 60.0 if self.delay_loop is None else float(self.delay_loop)
        quorum_up = self.keyword_script(cx, "quorum_up", "quorum")
        quorum_down = self.keyword_script(cx, "quorum_down", "quorum")
        sorry = self.sorry(cx)
        sorry_meth = None
        if self.sorry_server_lvs_method is not None:
            sorry_meth, _ = method(cx, self.sorry_server_lvs_method,
                                   self.where("sorry_server_lvs_method"))
        svc = ServiceDefaults(
            name=name, ip=at.ip, port=at.port, fwmark=at.fwmark, group=at.group,
            protocol=protocol, lvs_method=meth, weight=1 if self.weight is None else self.weight,
            inhibit_on_failure=bool(self.inhibit_on_failure), smtp_alert=bool(self.smtp_alert),
            inherited=Inherited(
                connect_timeout=self.connect_timeout, retry=self.retry,
                delay_before_retry=self.delay_before_retry, warmup=self.warmup,
                delay_loop=delay_loop, alpha=self.alpha, virtualhost=self.virtualhost))
        rss = self.real_servers(cx, svc)
        # the sorry server's method: its own when written (None when unknown), else the service's
        sorry_fwd = sorry_meth if self.sorry_server_lvs_method is not None else meth
        if sorry and at.group is None:
            sorry = sorry_port(cx, sorry, sorry_fwd, at, name, self.where("sorry_server"))
        elif sorry and at.group is not None:
            group_sorry_port(cx, at.group, sorry, sorry_fwd, self.where("sorry_server"))
        quorum = 1 if self.quorum is None else self.quorum
        total = sum(r.weight for r in rss)
        if rss and quorum > total:  # a config error for keepalived 2.2.7
            cx.completion_error(f"Warning - quorum {quorum} for {name} exceeds total weight of "
                                f"real servers {total}, reducing quorum to {total}",
                                self.where("quorum"),
                                hint=f"quorum is a sum of weights: at most {total}")
            quorum = max(1, total)
        announce = build_announce(self, name, at.ip, at.fwmark, at.group, cx.diag, cx.iface_ok)
        return VirtualServer(
            ip=at.ip, port=at.port, fwmark=at.fwmark, group=at.group, protocol=protocol,
            family=at.family, lvs_sched=sched, lvs_method=meth, tunnel=tunnel,
            sched_flags=flags, persistence_timeout=persistence,
            persistence_granularity=self.persistence_granularity,
            persistence_engine=self.persistence_engine, delay_loop=delay_loop, quorum=quorum,
            hysteresis=0 if self.hysteresis is None else self.hysteresis,
            quorum_up=quorum_up, quorum_down=quorum_down, sorry_server=sorry,
            sorry_server_inhibit=bool(self.sorry_server_inhibit),
            sorry_server_lvs_method=sorry_meth, alpha=bool(self.alpha), omega=bool(self.omega),
            ha_suspend=bool(self.ha_suspend), inhibit_on_failure=bool(self.inhibit_on_failure),
            virtualhost=self.virtualhost, smtp_alert=bool(self.smtp_alert),
            real_servers=tuple(rss), loc=self.loc, announce=announce)

    def where_to(self, cx: Completion) -> Where | None:
        """The service the block's line names (None: keepalived skips the block)."""
        a = self.args
        if a[0] == "fwmark":
            n = cx.int_in(a[1], 1, 4294967295, self.loc, "virtual_server fwmark") \
                if len(a) > 1 else None
            if n is None:
                if len(a) < 2:
                    cx.diag.error("virtual_server fwmark needs a number", self.loc)
                return None
            if self.protocol is not None:
                cx.diag.error(f"Warning: Virtual server FWM {n}: protocol specified for fwmark"
                              " - protocol will be ignored", self.where("protocol"),
                              hint="remove 'protocol' from fwmark virtual servers")
            return Where(fwmark=n, family=6 if self.ip_family == "inet6" else 4)
        if a[0] == "group":
            if len(a) < 2:
                cx.diag.error("virtual_server group needs a name", self.loc)
                return None
            g = cx.vsgs.get(a[1])
            if g and g.entries and not _addr_entries(g) and self.protocol is not None:
                cx.diag.error(f"Warning: Virtual server [{a[1]}]:0: protocol specified for "
                              "fwmark - protocol will be ignored", self.where("protocol"),
                              hint=f"group {a[1]} has only fwmarks: remove 'protocol'")
            return Where(group=a[1])
        try:
            ip = ipaddress.ip_address(a[0])
        except ValueError:
            cx.diag.error(f"virtual_server: invalid address '{a[0]}' - skipping it", self.loc,
                          end_line=self.end_line,
                          hint="virtual_server IP PORT | fwmark N | group NAME")
            return None
        port = None
        if len(a) > 1:
            port = cx.port(a[1], self.loc, "virtual_server")
            if port is None:
                return None
        return Where(ip=ip, port=port, family=ip.version)

    def protocol_of(self, cx: Completion) -> str | None:
        """`protocol TCP|UDP|SCTP`, in any case (keepalived compares case-insensitively)."""
        p = self.protocol
        if p is None:
            return None
        if p.upper() in PROTOCOLS:
            return p.upper()
        cx.diag.error(f"Unknown protocol {p} - ignoring", self.where("protocol"),
                      hint="TCP, UDP or SCTP")
        return None

    def scheduler(self, cx: Completion, name: str) -> str:
        sched = self.lvs_sched
        if sched is not None and sched not in SCHEDULERS:
            cx.diag.error(f"Invalid lvs_scheduler '{sched}' - ignoring", self.where("lvs_sched"),
                          hint=f"one of {' '.join(sorted(SCHEDULERS))}")
            sched = None
        if sched is None:  # a config error for keepalived 2.2.7, though it carries on
            cx.completion_error(f"Virtual server {name}: no scheduler set, setting default "
                                "'wlc'", self.loc, hint="add: lb_algo wlc (or rr, wrr, ...)")
            sched = "wlc"
        return sched

    def sched_flags(self, cx: Completion, name: str, sched: str, protocol: str
                    ) -> tuple[str, ...]:
        """The scheduler flags written, by keepalived's names (ops, sh-port, flag-1 ...)."""
        written = [(f, attr) for f, attr, on in (
            ("ops", "ops", self.ops), ("flag-1", "flag_1", self.flag_1),
            ("flag-2", "flag_2", self.flag_2), ("flag-3", "flag_3", self.flag_3),
            ("sh-port", "sh_port", self.sh_port), ("sh-fallback", "sh_fallback", self.sh_fallback),
            ("mh-port", "mh_port", self.mh_port), ("mh-fallback", "mh_fallback", self.mh_fallback),
            ("hashed", "hashed", self.hashed)) if on is not None]
        for f, attr in written:
            if f.startswith(("sh-", "mh-")) and not sched.startswith(f[:2]):
                cx.diag.error(f"Virtual server {name}: '{f}' only applies to the "
                              f"{f[:2]} scheduler", self.where(attr))
        if self.ops is not None and protocol != "UDP":
            cx.diag.error(f"Virtual server {name}: ops (one-packet scheduling) requires "
                          "protocol UDP", self.where("ops"))
        return tuple(f for f, _ in written)

    def sorry(self, cx: Completion) -> tuple[IPAddr, int | None] | None:
        w = self.sorry_server
        if w is None:
            return None
        try:
            sip = ipaddress.ip_address(w[0])
        except ValueError:
            cx.diag.error(f"sorry_server: invalid address '{w[0]}'", self.where("sorry_server"))
            return None
        sport = cx.port(w[1], self.where("sorry_server"), "sorry_server") if len(w) > 1 else None
        return sip, sport

    def real_servers(self, cx: Completion, svc: ServiceDefaults) -> list[RealServer]:
        rss: list[RealServer] = []
        seen: set[tuple[IPAddr, int | None]] = set()  # RealServer.key, without str(ip)
        for rc in self.real_server:
            rs = rc.post(cx, svc)
            if rs is None:
                continue
            key = (rs.ip, rs.port)
            if key in seen:
                cx.diag.error(f"Virtual server {svc.name}: real server [{rs.ip}]:{rs.port} "
                              "is defined twice - ignoring the second", rc.loc)
                continue
            seen.add(key)
            rss.append(rs_port(cx, rs, svc, rc.loc))
        return rss


def rs_port(cx: Completion, rs: RealServer, svc: ServiceDefaults, loc: Loc) -> RealServer:
    """keepalived's port rules: DR/TUN cannot translate ports, so the real server takes
    the virtual server's (a fwmark service has none); NAT keeps its own. The checkers
    keep the port as written, as keepalived's do (they were made while parsing)."""
    if svc.group is not None:
        group_rs_port(cx, rs, svc, loc)
        return rs
    vport = None if svc.fwmark is not None else svc.port
    port = rs.port
    if rs.lvs_method == "NAT":
        if port is None and vport is not None:
            port = vport
    elif vport is None:
        if port:
            cx.diag.error(f"fwmark virtual server {svc.name}, real server {_rs_name(rs, svc)}"
                          " has port specified - clearing", loc,
                          hint="fwmark services have no port: drop it from real_server")
        port = None
    elif port is None:
        port = vport
    elif port != vport:
        cx.diag.error(f"virtual server {svc.name} and real server {_rs_name(rs, svc)} ports "
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


def _rs_name(rs: RealServer, svc: ServiceDefaults) -> str:
    """keepalived's name of a real server in its messages (made only for them: str(ip) costs)."""
    proto = "none" if svc.fwmark is not None else svc.protocol.lower()
    return f"[{rs.ip}]:{proto}:{rs.port or 0}"


def _addr_entries(g: VirtualServerGroup) -> list[VsGroupEntry]:
    """The group's address (range) entries; the rest are fwmarks, which have no port."""
    return [e for e in g.entries if e.fwmark is None]


def group_rs_port(cx: Completion, rs: RealServer, svc: ServiceDefaults, loc: Loc) -> None:
    """The same rules for a group's real server, checked against every entry of the group.
    keepalived reports each mismatch (-t exits 5) and changes nothing: the IPVS syncer
    gives a DR/TUN real server each service's own port (ipvs/desired.py)."""
    g = cx.vsgs.get(svc.group) if svc.group is not None else None
    if g is None or rs.lvs_method == "NAT" or not rs.port:
        return
    addrs = _addr_entries(g)
    proto = svc.protocol.lower() if addrs else "none"
    rsname = f"[{rs.ip}]:{proto}:{rs.port}"
    gname = f"[{g.name}]:0"
    if len(addrs) < len(g.entries):
        cx.diag.error(f"WARNING - fwmark virtual server {gname}, real server {rsname} "
                      "has port specified - port will be ignored", loc,
                      hint="fwmark services have no port: drop it from real_server")
    for e in addrs:
        if (e.port or 0) != rs.port:
            where = str(e.first) if e.last in (None, e.first) else f"{e.first}-{e.last}"
            cx.diag.error(f"virtual server {gname}:[{where},{e.port or 0}] and real "
                          f"server {rsname} ports don't match", loc,
                          hint=f"{rs.lvs_method} cannot change the port: give the real "
                          "server the group's port, or use lb_kind NAT")


def group_sorry_port(cx: Completion, group: str, sorry: tuple[IPAddr, int | None],
                     fwd: str | None, loc: Loc) -> None:
    """A group's sorry server with a port: keepalived warns (DR/TUN) and ignores the port."""
    g = cx.vsgs.get(group)
    _sip, sport = sorry
    if g is None or not sport or fwd == "NAT":
        return
    addrs = _addr_entries(g)
    if len(addrs) < len(g.entries):
        cx.diag.error(f"WARNING - fwmark virtual server [{g.name}]:0, sorry server has "
                      "port specified - port will be ignored", loc)
    elif any((e.port or 0) != sport for e in addrs):
        cx.diag.error(f"WARNING - virtual server [{g.name}]:0, sorry server has port "
                      "specified - port will be ignored", loc)


def sorry_port(cx: Completion, sorry: tuple[IPAddr, int | None], fwd: str | None, at: Where,
               name: str, loc: Loc) -> tuple[IPAddr, int | None]:
    """The sorry server's port by the real servers' rules: DR/TUN take the service's."""
    sip, sport = sorry
    if fwd == "NAT":
        return sip, sport
    vport = None if at.fwmark is not None else at.port
    if vport is None:
        if sport:
            cx.diag.error(f"virtual server {name}, sorry server has port "
                          "specified - clearing", loc)
        return sip, None
    if sport is not None and sport != vport:
        cx.diag.error(f"virtual server {name} and sorry server ports don't "
                      "match - resetting", loc)
    return sip, vport
