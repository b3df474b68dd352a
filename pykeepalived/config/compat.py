"""Where `pykeepalived -t` intentionally differs from `keepalived -t` 2.2.7, in one place.

Existing configs must keep working: what keepalived 1.x accepted and 2.x rejects is honoured
with a warning (exit 0). The differential tests read this table: a keepalived message that
matches one of these patterns is not expected to fail our check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Difference:
    pattern: str  # keepalived's -t message (regex)
    ours: str
    why: str


INTENDED_DIFFERENCES: tuple[Difference, ...] = (
    Difference(r"Unknown keyword 'nat_mask'", "warning, ignored",
               "1.x LVS configs (our users' seeds) carry it; it has had no effect since 1.2.20"),
    Difference(r"Unknown keyword 'nb_get_retry'", "warning, honoured as retry",
               "1.x configs use it in every checker; keepalived 2.x ignores it in TCP_CHECK and "
               "so retries once where the user asked for N"),
    Difference(r"nb_get_retry is deprecated", "warning, honoured as retry",
               "same keyword, HTTP_GET/SSL_GET spelling of the deprecation"),
    Difference(r"Unknown keyword 'lvs_id'", "warning, ignored", "1.x global_defs keyword"),
    Difference(r"number '0' outside range \[1, 2678400\]|persistence_timeout invalid",
               "warning: 0 means not persistent",
               "1.x configs (the seeds) write persistence_timeout 0 for 'off'"),
    Difference(r"nopreempt will not work with initial state MASTER", "warning, cleared",
               "keepalived clears it too; it is advice, not an error that should fail CI"),
    Difference(r"Unknown keyword 'lvs_sync_daemon_interface'", "warning, used as lvs_sync_daemon",
               "1.x spelling of the sync daemon interface"),
)

_RX = [re.compile(d.pattern) for d in INTENDED_DIFFERENCES]


def is_intended(message: str) -> bool:
    return any(r.search(message) for r in _RX)


# keepalived prints these under -t but they do not change its exit code (log_message, not a
# config error); we report them as warnings for the same reason. ("no scheduler set", "no
# forwarding method set", "no protocol set" and "quorum ... exceeds total weight" are not
# here: 2.2.7 -t exits 5 on each of them, and so do we.)
LOG_ONLY: tuple[str, ...] = (
    r"Config files missing",
)
_LOG_RX = [re.compile(p) for p in LOG_ONLY]


def is_log_only(message: str) -> bool:
    return any(r.search(message) for r in _LOG_RX)


# Choices where keepalived builds differ and we had to pick one verdict.
BUILD_CHOICES: tuple[Difference, ...] = (
    Difference(r"iptables not supported, using nftables instead",
               "error (exit 5), as keepalived's nftables-only builds",
               "Debian 12 (2.2.7) and Debian 13 (2.3.3) build keepalived with nftables only: "
               "`vrrp_iptables` is a config error there (it falls back to nftables) and "
               "`vrrp_ipsets` an unknown keyword. pykeepalived manages no firewall rules at all, "
               "so it cannot honour either; an error, not a silent warning, tells the user that "
               "the rules strict mode relies on will not be made. Builds with iptables support "
               "(e.g. RHEL's) accept both keywords; their configs fail our -t the same way they "
               "fail Debian's."),
)
