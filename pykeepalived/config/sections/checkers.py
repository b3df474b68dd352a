"""The health checkers of a real_server (TCP_CHECK, MISC_CHECK, ...): their keywords and
their completion into a Checker, with the timings inherited from the real and virtual server.

HTTP_GET and SSL_GET, with their url blocks, are in http_checkers.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pykeepalived.config.model import Checker
from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr
    from pykeepalived.config.sections.completion import Completion


class CheckerDefaults(NamedTuple):
    """keepalived's defaults of one checker kind."""

    kind: str
    retry: int
    delay_before_retry: float | None  # None: the checker's delay_loop


# keepalived's defaults per checker kind, in the order the checkers of a real_server are built
CHECKER_DEFAULTS: dict[str, CheckerDefaults] = {d.kind: d for d in (
    CheckerDefaults("TCP_CHECK", 1, 1.0),
    CheckerDefaults("HTTP_GET", 1, 3.0),
    CheckerDefaults("SSL_GET", 1, 3.0),
    CheckerDefaults("SMTP_CHECK", 1, 1.0),
    CheckerDefaults("DNS_CHECK", 3, None),
    CheckerDefaults("MISC_CHECK", 0, 1.0),
    CheckerDefaults("UDP_CHECK", 1, 1.0),
    CheckerDefaults("PING_CHECK", 1, 1.0),
    CheckerDefaults("FILE_CHECK", 1, 1.0),
    CheckerDefaults("BFD_CHECK", 1, 1.0),
)}
CHECKER_KINDS = tuple(CHECKER_DEFAULTS)


class Inherited(NamedTuple):
    """What a checker takes from its real_server, else from its virtual_server when it does
    not write it itself (None: neither wrote it, the kind's default applies)."""

    connect_timeout: float | None
    retry: int | None
    delay_before_retry: float | None
    warmup: float | None
    delay_loop: float
    alpha: bool | None
    virtualhost: str | None


class Timing(NamedTuple):
    """A checker's timings, inherited and defaulted."""

    delay_loop: float
    connect_timeout: float
    retry: int
    delay_before_retry: float
    warmup: float | None
    alpha: bool


def timing(d: CheckerDefaults, inh: Inherited, delay_loop: float | None,
           connect_timeout: float | None, retry: int | None, delay_before_retry: float | None,
           warmup: float | None, alpha: bool | None) -> Timing:
    """The checker's own value, else the inherited one, else the kind's default."""
    loop = float(inh.delay_loop if delay_loop is None else delay_loop)
    if connect_timeout is None:
        connect_timeout = 5.0 if inh.connect_timeout is None else inh.connect_timeout
    if retry is None:
        retry = d.retry if inh.retry is None else inh.retry
    if delay_before_retry is None:
        delay_before_retry = inh.delay_before_retry
        if delay_before_retry is None:
            dbr = d.delay_before_retry
            delay_before_retry = loop if dbr is None else dbr
    if warmup is None:
        warmup = inh.warmup
    if alpha is None:
        alpha = inh.alpha
    return Timing(loop, float(connect_timeout), int(retry), float(delay_before_retry),
                  None if warmup is None else float(warmup), bool(alpha))


class CheckerSection(Section):
    """A checker block: it completes into a Checker, or None when keepalived drops it."""

    SECTION = ""  # the kinds below
    DEFAULTS: ClassVar[CheckerDefaults]

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        raise NotImplementedError


class CheckerConnSection(CheckerSection):
    SECTION = ""  # included by the checkers
    connect_ip: IPAddr | None = None
    connect_port: int | None = None
    bindto: IPAddr | None = None
    bind_port: int | None = None
    bind_if: str | None = None
    connect_timeout: float | None = None
    fwmark: int | None = None


class CheckerGenericSection(CheckerSection):
    SECTION = ""  # included by the checkers
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    delay_loop: float | None = None
    alpha: bool | None = None
    log_all_failures: bool | None = None


class ConnCheckerSection(CheckerConnSection, CheckerGenericSection):
    """A checker that connects to its real server: TCP_CHECK and PING_CHECK complete with
    this post(); SMTP_CHECK, DNS_CHECK, UDP_CHECK, HTTP_GET and SSL_GET add their own keywords
    in theirs."""

    SECTION = ""

    def timing(self, inh: Inherited) -> Timing:
        return timing(self.DEFAULTS, inh, self.delay_loop, self.connect_timeout, self.retry,
                      self.delay_before_retry, self.warmup, self.alpha)

    def checker(self, inh: Inherited, **own: Any) -> Checker:
        """The Checker of this kind: the connection and timings every connecting kind has,
        and OWN, the model's fields of the kind's own keywords."""
        t = self.timing(inh)
        return Checker(
            kind=self.DEFAULTS.kind, connect_ip=self.connect_ip, connect_port=self.connect_port,
            bindto=self.bindto, bind_port=self.bind_port, bind_if=self.bind_if,
            connect_timeout=t.connect_timeout, fwmark=self.fwmark, retry=t.retry,
            delay_before_retry=t.delay_before_retry, delay_loop=t.delay_loop, warmup=t.warmup,
            alpha=t.alpha, log_all_failures=bool(self.log_all_failures), loc=self.loc, **own)

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        return self.checker(inh)


class TcpCheckSection(ConnCheckerSection):
    SECTION = "TCP_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["TCP_CHECK"]


class MiscCheckSection(CheckerGenericSection):
    SECTION = "MISC_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["MISC_CHECK"]
    misc_path: tuple[str, ...] | None = None
    misc_timeout: int | None = None
    misc_dynamic: bool | None = None
    user: tuple[str, ...] | None = None

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        if self.misc_path is None:
            cx.diag.error("MISC_CHECK has no misc_path - the checker is removed", self.loc)
            return None
        s = cx.block_script(self, self.misc_path, "misc_path", "MISC_CHECK", "checker",
                            f"Unable to set default user for misc script "
                            f"'{self.misc_path[0]}' - removing")
        if s is None:
            return None
        t = timing(self.DEFAULTS, inh, self.delay_loop, None, self.retry,
                   self.delay_before_retry, self.warmup, self.alpha)
        return Checker(
            kind="MISC_CHECK", connect_timeout=t.connect_timeout, retry=t.retry,
            delay_before_retry=t.delay_before_retry, delay_loop=t.delay_loop, warmup=t.warmup,
            alpha=t.alpha, log_all_failures=bool(self.log_all_failures), misc_path=s,
            misc_timeout=None if self.misc_timeout is None else float(self.misc_timeout),
            misc_dynamic=bool(self.misc_dynamic), loc=self.loc)


class SmtpCheckSection(ConnCheckerSection):
    SECTION = "SMTP_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["SMTP_CHECK"]
    helo_name: str | None = None
    host: bool | None = None

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        return self.checker(inh, helo_name=self.helo_name)


class DnsCheckSection(ConnCheckerSection):
    SECTION = "DNS_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["DNS_CHECK"]
    type: str | None = None
    name: str | None = None

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        return self.checker(inh, dns_type="SOA" if self.type is None else self.type,
                            dns_name="." if self.name is None else self.name)


class UdpCheckSection(ConnCheckerSection):
    SECTION = "UDP_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["UDP_CHECK"]
    payload: str | None = None
    require_reply: tuple[str, ...] | None = None
    min_reply_length: int | None = None
    max_reply_length: int | None = None

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        payload = None
        if self.payload is not None:
            try:
                payload = bytes.fromhex(self.payload)
            except ValueError:
                cx.diag.error("UDP_CHECK payload must be hex digits", self.where("payload"))
        rr = self.require_reply
        return self.checker(
            inh, payload=payload, require_reply=None if rr is None else rr[0] if rr else "",
            min_reply_length=0 if self.min_reply_length is None else self.min_reply_length,
            max_reply_length=255 if self.max_reply_length is None else self.max_reply_length)


class PingCheckSection(ConnCheckerSection):
    SECTION = "PING_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["PING_CHECK"]


class FileCheckSection(CheckerSection):
    SECTION = "FILE_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["FILE_CHECK"]
    track_file: str | None = None
    weight: tuple[str, ...] | None = None
    dynamic: bool | None = None  # recognised, not acted on

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        tf = self.track_file
        if tf is not None and tf not in cx.track_file_names:
            from pykeepalived.config.crosscheck import near

            cx.diag.error(f"track_file {tf} not found", self.where("track_file"),
                          hint=near(tf, cx.track_file_names, "track_file"))
            tf = None
        if tf is None:
            cx.diag.error("FILE_CHECK has no track_file specified - ignoring",
                          self.end)
            return None
        weight, reverse = None, False
        if self.weight is not None:
            weight, reverse = cx.weight(self.weight, self.where("weight"), -2147483647,
                                        2147483647, "FILE_CHECK")
        t = timing(self.DEFAULTS, inh, None, None, None, None, None, None)
        return Checker(
            kind="FILE_CHECK", connect_timeout=t.connect_timeout, retry=t.retry,
            delay_before_retry=t.delay_before_retry, delay_loop=t.delay_loop, warmup=t.warmup,
            alpha=t.alpha, track_file=tf, weight=weight, weight_reverse=reverse,
            dynamic=bool(self.dynamic), loc=self.loc)


class BfdCheckSection(CheckerSection):
    SECTION = "BFD_CHECK"
    DEFAULTS = CHECKER_DEFAULTS["BFD_CHECK"]
    name: str | None = None
    alpha: bool | None = None
    weight: tuple[str, ...] | None = None

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        t = timing(self.DEFAULTS, inh, None, None, None, None, None, self.alpha)
        return Checker(
            kind="BFD_CHECK", connect_timeout=t.connect_timeout, retry=t.retry,
            delay_before_retry=t.delay_before_retry, delay_loop=t.delay_loop, warmup=t.warmup,
            alpha=t.alpha, bfd_name=self.name, loc=self.loc)
