"""Diagnostics with file:line, severity and keepalived's `-t` exit-code class.

keepalived 2.2.7 keeps the numerically largest error class it met (security 6 wins over
config 5 over cannot-run 4) and exits 2 at once when a keyword lacks its value. We keep
collecting after a fatal error so the user sees every problem in one run, but the exit code
follows the same ranking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple


class Rc(IntEnum):
    """Exit codes of `keepalived -t` (the real 2.2.7 binary, not its man page)."""

    OK = 0
    FATAL_PARSE = 2  # a keyword is missing its value: keepalived exit()s in the parser
    CANNOT_RUN = 4  # missing file with -e, fatal config
    CONFIG = 5  # any other config error: it would run after fixing the config
    SECURITY = 6  # scripts without enable_script_security, or a mandatory include missing


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2


class Loc(NamedTuple):
    """Where a logical line came from: survives include, $PARAM and ~SEQ expansion.

    A NamedTuple, not a dataclass: one is made per config line, and this is 5x cheaper.
    """

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: Severity
    message: str
    loc: Loc | None = None
    rc: Rc = Rc.CONFIG
    end_line: int | None = None  # a diagnostic about a skipped block covers its lines
    hint: str | None = None

    def format(self) -> str:
        sev = self.severity.name.lower()
        where = f"({self.loc.file}: Line {self.loc.line}) " if self.loc else ""
        text = f"{where}{sev}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.loc.file if self.loc else None,
            "line": self.loc.line if self.loc else None,
            "end_line": self.end_line,
            "severity": self.severity.name.lower(),
            "rc": int(self.rc),
            "message": self.message,
            "hint": self.hint,
        }

    def lines(self) -> range:
        """The config lines this diagnostic speaks about (for differential tests)."""
        if self.loc is None:
            return range(0)
        return range(self.loc.line, (self.end_line or self.loc.line) + 1)


class Diagnostics:
    """Collects diagnostics; bounded so hostile input cannot exhaust memory. (A plain class:
    a dataclass costs `-t` its generated methods at import.)"""

    __slots__ = ("dropped", "items", "limit")

    def __init__(self, items: list[Diagnostic] | None = None, limit: int = 10000,
                 dropped: int = 0) -> None:
        self.items: list[Diagnostic] = [] if items is None else items
        self.limit = limit
        self.dropped = dropped

    def add(self, d: Diagnostic) -> None:
        if len(self.items) < self.limit:
            self.items.append(d)
        else:
            self.dropped += 1

    def error(
        self,
        msg: str,
        loc: Loc | None = None,
        rc: Rc = Rc.CONFIG,
        end_line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.add(Diagnostic(Severity.ERROR, msg, loc, rc, end_line, hint))

    def warning(self, msg: str, loc: Loc | None = None, hint: str | None = None) -> None:
        self.add(Diagnostic(Severity.WARNING, msg, loc, Rc.OK, None, hint))

    def info(self, msg: str, loc: Loc | None = None) -> None:
        self.add(Diagnostic(Severity.INFO, msg, loc, Rc.OK))

    def exit_code(self, strict: bool = False) -> Rc:
        """keepalived's ranking: 2 if the parser would have exited, else the largest class."""
        codes = [d.rc for d in self.items]
        if strict and any(d.severity == Severity.WARNING for d in self.items):
            codes.append(Rc.CONFIG)
        if Rc.FATAL_PARSE in codes:
            return Rc.FATAL_PARSE
        return max(codes, default=Rc.OK)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == Severity.WARNING]

    def to_json(self) -> str:
        return json.dumps([d.as_dict() for d in self.items], indent=1)
