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
    Difference(r"cannot track route .* with no interface specified, not tracking",
               "warning: the route is installed, not tracked",
               "2.2.7 exits 5 on a route without `dev` (blackhole, a nexthop's dev), 2.3.3 "
               "accepts it silently; we follow 2.3.3 (VERSION_DIFFERENCES) and say it once"),
    Difference(r"Unknown keyword '(state|stats|json)_file_location'", "honoured as *_dump_file",
               "keepalived 2.3.3's man page documents these names while its binary only knows "
               "state/stats/json_dump_file: a config written from the man page must work"),
    Difference(r"Unknown keyword 'auth_hmac'", "warning: recognised, not implemented",
               "a keepalived 2.4 block (HMAC-signed adverts); 2.3.3 rejects it and then reads "
               "the rest of the instance as unknown keywords"),
    Difference(r"Unknown keyword 'vrrp_delay_after_boot'", "warning: recognised, not implemented",
               "a keepalived 2.4 global keyword"),
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


# Choices where keepalived builds differ and we had to pick one verdict. Documentation only:
# we give the same verdict as Debian's build, so no test needs to excuse a difference here.
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

# -- keepalived 2.2.7 (Debian 12) against 2.3.3 (Debian 13) ---------------------------------
# Where the two oracles answer differently on the same config. The rule (issue 11): follow the
# newer unless that breaks an existing config. tests/config/test_differential_kad233.py runs
# both on the test corpora and fails on a difference not listed here.
@dataclass(frozen=True, slots=True)
class VersionDifference:
    pattern: str  # the message (regex) only one version prints
    only_in: str  # "2.2.7" or "2.3.3"
    follow: str  # the version whose verdict pykeepalived keeps
    rc_changes: bool  # whether the message changes that version's exit code
    ours: str
    why: str


VERSION_DIFFERENCES: tuple[VersionDifference, ...] = (
    VersionDifference(
        r"VIP duplicates a VIP .* - ignoring", "2.3.3", "2.2.7", True,
        "warning: the repeated address is used once",
        "2.3.3 counts a VIP written twice in one instance as a config error (exit 5); "
        "keepalived's own sample keepalived.conf.vrrp does it, so failing would break "
        "configs that 2.2.7 runs; the address is the same either way"),
    VersionDifference(
        r"cannot track route .* with no interface specified, not tracking", "2.2.7", "2.3.3",
        True, "warning: a route without dev is installed, not tracked",
        "2.3.3 dropped the message; for 2.2.7 it is a config error (exit 5) when it is the "
        "only one (tests/data/diff/d50): accepting breaks no config"),
    VersionDifference(
        r"Sync group \S+ has no (virtual router\(s\)|members)", "2.2.7", "2.3.3", False,
        "error, same exit code", "2.3.3 reworded 'has no virtual router(s). removing' as "
        "'has no members - removing'; same verdict"),
    VersionDifference(
        r"Sync group \S+ has no members - removing", "2.3.3", "2.3.3", False,
        "error, same exit code", "the 2.3.3 wording of the message above"),
    VersionDifference(
        r"Disabling track script \S+ since not found/accessible", "2.3.3", "2.3.3", False,
        "the track script is disabled with the security error",
        "2.3.3 adds a second line for a script the security check already rejected"),
    VersionDifference(
        r"Disabling track script \S+ due to insecure", "2.3.3", "2.2.7", True,
        "the script is judged on its target (/bin/true is /usr/bin/true, root's, 0755)",
        "2.3.3 also rejects a script reached through a symlinked directory such as /bin -> "
        "usr/bin (merged /usr, every current Debian): that would fail 'script /bin/true' "
        "configs 2.2.7 runs; where the script itself is insecure both say so"),
    VersionDifference(
        r"realpath\(\) error 2 \(No such file or directory\) for", "2.3.3", "2.2.7", True,
        "accepted: the file is read once it exists",
        "2.3.3 fails a track_file whose file does not exist yet (kdt/1808: "
        "/var/run/keepalived/fp-tracker); such files are usually written at run time by "
        "another service, and 2.2.7 accepts them"),
    VersionDifference(
        r"keepalived -t did not finish", "2.3.3", "2.2.7", True,
        "legacy warning, as 2.2.7 accepts it",
        "2.3.3 loops forever on SMTP_CHECK with a 'host { connect_ip ... }' sub-block "
        "(keepalived's own keepalived.conf.SMTP_CHECK sample); 2.2.7 accepts it"),
)
_VERSION_RX = [(re.compile(d.pattern), d) for d in VERSION_DIFFERENCES]


def version_difference(message: str, only_in: str) -> VersionDifference | None:
    """The recorded 2.2.7/2.3.3 difference a message printed by one version only belongs to."""
    return next((d for r, d in _VERSION_RX if d.only_in == only_in and r.search(message)), None)


def is_intended_for(message: str, oracle: str) -> bool:
    """is_intended, plus the version differences where we keep the *other* version's verdict."""
    if is_intended(message):
        return True
    d = version_difference(message, oracle)
    return d is not None and d.follow != oracle
