"""Diagnostics in the order keepalived reports them, so our first message is keepalived's.

keepalived -t reads the config once per process: the parent's pass (global_defs and anything
at the top level it does not know), then the checker's (virtual_server...), the VRRP
process's (vrrp_instance, vrrp_script, static_*...), and BFD's. Each pass reports as it
reads, line by line, then the checks it makes once the config is read (most without a line).
We find every problem in one go, in our own order; this puts them in keepalived's: pass,
then read-time before after-read, then the position in the config as read (includes and
$NAME expansions in place).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from pykeepalived.config.diagnostics import Diagnostic, Diagnostics, Loc
from pykeepalived.config.reader import LogicalLine

GLOBAL, CHECKER, VRRP, BFD, UNPLACED = range(5)
_PASS_OF = {
    "virtual_server": CHECKER, "virtual_server_group": CHECKER, "SSL": CHECKER,
    "vrrp_instance": VRRP, "vrrp_sync_group": VRRP, "vrrp_script": VRRP,
    "vrrp_track_process": VRRP, "track_file": VRRP, "vrrp_track_file": VRRP,
    "static_ipaddress": VRRP, "static_routes": VRRP, "static_rules": VRRP,
    "garp_group": VRRP, "track_group": VRRP, "linkbeat_interfaces": VRRP,
    "interface_up_down_delays": VRRP,
    "bfd_instance": BFD,
}


# What keepalived 2.2.7 reports once a pass has read the config, without a line (seen in its
# -t output on the real-world corpus): ours say the same things, found while building
AFTER_READ = re.compile("|".join((
    r"Disabling track script \S+ since not found", r"ports don't match",
    r"A unicast keyword has been specified without any unicast peers", r"SECURITY VIOLATION",
    r"Non-existent interface specified", r"No VIP specified",
    r"exceeds total weight of real servers", r"has port specified",
    r"Ignoring track_interface \S+ since own interface", r"missing '}'s or extra '{'s",
    r"no forwarding method set", r"ignoring weight from tracked file", r"Unknown interface!",
    r"no protocol set", r"protocol specified for fwmark",
    r"is configured on VRRP instance and sync group", r"no scheduler set",
    r"nopreempt will not work with initial state MASTER",
    r"promote_secondaries is automatically set for vmacs", r"has no real servers",
    r"Sync group \S+ has only", r"VIP address must be link local",
    r"does not support authentication", r"tracked interface weight due to SYNC group",
    r"Number of VIPs .* exceeds", r"nopreempt is incompatible with priority",
    r"due to address_owner", r"advertisement interval .* must be in units of",
    r"advertisement interval .* is out of range", r"both use VRID",
    r"matches sorry server", r"the virtual router id must be set")))


# found by our after-read cross-checks, but reported by keepalived as it closes the block
AT_BLOCK_END = re.compile(r"\S+ not found, ignoring\.\.\.$")


def _passes(lines: Sequence[LogicalLine], needed: set[Loc]) -> tuple[dict[Loc, int],
                                                                      dict[Loc, int]]:
    """For the file:lines in `needed`: the pass that reports each, and the position of its
    first logical line. The passes other than the one a top-level block belongs to skip it
    by counting braces, so this follows the braces as written, not the grammar's tree: lines
    after a `}` that an unexpected `{` left over (read one level up) are still reported by
    the block's own pass. Only the needed lines are kept: a 90k-line config has a handful."""
    pass_of: dict[Loc, int] = {}
    exact: dict[Loc, int] = {}
    depth = 0
    cur = GLOBAL
    o_words, c_words = ("{",), ("}",)
    for pos, ln in enumerate(lines):
        w = ln.words
        if w == o_words:
            depth += 1
        elif w == c_words:
            if not depth:
                cur = GLOBAL  # an extra '}': dropped before the grammar, the parent's to report
            depth = max(depth - 1, 0)
        elif not depth:
            cur = _PASS_OF.get(w[0] if w else "", GLOBAL)
        loc = ln.loc
        if loc in needed and loc not in exact:
            exact[loc] = pos
            pass_of[loc] = cur
    return pass_of, exact


class _Positions:
    """Where a file:line sits in the config as read; lines that are no logical line (an
    include, a comment) sit just after the logical line before them in the same file."""

    def __init__(self, lines: Sequence[LogicalLine], exact: dict[Loc, int],
                 others: set[Loc]) -> None:
        self.exact = exact
        # the files of the lines that are no logical line: their logical lines, in order
        files = {loc.file for loc in others}
        per_file: dict[str, list[tuple[int, int]]] = {}
        seen: set[Loc] = set()
        if files:
            for pos, ln in enumerate(lines):
                loc = ln.loc
                if loc.file in files and loc not in seen:
                    seen.add(loc)
                    per_file.setdefault(loc.file, []).append((loc.line, pos))
        self.per_file = {f: sorted(v) for f, v in per_file.items()}

    def __call__(self, loc: Loc) -> float:
        pos = self.exact.get(loc)
        if pos is not None:
            return float(pos)
        known = self.per_file.get(loc.file)
        if not known:
            return -1.0  # a file read without a logical line (an include that failed)
        i = bisect.bisect_right(known, (loc.line, 1 << 62))
        return known[i - 1][1] + 0.5 if i else known[0][1] - 0.5


def order_like_keepalived(diag: Diagnostics, lines: Sequence[LogicalLine],
                          after_from: int) -> None:
    """Reorder diag.items in place. Items from index `after_from` on were found once the
    config was read (cross-checks, script checks), and so were those AFTER_READ matches: they
    follow their pass's read-time ones."""
    if len(diag.items) < 2:
        return
    needed = {d.loc for d in diag.items if d.loc is not None}
    pass_of, exact = _passes(lines, needed)
    position = _Positions(lines, exact, needed - exact.keys())

    def key(item: tuple[int, Diagnostic]) -> tuple[int, int, float]:
        i, d = item
        after = int((i >= after_from and not AT_BLOCK_END.search(d.message))
                    or AFTER_READ.search(d.message) is not None)
        if d.loc is None:
            return (UNPLACED, after, float(i))
        return (pass_of.get(d.loc, GLOBAL), after, position(d.loc))

    diag.items[:] = [d for _, d in sorted(enumerate(diag.items), key=key)]
