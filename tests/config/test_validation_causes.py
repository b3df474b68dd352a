"""keepalived 2.2.7's -t verdicts on validation-level causes, one config per cause.

The configs are tests/data/diff/d12..d38 (the live differential test runs them against the
real binary too). The expected exit code, message gist and line below were recorded from
`ip netns exec NS unshare --pid --fork keepalived -t -f FILE` (Debian 12's 2.2.7, nftables-only
build) in a namespace holding eth0 and eth1, on a host without a keepalived_script user;
line None: keepalived gives no line for that message. Here the host is injected (HostInfo),
so these run anywhere in milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.configs import load_text
from helpers.paths import DATA

from pykeepalived.config import LoadOptions, LoadResult, load_config
from pykeepalived.config.compat import is_intended
from pykeepalived.config.diagnostics import Severity
from pykeepalived.config.host import HostInfo

DIFF = DATA / "diff"
HOST = HostInfo(frozenset({"eth0", "eth1", "lo"}), users=frozenset({"root"}),
                groups=frozenset({"root"}), hosts=frozenset({"localhost"}))

# file -> (keepalived's exit code, its first message (regex), its line or None)
RECORDED: dict[str, tuple[int, str, int | None]] = {
    "d12-bfd-no-neighbor.conf":
        (5, r"BFD instance b1 has no neighbor address set, disabling instance", 4),
    "d13-track-own-interface.conf":
        (5, r"\(VI_1\) Ignoring track_interface eth0 since own interface", None),
    "d14-unicast-src-no-peers.conf":
        (5, r"\(VI_1\) A unicast keyword has been specified without any unicast peers", None),
    "d15-unicast-ttl-no-peers.conf":
        (5, r"\(VI_1\): Cannot use unicast_ttl without unicast peers - resetting", 10),
    "d16-mcast-dst-with-unicast.conf":
        (5, r"\(VI_1\) multicast destination specified with unicast - ignoring", None),
    "d17-sync-group-one-member.conf":
        (5, r"Sync group G1 has only 1 virtual router\(s\)", None),
    "d18-vs-no-scheduler.conf":
        (5, r"Virtual server \[203\.0\.113\.10\]:tcp:80: no scheduler set, setting default "
            "'wlc'", None),
    "d19-vs-no-method.conf":
        (5, r"Virtual server \[203\.0\.113\.10\]:tcp:80: no forwarding method set", None),
    "d20-vs-no-protocol.conf":
        (5, r"Virtual server \[203\.0\.113\.10\]:none:80: no protocol set - defaulting to UDP",
         None),
    "d21-vs-quorum-over-weight.conf":
        (5, r"quorum 5 for \[203\.0\.113\.10\]:tcp:80 exceeds total weight of real servers 1",
         None),
    "d22-vs-protocol-lowercase.conf": (0, "", None),
    "d23-vs-protocol-unknown.conf": (5, r"Unknown protocol foo - ignoring", 5),
    "d24-vsg-no-protocol.conf":
        (5, r"Virtual server \[G\]:0: no protocol set - defaulting to UDP", None),
    "d25-script-security-default-user.conf":
        (5, r"Unable to set default user keepalived_script for script", 8),
    "d26-script-security-misc-default-user.conf":
        (5, r"Unable to set default user keepalived_script for script", 10),
    "d27-vmac-name-exists.conf":
        (5, r"\(VI_1\) interface eth1 already exists and is not a private macvlan; ignoring "
            "vmac if_name", 6),
    "d28-vmac-name-twice.conf":
        (5, r"\(VI_2\) VRRP instance VI_1 is already using vmac51 - ignoring name", 15),
    "d29-vrrp-iptables.conf": (5, r"iptables not supported", 3),
    "d30-route-via-family.conf": (0, "", None),
    "d31-route-mixed-family.conf": (5, r"Cannot mix IPv4 and IPv6 addresses for route", 7),
    "d32-vrid-mcast-dst-differs.conf": (0, "", None),
    "d33-vrid-mcast-dst-default.conf":
        (5, r"VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0", None),
    "d34-vrid-unicast-peers.conf":
        (5, r"\(VI_1\) duplicate VRID conflict with VI_3 VRID 51", None),
    "d35-nopreempt-owner.conf":
        (5, r"\(VI_1\) nopreempt is incompatible with priority 255. resetting nopreempt", None),
    "d36-v3-advert-10ms.conf":
        (5, r"\(VI_1\) VRRPv3 advertisement interval 0.333000s must be in units of 10ms", None),
    "d37-unicast-vmac-xmit-base.conf":
        (5, r"\(VI_1\) unicast with use_vmac requires vmac_xmit_base - setting", 13),
    "d38-duplicate-tracking-blocks.conf": (0, "", None),
    # keepalived says "Error setting global script uid/gid"; we name the user or group
    "d39-script-user-missing.conf": (5, r"script_user: user 'nosuchuser' does not exist", 4),
    "d40-script-group-missing.conf": (5, r"script_user: group 'nosuchgroup' does not exist", 4),
    "d41-route-unknown-word.conf": (5, r"VRRP parsed invalid IP link. skipping IP", 10),
    "d42-route-options.conf":
        (5, r"Route cannot be tracked if protocol is not RTPROT_KEEPALIVED\(18\)", 4),
    "d43-up-down-delay-missing-if.conf":
        (4, r"unknown interface eth9 specified for up/down delay", 4),
    "d44-missing-if-checker-scripts.conf":
        (6, r"SECURITY VIOLATION - (check )?scripts are being executed", None),
    "d45-empty-startup-script.conf": (5, r"startup script missing", 4),
    "d46-bfd-keywords.conf": (0, "", None),
    "d47-garp-repeat-zero.conf":
        (5, r"vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1", 3),
    "d48-smtp-server-unresolvable.conf": (5, r"Invalid smtp server localhost4.invalid 25", 3),
    "d49-vmac-unicast-no-peers.conf":
        (5, r"\(VI_1\) unicast with use_vmac requires vmac_xmit_base - setting", 11),
    # an intended difference (2.3.3 accepts it): we pass with a warning
    "d50-route-nexthop-dev.conf":
        (5, r"cannot track route 203.0.113.0/24 with no interface specified, not tracking", 3),
    "d51-ipv6-scope-label.conf":
        (5, r"Cannot specify scope for IPv6 addresses \(fe80::11/64\) - ignoring scope", 9),
    "d52-vrf-interface.conf": (5, r"\(VI_1\) WARNING - VRF interface vrf-1 doesn't exist", 3),
    "d53-missing-if-stops-completion.conf":
        (5, r"WARNING - interface eth9 for ip address 192.0.2.12", 23),
    "d54-sync-group-tracking.conf": (5, r"\(G\) track script nosuch not found, ignoring", 24),
    "d55-sync-group-track-interface.conf":
        (5, r"\(G\) tracked interface eth9 doesn't exist", 24),
    "d56-file-check-track-file.conf": (5, r"track_file nosuchtf not found", 12),
    "d57-rs-family-mismatch.conf":
        (5, r"Address family of virtual server and real server 2001:db8::21 don't match", 9),
    "d58-empty-vsg.conf": (5, r"virtual server group empty has no entries - removing", 3),
    "d59-script-words.conf": (0, "", None),
    # keepalived: "Failed to set uid/gid for misc checker script '/usr/bin/true' - removing"
    "d60-script-own-user-missing.conf":
        (5, r"MISC_CHECK user: user 'nosuchuser' does not exist - removing the checker", 29),
    "d61-garp-group.conf":
        (5, r"WARNING - interface eth9 specified for garp_group doesn't exist", 13),
    "d62-scheduler-flag-line.conf": (5, r"sh-port'? only applies to (the )?sh scheduler", 7),
}


# files where keepalived's messages come from two passes: any of its lines may come first here
ORDER_FREE: dict[str, set[int]] = {"d42-route-options.conf": {4, 18},
                                   "d39-script-user-missing.conf": {4},
                                   "d40-script-group-missing.conf": {4},
                                   # keepalived names an interfaces block's closing brace
                                   # (13), we the line of the entry (11, covering to 14)
                                   "d61-garp-group.conf": {11}}


def _load_text(tmp_path: Path, text: str, host: HostInfo) -> LoadResult:
    p = tmp_path / "keepalived.conf"
    p.write_text(text)
    return load_config(str(p), LoadOptions(host=host))


def _load(name: str) -> tuple[int, list[tuple[int | None, str]]]:
    res = load_config(str(DIFF / name), LoadOptions(host=HOST))
    errs = [(d.loc.line if d.loc else None, d.message) for d in res.diagnostics.items
            if d.severity == Severity.ERROR]
    return int(res.exit_code()), errs


def test_every_recorded_config_exists() -> None:
    assert sorted(RECORDED) == sorted(p.name for p in DIFF.glob("d*.conf")
                                      if p.name >= "d12")


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_verdict_as_keepalived_2_2_7(name: str) -> None:
    krc, gist, kline = RECORDED[name]
    rc, errs = _load(name)
    ends = {(d.loc.line if d.loc else None, d.message): d.end_line or (d.loc.line if d.loc else 0)
            for d in load_config(str(DIFF / name), LoadOptions(host=HOST)).diagnostics.items}
    if is_intended(gist.replace("\\", "")):  # listed in compat.py: ours passes, with a warning
        assert (rc, errs) == (0, []), errs
        res = load_config(str(DIFF / name), LoadOptions(host=HOST))
        assert [d.loc.line for d in res.diagnostics.warnings
                if d.loc and re.search(gist, d.message)] == [kline]
        return
    assert rc == krc, errs
    if not gist:
        assert errs == []
        return
    # keepalived's message is ours too, on its line when it gives one; and it comes first
    hits = [(ln, m) for ln, m in errs if re.search(gist, m)]
    assert hits, errs
    if kline is not None:  # on its line, or a block of ours covering it
        assert kline in {n for ln, m in hits if ln for n in range(ln, ends[(ln, m)] + 1)}, errs
        assert errs[0][0] in ORDER_FREE.get(name, {kline}), errs


def test_script_user_or_keepalived_script_user_makes_scripts_runnable(tmp_path: Path
                                                                      ) -> None:
    """keepalived 2.2.7 exits 0 on d25/d26 with `script_user root` added; with the
    keepalived_script user present the default user is that one."""
    for name in ("d25-script-security-default-user.conf",
                 "d26-script-security-misc-default-user.conf"):
        text = (DIFF / name).read_text().replace(
            "    enable_script_security\n", "    enable_script_security\n    script_user root\n")
        assert "script_user root" in text
        res = _load_text(tmp_path, text, HOST)
        assert int(res.exit_code()) == 0, [d.format() for d in res.diagnostics.items]
        host = HostInfo(HOST.interfaces, users=frozenset({"root", "keepalived_script"}))
        res = load_config(str(DIFF / name), LoadOptions(host=host))
        assert int(res.exit_code()) == 0, [d.format() for d in res.diagnostics.items]


def test_default_user_is_a_host_check(tmp_path: Path) -> None:
    """--no-host-checks (check_scripts=False) does not ask this host for users."""
    text = (DIFF / "d25-script-security-default-user.conf").read_text()
    res = load_text(tmp_path, text, scripts=False)
    assert not [d for d in res.diagnostics.items if "default user" in d.message]
    assert res.config.vrrp_instances[0].track_script  # chk is kept
    named = text.replace('"/usr/bin/true"\n}', '"/usr/bin/true"\n    user nobody-pyk\n}')
    assert named != text
    res = load_text(tmp_path, named, scripts=False)
    assert not [d for d in res.diagnostics.items if "does not exist" in d.message]


def test_script_and_misc_path_take_their_first_word_only() -> None:
    """keepalived 2.2.7 runs only the first word of an unquoted `script` (seen by running it:
    `script /usr/bin/touch FILE` ran touch without FILE); no later word is a user."""
    res = load_config(str(DIFF / "d59-script-words.conf"), LoadOptions(host=HOST))
    cfg = res.config
    assert cfg.vrrp_scripts[0].script.argv == ("/usr/bin/true",)
    assert cfg.vrrp_scripts[0].script.user is None
    misc = cfg.virtual_servers[0].real_servers[0].checkers[0].misc_path
    assert misc is not None and misc.argv == ("/usr/bin/true",)
    assert len(res.diagnostics.warnings) == 2


def test_missing_interface_stops_the_vrrp_completion_checks() -> None:
    """d53 as keepalived 2.2.7: one error, and the model is still corrected."""
    res = load_config(str(DIFF / "d53-missing-if-stops-completion.conf"), LoadOptions(host=HOST))
    assert [d.message for d in res.diagnostics.errors] == [
        "WARNING - interface eth9 for ip address 192.0.2.12 doesn't exist"]
    assert res.config.vrrp_instances[0].sync_group == "G"
    # the same config with eth9 there: every completion check speaks
    host = HostInfo(frozenset({"eth0", "eth1", "eth9"}))
    res = load_config(str(DIFF / "d53-missing-if-stops-completion.conf"), LoadOptions(host=host))
    assert len(res.diagnostics.errors) == 3, [d.format() for d in res.diagnostics.items]


def test_script_with_a_missing_own_user_is_removed() -> None:
    cfg = load_config(str(DIFF / "d60-script-own-user-missing.conf"), LoadOptions(host=HOST)).config
    assert cfg.vrrp_scripts == () and cfg.vrrp_instances[0].track_script == ()
    assert cfg.virtual_servers[0].real_servers[0].checkers == ()


def test_unusable_script_user_drops_scripts_naming_no_user() -> None:
    """d39/d40 as keepalived 2.2.7: the notify script is dropped too (no security verdict)."""
    for name in ("d39-script-user-missing.conf", "d40-script-group-missing.conf"):
        cfg = load_config(str(DIFF / name), LoadOptions(host=HOST)).config
        assert cfg.vrrp_scripts == ()
        assert cfg.vrrp_instances[0].notify_master is None
        assert cfg.virtual_servers[0].real_servers[0].checkers == ()


def test_bare_param_match_is_exact_on_the_full_command() -> None:
    cfg = load_config(str(DIFF / "d45-empty-startup-script.conf"), LoadOptions(host=HOST)).config
    procs = {p.name: (p.param_match, p.full_command) for p in cfg.track_processes}
    assert procs == {"p1": ("exact", False), "p2": ("exact", True)}
    assert cfg.global_defs.startup_script is None


def test_removed_script_and_checker_are_gone_from_the_model() -> None:
    res = load_config(str(DIFF / "d25-script-security-default-user.conf"),
                      LoadOptions(host=HOST))
    assert res.config.vrrp_scripts == ()
    assert res.config.vrrp_instances[0].track_script == ()
    res = load_config(str(DIFF / "d26-script-security-misc-default-user.conf"),
                      LoadOptions(host=HOST))
    rss = res.config.virtual_servers[0].real_servers
    assert [len(r.checkers) for r in rss] == [0, 1]  # the one with `user root` stays


def test_model_follows_keepalived_corrections() -> None:
    """What keepalived does after each message: the value it carries on with."""
    cfg = load_config(str(DIFF / "d13-track-own-interface.conf"),
                      LoadOptions(host=HOST)).config
    assert cfg.vrrp_instances[0].track_interface == ()
    cfg = load_config(str(DIFF / "d16-mcast-dst-with-unicast.conf"),
                      LoadOptions(host=HOST)).config
    assert cfg.vrrp_instances[0].mcast_dst_ip is None
    cfg = load_config(str(DIFF / "d22-vs-protocol-lowercase.conf"),
                      LoadOptions(host=HOST)).config
    assert cfg.virtual_servers[0].protocol == "TCP"
    cfg = load_config(str(DIFF / "d28-vmac-name-twice.conf"), LoadOptions(host=HOST)).config
    assert [i.use_vmac for i in cfg.vrrp_instances] == ["vmac51", "vrrp.52"]
    cfg = load_config(str(DIFF / "d27-vmac-name-exists.conf"), LoadOptions(host=HOST)).config
    assert cfg.vrrp_instances[0].use_vmac == "vrrp.51"
    cfg = load_config(str(DIFF / "d37-unicast-vmac-xmit-base.conf"),
                      LoadOptions(host=HOST)).config
    assert cfg.vrrp_instances[0].vmac_xmit_base
    cfg = load_config(str(DIFF / "d30-route-via-family.conf"), LoadOptions(host=HOST)).config
    assert [(r.family, r.via) for r in cfg.vrrp_instances[0].virtual_routes] == \
        [(6, "2001:db8::1"), (4, "192.0.2.1")]
    assert cfg.static_routes[0].via == "2001:db8::1"


def test_existing_private_macvlan_may_be_the_vmac(tmp_path: Path) -> None:
    """keepalived 2.2.7 accepted `use_vmac mv0` when mv0 was a private macvlan (rc 0)."""
    host = HostInfo(frozenset({"eth0", "eth1", "mv0"}), macvlans=frozenset({"mv0"}))
    text = (DIFF / "d27-vmac-name-exists.conf").read_text().replace("use_vmac eth1",
                                                                    "use_vmac mv0")
    res = _load_text(tmp_path, text, host)
    assert int(res.exit_code()) == 0, [d.format() for d in res.diagnostics.items]
    assert res.config.vrrp_instances[0].use_vmac == "mv0"


def test_own_interface_missing_is_not_also_reported_as_tracked_own(tmp_path: Path) -> None:
    """keepalived 2.2.7 (corpus kdt/1813): with the instance's interface missing, only the
    missing-interface messages, not 'Ignoring track_interface ... since own interface'."""
    host = HostInfo(frozenset({"eth1"}))
    text = (DIFF / "d13-track-own-interface.conf").read_text()
    res = _load_text(tmp_path, text, host)
    assert not [d for d in res.diagnostics.items if "since own interface" in d.message]


@pytest.mark.parametrize("name", ["d27-vmac-name-exists.conf", "d43-up-down-delay-missing-if.conf",
                                  "d48-smtp-server-unresolvable.conf", "d52-vrf-interface.conf",
                                  "d55-sync-group-track-interface.conf",
                                  "d25-script-security-default-user.conf",
                                  "d39-script-user-missing.conf",
                                  "d60-script-own-user-missing.conf"])
def test_host_facts_are_skipped_without_host_checks(name: str) -> None:
    """--no-host-checks (check_interfaces/check_scripts off): no interface, user or name
    lookup decides a verdict; the same files fail with them on (RECORDED)."""
    res = load_config(str(DIFF / name), LoadOptions(host=HostInfo(frozenset(), users=frozenset(),
                                                                  groups=frozenset(),
                                                                  hosts=frozenset()),
                                                    check_interfaces=False, check_scripts=False))
    krc, gist, _ = RECORDED[name]
    assert krc != 0 and gist
    assert not [d for d in res.diagnostics.items if re.search(gist, d.message)]
    if name != "d52-vrf-interface.conf":  # its second instance errs whatever the host
        assert int(res.exit_code()) == 0, [d.format() for d in res.diagnostics.items]
