"""Blocks keepalived checks but pykeepalived does not act on (garp_group, bfd_instance, SSL,
interface_up_down_delays): the checks are kept so that `-t` gives keepalived's verdict."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pykeepalived.config.diagnostics import Loc, Rc
from pykeepalived.config.sections.section import Entry, Section

if TYPE_CHECKING:
    from pykeepalived.config.sections.completion import Completion


class GarpGroupSection(Section):
    SECTION = "garp_group"
    garp_interval: float | None = None
    gna_interval: float | None = None
    interface: str | None = None
    interfaces: Sequence[Entry]


class BfdInstanceSection(Section):
    SECTION = "bfd_instance"
    neighbor_ip: str | None = None
    vrrp: tuple[str, ...] | None = None
    checker: tuple[str, ...] | None = None
    source_ip: str | None = None
    min_rx: int | None = None
    min_tx: int | None = None
    idle_tx: int | None = None
    multiplier: int | None = None
    passive: bool | None = None
    ttl: int | None = None
    hoplimit: int | None = None
    max_hops: int | None = None
    weight: tuple[str, ...] | None = None
    multihop: bool | None = None


class SslSection(Section):
    SECTION = "SSL"
    password: str | None = None
    ca: str | None = None
    certificate: str | None = None
    key: str | None = None


def garp_groups(cx: Completion, groups: Sequence[GarpGroupSection]) -> None:
    """garp_group blocks (not acted on) as keepalived 2.2.7 checks them: interfaces that
    exist (a host check), each in one group only, and a garp or gna interval set."""
    taken: set[str] = set()
    aggregation = 0  # the groups kept that have an interfaces block (keepalived numbers)
    for c in groups:
        has_block = "interfaces" in c.locs
        names: list[tuple[str, Loc, int | None]] = []
        if c.interface is not None:
            names.append((c.interface, c.where("interface"), None))
        if has_block:
            if not c.interfaces:
                cx.diag.error("Warning - empty garp_group interfaces block", c.loc,
                              end_line=c.end_line)
            names += [(n, loc, c.end_line) for w, loc in c.interfaces for n in w]
        for name, loc, end in names:
            if cx.check_interfaces and not cx.host.has_interface(name):
                if end is not None and cx.gdefs.dynamic_interfaces:
                    continue  # keepalived only logs it then
                cx.missing_interface = True
                cx.diag.error(f"WARNING - interface {name} specified for garp_group "
                              "doesn't exist", loc, end_line=end)
            elif name in taken:
                cx.diag.error(f"garp_group already specified for {name} - ignoring", loc,
                              end_line=end)
            taken.add(name)
        number = aggregation + 1 if has_block else 0
        if c.garp_interval is not None or c.gna_interval is not None:
            aggregation += number > 0
        elif not has_block or c.interfaces:  # 2.2.7 says nothing after an empty one
            cx.diag.error(f"garp group {number} does not have any delay set - removing", c.end,
                          hint="add garp_interval or gna_interval")


def bfd_instances(cx: Completion, instances: Sequence[BfdInstanceSection]) -> None:
    """keepalived's checks of a bfd_instance (BFD itself is not implemented): each needs a
    valid neighbor_ip of the source_ip's family, and no two share a neighbor."""
    seen: dict[tuple[str, str], str] = {}
    for c in instances:
        name = c.args[0]
        if c.neighbor_ip is None:
            cx.diag.error(f"Configuration error: BFD instance {name} has no neighbor "
                          "address set, disabling instance", c.end,
                          hint="add: neighbor_ip ADDRESS")
            continue
        try:
            nbr = ipaddress.ip_address(c.neighbor_ip)
        except ValueError:
            cx.diag.error(f"Configuration error: BFD instance {name} has malformed "
                          f"neighbor address {c.neighbor_ip}, ignoring instance",
                          c.where("neighbor_ip"))
            continue
        src = None
        if c.source_ip is not None:
            try:
                src = ipaddress.ip_address(c.source_ip)
            except ValueError:
                cx.diag.error(f"Configuration error: BFD instance {name} has malformed "
                              f"source address {c.source_ip}, ignoring", c.where("source_ip"))
        if src is not None and src.version != nbr.version:
            cx.diag.error(f"Configuration error: BFD instance {name} source address {src} "
                          f"and neighbor address {nbr} are not of the same family, "
                          "disabling instance", c.end)
            continue
        key = (str(src or ""), str(nbr))
        if key in seen:
            cx.diag.error(f"Configuration error: BFD instance {name} has duplicate "
                          f"neighbor address {nbr}, ignoring instance", c.end,
                          hint=f"BFD instance {seen[key]} already uses it")
            continue
        seen[key] = name


def up_down_delays(cx: Completion, entries: Sequence[Entry]) -> None:
    """`IFNAME UP [DOWN]` lines, checked as keepalived checks them (not acted on): an
    unknown interface is the cannot-run class (-t exits 4), a bad delay a config error."""
    for w, loc in entries:
        if cx.check_interfaces and not cx.host.has_interface(w[0]) and \
                not cx.gdefs.dynamic_interfaces:
            cx.diag.error(f"unknown interface {w[0]} specified for up/down delay", loc,
                          Rc.CANNOT_RUN, hint="create it, or drop the line")
            continue
        for v in w[1:3]:
            try:
                ok = 0 <= float(v) <= 255
            except ValueError:
                ok = False
            if not ok:
                cx.diag.error(f"invalid number '{v}'", loc,
                              hint="delays are seconds in [0, 255], e.g. 1.5")
                break
