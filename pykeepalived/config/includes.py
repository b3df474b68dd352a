"""include / includer / includem ... and include_check: which files an include line names.

keepalived expands csh braces and glob patterns relative to the including file; the include
checks (readable, match, wildcard_match, brace_match) decide whether a missing file is an
error (exit 6, or 4 with -e) or only said.
"""

from __future__ import annotations

import glob
import os
import re

from pykeepalived.config.diagnostics import Diagnostic, Diagnostics, Loc, Rc, Severity

INCLUDE_WORDS = {
    "include": frozenset(),
    "includer": frozenset({"readable"}),
    "includem": frozenset({"readable", "match"}),
    "includew": frozenset({"readable", "wildcard_match"}),
    "includeb": frozenset({"readable", "brace_match"}),
    "includea": frozenset({"readable", "match", "wildcard_match", "brace_match"}),
}
INCLUDE_CHECKS = ("readable", "match", "wildcard_match", "brace_match")


def brace_expand(pattern: str) -> list[str]:
    """csh-style {a,b} expansion, as keepalived's glob(GLOB_BRACE) does before matching."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m or "," not in m.group(1):
        return [pattern]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out.extend(brace_expand(pattern[: m.start()] + alt + pattern[m.end() :]))
    return out


def include_check(
    args: list[str], current: frozenset[str], diag: Diagnostics, loc: Loc
) -> frozenset[str]:
    """The checks after an `include_check [+|-]name...` line (no name: all of them)."""
    cur = set(current)
    if not args:
        return frozenset(INCLUDE_CHECKS)
    for a in args:
        op, name = (a[0], a[1:]) if a[:1] in "+-" else ("+", a)
        if name not in INCLUDE_CHECKS:
            diag.error(f"Unknown include_check option '{a}'", loc)
            continue
        (cur.add if op == "+" else cur.discard)(name)
    return frozenset(cur)


def include_targets(
    text: str, current: frozenset[str], pwd: str, all_config: bool, diag: Diagnostics, loc: Loc
) -> list[str]:
    """The readable files an include line names, in keepalived's order; a missing one is
    reported (an error when a check asks for it, else a warning)."""
    # braces here are csh alternatives ({a,b}), not blocks: split on whitespace only
    words = [w.strip('"') for w in text.split()]
    kw = words[0]
    if len(words) < 2:
        diag.error(f"'{kw}' needs a file name or pattern", loc)
        return []
    checks = current | INCLUDE_WORDS[kw]
    if all_config:
        checks = checks | {"readable", "match"}
    pattern = words[1]
    if not os.path.isabs(pattern):
        pattern = os.path.join(pwd, pattern)
    matched: list[str] = []
    for pat in brace_expand(pattern):
        if glob.has_magic(pat):
            matched.extend(sorted(glob.glob(pat)))
        elif os.path.exists(pat):
            matched.append(pat)
    if not matched:
        # a glob matching nothing in a directory that exists is silent in keepalived
        # (unless a check asks for a match); a missing file or directory is said
        missing_dir = any(not glob.has_magic(os.path.dirname(p))
                          and not os.path.isdir(os.path.dirname(p))
                          for p in brace_expand(pattern))
        if checks or not glob.has_magic(pattern) or missing_dir:
            _missing(words[1], loc, checks, all_config, diag)
        return []
    out = []
    for p in matched:
        if not os.access(p, os.R_OK):
            _missing(p, loc, checks, all_config, diag)
            continue
        out.append(p)
    return out


def _missing(
    name: str, loc: Loc, checks: frozenset[str], all_config: bool, diag: Diagnostics
) -> None:
    if checks:
        # keepalived exits before the config test: KEEPALIVED_EXIT_NO_CONFIG (6)
        rc = Rc.CANNOT_RUN if all_config else Rc.SECURITY
        diag.error(f"Config files missing '{name}'.", loc, rc)
    else:
        # keepalived prints this but a plain include does not change the exit status
        msg = f"Config files missing '{name}'."
        diag.add(Diagnostic(Severity.WARNING, msg, loc, Rc.OK))
