"""HTTP_GET and SSL_GET, and their url blocks: what a healthy answer looks like."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

from pykeepalived.config.model import Checker, Url
from pykeepalived.config.sections.checkers import CHECKER_DEFAULTS, ConnCheckerSection, Inherited
from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.sections.completion import Completion

# the model's default answer (2xx) when a url writes no status_code of its own
OK_CODES: tuple[tuple[int, int], ...] = next(
    f.default for f in fields(Url) if f.name == "status_code")  # type: ignore[misc]


class HttpGetSection(ConnCheckerSection):
    SECTION = "HTTP_GET"
    DEFAULTS = CHECKER_DEFAULTS["HTTP_GET"]
    url: Sequence[UrlSection]
    virtualhost: str | None = None
    http_protocol: str | None = None
    fast_recovery: bool | None = None  # recognised, not acted on

    def tls(self) -> tuple[bool, bool]:
        """enable_sni, tls_compliant: SSL_GET's."""
        return False, False

    def post(self, cx: Completion, inh: Inherited) -> Checker | None:
        kind = self.DEFAULTS.kind
        urls = []
        for u in self.url:
            if u.path is None:
                cx.diag.error(f"{kind}: url block without path - ignoring it", u.loc)
                continue
            urls.append(u.post(cx, u.path))
        if not urls:
            cx.diag.error(f"{kind} has no url - the checker is removed", self.loc,
                          hint="add: url { path / }")
            return None
        sni, tls_compliant = self.tls()
        return self.checker(
            inh, urls=tuple(urls),
            virtualhost=inh.virtualhost if self.virtualhost is None else self.virtualhost,
            http_protocol="1.0" if self.http_protocol is None else self.http_protocol,
            enable_sni=sni, tls_compliant=tls_compliant, fast_recovery=bool(self.fast_recovery))


class SslGetSection(HttpGetSection):
    SECTION = "SSL_GET"
    DEFAULTS = CHECKER_DEFAULTS["SSL_GET"]
    enable_sni: bool | None = None
    tls_compliant: bool | None = None

    def tls(self) -> tuple[bool, bool]:
        return bool(self.enable_sni), bool(self.tls_compliant)


class UrlSection(Section):
    SECTION = "url"
    path: str | None = None
    digest: str | None = None
    status_code: tuple[str, ...] | None = None
    virtualhost: str | None = None
    regex: str | None = None
    regex_no_match: bool | None = None
    tls_compliant: bool | None = None

    def post(self, cx: Completion, path: str) -> Url:
        """The url, its path given (a url block without one is dropped by its checker)."""
        digest = None
        if self.digest is not None:
            dg = self.digest.lower()
            if len(dg) != 32 or any(ch not in "0123456789abcdef" for ch in dg):
                cx.diag.error(f"digest '{self.digest}' is not an MD5 hex digest",
                              self.where("digest"), hint="compute it with: pykeepalived -T URL")
            else:
                digest = dg
        codes: list[tuple[int, int]] = []
        for tok in self.status_code or ():
            lo_s, _, hi_s = tok.partition("-")
            try:
                lo_n, hi_n = int(lo_s), int(hi_s or lo_s)
            except ValueError:
                cx.diag.error(f"status_code '{tok}' is not a number or range",
                              self.where("status_code"))
                continue
            if not (100 <= lo_n <= hi_n <= 599):
                cx.diag.error(f"status_code '{tok}' outside 100-599", self.where("status_code"))
                continue
            codes.append((lo_n, hi_n))
        return Url(path=path, digest=digest, status_code=tuple(codes) if codes else OK_CODES,
                   virtualhost=self.virtualhost, regex=self.regex,
                   regex_no_match=bool(self.regex_no_match),
                   tls_compliant=bool(self.tls_compliant), loc=self.loc)
