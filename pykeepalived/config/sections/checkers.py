"""The health checkers of a real_server (TCP_CHECK, HTTP_GET, ... ) and HTTP_GET's url."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr


class CheckerConnSection(Section):
    SECTION = ""  # included by the checkers
    connect_ip: IPAddr | None = None
    connect_port: int | None = None
    bindto: IPAddr | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    connect_timeout: float | None = None
    fwmark: int | None = None


class CheckerGenericSection(Section):
    SECTION = ""  # included by the checkers
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    delay_loop: float | None = None
    alpha: bool | None = None
    log_all_failures: bool | None = None


class TcpCheckSection(CheckerConnSection, CheckerGenericSection):
    SECTION = "TCP_CHECK"


class HttpGetSection(CheckerConnSection, CheckerGenericSection):
    SECTION = "HTTP_GET"
    url: list[UrlSection]
    virtualhost: str | None = None
    http_protocol: str | None = None
    fast_recovery: bool | None = None  # recognised, not acted on


class SslGetSection(HttpGetSection):
    SECTION = "SSL_GET"
    enable_sni: bool | None = None
    tls_compliant: bool | None = None


class UrlSection(Section):
    SECTION = "url"
    path: str | None = None
    digest: str | None = None
    status_code: tuple[str, ...] | None = None
    virtualhost: str | None = None
    regex: str | None = None
    regex_no_match: bool | None = None
    tls_compliant: bool | None = None


class MiscCheckSection(CheckerGenericSection):
    SECTION = "MISC_CHECK"
    misc_path: tuple[str, ...] | None = None
    misc_timeout: int | None = None
    misc_dynamic: bool | None = None
    user: tuple[str, ...] | None = None


class SmtpCheckSection(CheckerConnSection, CheckerGenericSection):
    SECTION = "SMTP_CHECK"
    helo_name: str | None = None
    host: bool | None = None


class DnsCheckSection(CheckerConnSection, CheckerGenericSection):
    SECTION = "DNS_CHECK"
    type: str | None = None
    name: str | None = None


class UdpCheckSection(CheckerConnSection, CheckerGenericSection):
    SECTION = "UDP_CHECK"
    payload: str | None = None
    require_reply: tuple[str, ...] | None = None
    min_reply_length: int | None = None
    max_reply_length: int | None = None


class PingCheckSection(CheckerConnSection, CheckerGenericSection):
    SECTION = "PING_CHECK"


class FileCheckSection(Section):
    SECTION = "FILE_CHECK"
    track_file: str | None = None
    weight: tuple[str, ...] | None = None
    dynamic: bool | None = None  # recognised, not acted on


class BfdCheckSection(Section):
    SECTION = "BFD_CHECK"
    name: str | None = None
    alpha: bool | None = None
    weight: tuple[str, ...] | None = None
