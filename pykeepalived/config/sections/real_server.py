"""real_server: one IPVS destination and the checkers that decide its weight."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model import Checker, RealServer
from pykeepalived.config.sections.checkers import CheckerSection, Inherited
from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr
    from pykeepalived.config.sections.checkers import (
        BfdCheckSection,
        DnsCheckSection,
        FileCheckSection,
        MiscCheckSection,
        PingCheckSection,
        SmtpCheckSection,
        TcpCheckSection,
        UdpCheckSection,
    )
    from pykeepalived.config.sections.completion import Completion
    from pykeepalived.config.sections.http_checkers import HttpGetSection, SslGetSection

METHODS = frozenset({"NAT", "DR", "TUN"})


def method(cx: Completion, w: tuple[str, ...], loc: Loc) -> tuple[str | None, tuple[str, ...]]:
    """`lb_kind NAT|DR|TUN [TUN options]` of a virtual server, its sorry server or a real
    server: the method (None: unknown, reported) and TUN's options."""
    m = w[0]
    if m not in METHODS:
        cx.diag.error(f"PARSER : unknown [{m}] routing method for virtual server.", loc,
                      hint="NAT, DR or TUN (case matters)")
        return None, ()
    return m, tuple(w[1:]) if m == "TUN" else ()


@lru_cache(maxsize=4096)
def address(text: str) -> IPAddr:
    """A real server's address, one object per distinct address: the same backends serve
    many virtual servers (10,000 real servers are often a few hundred hosts)."""
    return ipaddress.ip_address(text)


class ServiceDefaults(NamedTuple):
    """What a real_server takes from its virtual_server (one per virtual server, shared)."""

    name: str  # keepalived's name of the virtual server, for messages
    ip: IPAddr | None
    port: int | None
    fwmark: int | None
    group: str | None
    protocol: str
    lvs_method: str
    weight: int
    inhibit_on_failure: bool
    smtp_alert: bool
    inherited: Inherited  # passed on to the checkers


class RealServerSection(Section):
    SECTION = "real_server"
    weight: int | None = None
    lvs_method: tuple[str, ...] | None = None
    notify_up: tuple[str, ...] | None = None
    notify_down: tuple[str, ...] | None = None
    uthreshold: int | None = None
    lthreshold: int | None = None
    inhibit_on_failure: bool | None = None
    alpha: bool | None = None
    connect_timeout: float | None = None
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    delay_loop: float | None = None
    smtp_alert: bool | None = None  # recognised, not acted on
    virtualhost: str | None = None
    TCP_CHECK: Sequence[TcpCheckSection]
    HTTP_GET: Sequence[HttpGetSection]
    SSL_GET: Sequence[SslGetSection]
    SMTP_CHECK: Sequence[SmtpCheckSection]
    DNS_CHECK: Sequence[DnsCheckSection]
    MISC_CHECK: Sequence[MiscCheckSection]
    BFD_CHECK: Sequence[BfdCheckSection]  # recognised, not acted on
    UDP_CHECK: Sequence[UdpCheckSection]
    PING_CHECK: Sequence[PingCheckSection]
    FILE_CHECK: Sequence[FileCheckSection]

    def post(self, cx: Completion, svc: ServiceDefaults) -> RealServer | None:
        a = self.args
        try:
            ip = address(a[0])
        except ValueError:
            cx.diag.error(f"real_server: invalid address '{a[0]}' - skipping it", self.loc,
                          end_line=self.end_line)
            return None
        port = None
        if len(a) > 1:
            port = cx.port(a[1], self.loc, "real_server")
        elif svc.port is not None and svc.lvs_method != "DR":
            port = svc.port
        meth = svc.lvs_method
        if self.lvs_method is not None:
            m, _ = method(cx, self.lvs_method, self.where("lvs_method"))
            meth = m or meth
        if svc.ip is not None and svc.ip.version != ip.version and meth != "TUN":
            cx.diag.error(f"Address family of virtual server and real server {ip} don't match "
                          "- skipping real server.", self.end,
                          hint="only TUN forwards across address families")
            return None
        notify_up = self.keyword_script(cx, "notify_up")
        notify_down = self.keyword_script(cx, "notify_down")
        inh = self.inherited(svc.inherited)
        checkers: list[Checker] = []
        # keepalived's order of kinds (CHECKER_KINDS): the checkers' messages come out so
        blocks: tuple[Sequence[CheckerSection], ...] = (
            self.TCP_CHECK, self.HTTP_GET, self.SSL_GET, self.SMTP_CHECK, self.DNS_CHECK,
            self.MISC_CHECK, self.UDP_CHECK, self.PING_CHECK, self.FILE_CHECK, self.BFD_CHECK)
        for kind in blocks:
            for cc in kind:
                ch = cc.post(cx, inh)
                if ch is not None:
                    checkers.append(ch)
        if len(checkers) > 1:
            checkers.sort(key=lambda ch: (ch.loc.line if ch.loc else 0))
        return RealServer(
            ip=ip, port=port, weight=svc.weight if self.weight is None else self.weight,
            lvs_method=meth,
            inhibit_on_failure=svc.inhibit_on_failure if self.inhibit_on_failure is None
            else self.inhibit_on_failure,
            alpha=bool(inh.alpha), notify_up=notify_up, notify_down=notify_down,
            uthreshold=0 if self.uthreshold is None else self.uthreshold,
            lthreshold=0 if self.lthreshold is None else self.lthreshold,
            smtp_alert=svc.smtp_alert if self.smtp_alert is None else self.smtp_alert,
            smtp_alert_set=self.smtp_alert is not None, checkers=tuple(checkers), loc=self.loc)

    def inherited(self, vs: Inherited) -> Inherited:
        """The real server's own checker timings over its virtual server's."""
        if (self.connect_timeout is None and self.retry is None
                and self.delay_before_retry is None and self.warmup is None
                and self.delay_loop is None and self.alpha is None and self.virtualhost is None):
            return vs  # the usual case: shared, nothing made per real server
        return Inherited(
            connect_timeout=vs.connect_timeout if self.connect_timeout is None
            else self.connect_timeout,
            retry=vs.retry if self.retry is None else self.retry,
            delay_before_retry=vs.delay_before_retry if self.delay_before_retry is None
            else self.delay_before_retry,
            warmup=vs.warmup if self.warmup is None else self.warmup,
            delay_loop=vs.delay_loop if self.delay_loop is None else self.delay_loop,
            alpha=vs.alpha if self.alpha is None else self.alpha,
            virtualhost=vs.virtualhost if self.virtualhost is None else self.virtualhost)
