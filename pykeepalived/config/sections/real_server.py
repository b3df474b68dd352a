"""real_server: one IPVS destination and the checkers that decide its weight."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.sections.checkers import (
        BfdCheckSection,
        DnsCheckSection,
        FileCheckSection,
        HttpGetSection,
        MiscCheckSection,
        PingCheckSection,
        SmtpCheckSection,
        SslGetSection,
        TcpCheckSection,
        UdpCheckSection,
    )


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
    TCP_CHECK: list[TcpCheckSection]
    HTTP_GET: list[HttpGetSection]
    SSL_GET: list[SslGetSection]
    SMTP_CHECK: list[SmtpCheckSection]
    DNS_CHECK: list[DnsCheckSection]
    MISC_CHECK: list[MiscCheckSection]
    BFD_CHECK: list[BfdCheckSection]  # recognised, not acted on
    UDP_CHECK: list[UdpCheckSection]
    PING_CHECK: list[PingCheckSection]
    FILE_CHECK: list[FileCheckSection]
