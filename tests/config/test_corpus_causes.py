"""Causes the real-world corpus found (issue 11), one test each.

Every expected exit code and error line was recorded from keepalived 2.2.7's own `-t` (run as
PID 1 of its own PID namespace, in a netns holding eth0 and eth1) on the config text shown.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.configs import load_text

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.diagnostics import Severity

VS = """virtual_server 192.0.2.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  persistence_timeout
  real_server 192.0.2.2 80 {
  }
}
"""
VI = """vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 1
  priority 100
  virtual_ipaddress {
    192.0.2.100
  }
}
"""


def errors(res) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(d.loc.line if d.loc else 0, d.message) for d in res.diagnostics.items
            if d.severity == Severity.ERROR]


def test_optional_int_values_left_out_take_keepalived_defaults(tmp_path: Path) -> None:
    # keepalived 2.2.7: rc 0, no message (it used to be an IndexError here)
    res = load_text(tmp_path, "global_defs {\n  max_auto_priority\n}\n" + VS + VI)
    assert int(res.exit_code()) == 0, errors(res)
    assert res.config.global_defs.max_auto_priority == 99  # sched_get_priority_max(SCHED_RR)
    assert res.config.virtual_servers[0].persistence_timeout == 360


def test_int_keyword_without_its_value_is_a_fatal_parse_error(tmp_path: Path) -> None:
    # keepalived 2.2.7: rc 2, "(Line 5) *** Configuration line starting `debug` is missing a
    # parameter after keyword `debug` at word position 2"
    res = load_text(tmp_path, VI.replace("  priority 100\n", "  priority 100\n  debug\n"))
    assert int(res.exit_code()) == 2
    assert errors(res)[0][0] == 5
    assert "missing a parameter after keyword `debug`" in errors(res)[0][1]


def test_hash_and_bang_from_a_parameter_start_a_comment(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: "(Line 2) Unknown keyword 'x'", "(Line 3) ... 'bogus3'",
    # "(Line 6) ... 'k'", "(Line 7) ... 'bogus10'"; lines 1, 5 and 9 are comments
    text = ("${_HASH} bogus1\nx${_HASH}y bogus2\nbogus3 ${_HASH} after\n$H=${_HASH}\n"
            "$H bogus8\nk$H bogus9\nbogus10 ${_BANG} x\n$B=${_BANG}\n$B bogus11\n")
    res = load_text(tmp_path, text)
    assert errors(res) == [(2, "Unknown keyword 'x'"), (3, "Unknown keyword 'bogus3'"),
                           (6, "Unknown keyword 'k'"), (7, "Unknown keyword 'bogus10'")]


def test_hash_parameter_comments_out_a_line_of_a_multiline_definition(tmp_path: Path) -> None:
    # the corpus's pattern ($V2=${_HASH} then `$V2 ADDRESS \` inside a $VIP= block): the
    # address is left out and keepalived 2.2.7 -t says nothing, rc 0
    text = ("$V1=\n$V2=${_HASH}\n$VIP= \\\n virtual_ipaddress { \\\n"
            "$V1 192.0.2.101 \\\n$V2 192.0.2.102 \\\n }\n" + VI.replace(
                "  virtual_ipaddress {\n    192.0.2.100\n  }\n", "  $VIP\n"))
    res = load_text(tmp_path, text)
    assert int(res.exit_code()) == 0, errors(res)
    assert [str(v.address) for v in res.config.vrrp_instances[0].virtual_ipaddress] == \
        ["192.0.2.101/32"]


def test_seq_parameters_and_loop_variable_inside_a_multiline_definition(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: Unknown keyword 'bogus_2', 'bogus_3' (line 3), 'other_2',
    # 'other_3' (line 4), then 'in_1', 'more_1', 'in_2', 'more_2' (line 8)
    text = ("$S=2\n$E=3\n~SEQ(i,$S,$E) bogus_$i\n~SEQ(j,${S},${E}) other_${j}\n"
            "$BODY= \\\nin_${N} \\\nmore_$N\n~SEQ(N,1,2) $BODY\n")
    res = load_text(tmp_path, text)
    assert errors(res) == [(3, "Unknown keyword 'bogus_2'"), (3, "Unknown keyword 'bogus_3'"),
                           (4, "Unknown keyword 'other_2'"), (4, "Unknown keyword 'other_3'"),
                           (8, "Unknown keyword 'in_1'"), (8, "Unknown keyword 'more_1'"),
                           (8, "Unknown keyword 'in_2'"), (8, "Unknown keyword 'more_2'")]


def test_seq_with_parameters_inside_a_multiline_definition(tmp_path: Path) -> None:
    # the corpus's pattern: $VS holds `~SEQ(RSHOST,$RSTART,$RSEND) $RS`; keepalived 2.2.7
    # -t: rc 0, real servers .211 and .212
    text = ("$RS= \\\nreal_server 192.0.2.$RSHOST 80 { \\\n  weight 1 \\\n}\n"
            "$VS= \\\nvirtual_server 203.0.113.${HOST} 80 { \\\n  lb_algo rr \\\n"
            "  lb_kind DR \\\n  protocol TCP \\\n  ~SEQ(RSHOST,$RSTART,$RSEND) $RS \\\n}\n"
            "$RSTART=211\n$RSEND=212\n$HOST=1\n$VS\n")
    res = load_text(tmp_path, text)
    assert int(res.exit_code()) == 0, errors(res)
    assert [str(r.ip) for r in res.config.virtual_servers[0].real_servers] == \
        ["192.0.2.211", "192.0.2.212"]


def test_iptables_keywords_are_config_errors_as_in_the_nftables_only_build(
        tmp_path: Path) -> None:
    # keepalived 2.2.7 (Debian, nftables only) -t, rc 5: "(Line 3) iptables not supported,
    # using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables'
    # config option" and "(Line 4) Unknown keyword 'vrrp_ipsets'"; `nftables` alone: rc 0
    res = load_text(tmp_path, "global_defs {\n router_id x\n vrrp_iptables IN OUT\n"
                    " vrrp_ipsets\n}\n" + VI)
    assert int(res.exit_code()) == 5
    assert [ln for ln, _ in errors(res)] == [3, 4]
    assert "iptables not supported" in errors(res)[0][1]
    res = load_text(tmp_path, "global_defs {\n router_id x\n nftables\n}\n" + VI)
    assert int(res.exit_code()) == 0, errors(res)


def tracked(script: str) -> str:
    return (f'vrrp_script chk {{\n  script "{script}"\n  interval 1\n}}\n' +
            VI[:-2] + "  track_script {\n    chk\n  }\n}\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="scripts run as root only when we are root")
def test_script_arguments_never_take_a_script_out_of_the_security_check(
        tmp_path: Path) -> None:
    # keepalived 2.2.7 -t: "SECURITY VIOLATION - scripts are being executed but
    # script_security not enabled." rc 6 for the first two; "Disabling track script chk
    # since not found/accessible" rc 5 for the third
    for cmd, rc in (("/bin/true ${UNDEF} $X | grep y", 6),
                    ("echo hi > /tmp/never-written", 6),
                    ("${UNDEF}/x.sh", 5)):
        res = load_text(tmp_path, tracked(cmd), scripts=True)
        assert int(res.exit_code()) == rc, (cmd, errors(res))


def test_a_brace_after_a_word_that_opens_no_block_closes_the_enclosing_block(
        tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5, the same lines and messages: an unknown block's '{' is
    # ignored, its lines are read in the instance, its '}' closes the instance, and what
    # follows (priority, the VIP block) is read at the top level
    text = ("global_defs {\n router_id x\n}\nvrrp_instance VI_1 {\n interface eth0\n"
            " virtual_router_id 1\n bogusblk {\n  a 1\n }\n priority 100\n"
            " virtual_ipaddress {\n 192.0.2.1\n }\n}\n")
    res = load_text(tmp_path, text)
    assert int(res.exit_code()) == 5
    assert errors(res)[:9] == [
        (7, "Unknown keyword 'bogusblk'"), (7, "Unexpected '{' - ignoring"),
        (8, "Unknown keyword 'a'"), (10, "Unknown keyword 'priority'"),
        (11, "Unknown keyword 'virtual_ipaddress'"), (11, "Unexpected '{' - ignoring"),
        (12, "Unknown keyword '192.0.2.1'"), (13, "Unknown keyword '}'"),
        (14, "Unknown keyword '}'")]
    assert res.config.vrrp_instances[0].virtual_ipaddress == ()


def test_a_brace_after_a_keyword_that_takes_a_value(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t: `router_id x {` -> "(Line 2) Unexpected '{' - ignoring", the '}'
    # on line 3 closes global_defs, "(Line 4) Unknown keyword 'notification_email_from'",
    # "(Line 5) Unknown keyword '}'", rc 5; `mcast_src_ip {` has no value: rc 2
    res = load_text(tmp_path, "global_defs {\n router_id x {\n}\n notification_email_from "
                    "a@b\n}\n")
    assert [ln for ln, _ in errors(res)] == [2, 4, 5]
    assert res.config.global_defs.router_id == "x"
    res = load_text(tmp_path, VI.replace("  priority 100\n", "  mcast_src_ip {\n  192.0.2.1\n"
                                         "  }\n  priority 100\n"))
    assert int(res.exit_code()) == 2
    assert errors(res)[0] == (4, "Configuration line starting `mcast_src_ip` is missing a "
                                 "parameter after keyword `mcast_src_ip` at word position 2")


MISC = """virtual_server 192.0.2.100 80 {
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.0.2.2 80 {
    MISC_CHECK {
      misc_path "/bin/true"
    }
  }
}
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="scripts run as root only when we are root")
def test_checker_scripts_are_checked_even_when_a_vrrp_interface_is_missing(
        tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 6: "SECURITY VIOLATION - check scripts are being executed but
    # script_security not enabled." then the VRRP process's "WARNING - interface nosuch0 for
    # vrrp_instance VI_1 doesn't exist" (it stops there: no VRRP script verdict); with the
    # interface present both processes say it, checker first
    res = load_text(tmp_path, tracked("/bin/true") + MISC, scripts=True)
    assert int(res.exit_code()) == 6
    got = [m for _, m in errors(res) if m.startswith("SECURITY VIOLATION")]
    assert [m.split(" - ")[1][:13] for m in got] == ["check scripts", "scripts are b"]
    res = load_text(tmp_path, tracked("/bin/true").replace("eth0", "nosuch0") + MISC,
                    scripts=True)
    assert int(res.exit_code()) == 6
    assert [m for _, m in errors(res) if m.startswith("SECURITY")] == [
        "SECURITY VIOLATION - check scripts are being executed but script_security not "
        "enabled."]


def test_optional_values_of_startup_script_and_param_match(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t: `startup_script` / `shutdown_script` alone: "(Line 2) startup
    # script missing", rc 5 (not a fatal parse); `param_match` alone (the command must have
    # no parameters): rc 0; `param_match bogus`: "Invalid param_match type bogus", rc 5
    for kw in ("startup_script", "shutdown_script"):
        res = load_text(tmp_path, f"global_defs {{\n {kw}\n}}\n" + VI)
        assert int(res.exit_code()) == 5
        assert errors(res) == [(2, f"{kw.split('_')[0]} script missing")]
    tp = "vrrp_track_process p {{\n process x\n param_match{}\n}}\n"
    assert int(load_text(tmp_path, tp.format("") + VI).exit_code()) == 0
    assert int(load_text(tmp_path, tp.format(" bogus") + VI).exit_code()) == 5


def test_multiline_definitions_end_at_an_empty_line_and_comments_keep_a_backslash(
        tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: an empty line ends a multi-line $X (blank, tab-only and
    # comment lines do not): "(Line 4) Unknown keyword 'bogus_b'", "(Line 5) ... 'bogus_a'";
    # a comment line ending in a backslash reads as '\': "(Line 2) Unknown keyword '\'"
    res = load_text(tmp_path, "$X= \\\nbogus_a \\\n\nbogus_b\n$X\n")
    assert errors(res) == [(4, "Unknown keyword 'bogus_b'"), (5, "Unknown keyword 'bogus_a'")]
    for filler in ("   ", "\t", "# c", "# c \\"):
        res = load_text(tmp_path, f"$X= \\\nbogus_a \\\n{filler}\nbogus_b\n$X\n")
        assert errors(res) == [(5, "Unknown keyword 'bogus_a'"),
                               (5, "Unknown keyword 'bogus_b'")], filler
    res = load_text(tmp_path, "global_defs {\n# comment \\\n router_id x\n}\n! another \\\n")
    assert errors(res) == [(2, "Unknown keyword '\\'"), (5, "Unknown keyword '\\'")]


def test_up_down_delays_name_existing_interfaces(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 4: "(Line 6) unknown interface nosuch1 specified for up/down
    # delay", "(Line 8) ... nosuch2 ..."; a delay that is not a number: "invalid number 'x'",
    # rc 5
    res = load_text(tmp_path, "global_defs {\n router_id x\n}\ninterface_up_down_delays {\n"
                    " eth0 1 2\n nosuch1 1\n eth1\n nosuch2 3\n}\n" + VI)
    assert int(res.exit_code()) == 4
    assert errors(res) == [(6, "unknown interface nosuch1 specified for up/down delay"),
                           (8, "unknown interface nosuch2 specified for up/down delay")]
    res = load_text(tmp_path, "interface_up_down_delays {\n eth0 x\n eth1 1 2 3\n}\n" + VI)
    assert int(res.exit_code()) == 5
    assert errors(res) == [(2, "invalid number 'x'")]


def test_smtp_server_names_must_resolve(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t: `smtp_server localhost4` -> "(Line 2) Invalid smtp server
    # localhost4 25", rc 5 (getaddrinfo fails); 127.0.0.1, localhost, `192.0.2.1 587`: rc 0;
    # `1.2.3.4.5`: invalid too. (HostInfo.hosts stands in for the resolver.)
    from pykeepalived.config.host import HostInfo

    host = HostInfo(frozenset({"eth0", "eth1"}), hosts=frozenset({"localhost"}))
    for server, rc in (("127.0.0.1", 0), ("localhost", 0), ("192.0.2.1 587", 0),
                       ("localhost4", 5), ("1.2.3.4.5", 5)):
        p = tmp_path / "k.conf"
        p.write_text(f"global_defs {{\n smtp_server {server}\n}}\n" + VI)
        res = load_config(str(p), LoadOptions(host=host))
        assert int(res.exit_code()) == rc, (server, errors(res))
    assert errors(res) == [(2, "Invalid smtp server 1.2.3.4.5 25")]


def test_block_end_findings_are_at_the_closing_brace(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: "(Line 3) No script set for vrrp_script s - removing",
    # "(Line 6) No file set for track_file tf - ignoring"; an empty unicast_peer block with
    # use_vmac: "(Line 11) (VI_1) unicast with use_vmac requires vmac_xmit_base - setting"
    res = load_text(tmp_path, "vrrp_script s {\n interval 1\n}\ntrack_file tf {\n weight 1\n"
                    "}\n" + VI)
    assert errors(res) == [(3, "No script set for vrrp_script s - removing"),
                           (6, "No file set for track_file tf - ignoring")]
    res = load_text(tmp_path, VI.replace("  priority 100\n", "  priority 100\n  use_vmac\n"
                                         "  unicast_peer {\n  }\n"))
    assert errors(res)[0] == (11, "(VI_1) unicast with use_vmac requires vmac_xmit_base - "
                                  "setting")


def test_garp_master_repeat_zero_is_set_to_one(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: "(Line 2) vrrp_garp_master_repeat must be greater than 0,
    # setting to 1", "(Line 9) (VI_1): garp_master_repeat must be greater than 0, setting to
    # 1"; garp_lower_prio_repeat 0 is fine
    res = load_text(tmp_path, "global_defs {\n vrrp_garp_master_repeat 0\n"
                    " vrrp_garp_lower_prio_repeat 0\n}\n" + VI.replace(
                        "  priority 100\n", "  priority 100\n  garp_master_repeat 0\n"
                        "  garp_lower_prio_repeat 0\n"))
    assert errors(res) == [
        (2, "vrrp_garp_master_repeat must be greater than 0, setting to 1"),
        (9, "(VI_1): garp_master_repeat must be greater than 0, setting to 1")]
    assert res.config.vrrp_instances[0].garp_master_repeat == 1


def test_empty_notification_email_block(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: "(Line 3) Warning - empty notification_email block" (the
    # closing brace)
    res = load_text(tmp_path, "global_defs {\n notification_email {\n }\n router_id x\n}\n" + VI)
    assert errors(res) == [(3, "Warning - empty notification_email block")]


def test_notify_lines_as_keepalived_reads_them(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 0 and no message: an unquoted `notify_master /bin/bash /x.sh 3`
    # is command /bin/bash run as user '/x.sh' (which does not exist: keepalived drops the
    # script with a log line); escaped quotes inside a quoted command; '...' quotes
    res = load_text(tmp_path, "global_defs {\n enable_script_security\n script_user root\n}\n" +
                    VI.replace("  priority 100\n", "  priority 100\n"
                               "  notify_master /bin/bash /x.sh 3 4 5\n"
                               '  notify_backup "/bin/logger -t vrrp \\"became backup\\""\n'
                               "  notify_fault '/bin/logger -t vrrp \"fault\"'\n"), scripts=True)
    assert int(res.exit_code()) == 0, errors(res)
    inst = res.config.vrrp_instances[0]
    assert inst.notify_master is None
    assert inst.notify_backup.argv == ("/bin/logger", "-t", "vrrp", "became backup")
    assert inst.notify_fault.argv == ("/bin/logger", "-t", "vrrp", "fault")
    assert [d.message[:34] for d in res.diagnostics.warnings] == [
        "Invalid user/group for notify scri"]


def test_words_after_a_check_command_are_ignored(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 0: `script /bin/true nosuchuser` in a vrrp_script and
    # `misc_path /bin/true nosuchuser` take /bin/true alone (quote to pass arguments)
    res = load_text(tmp_path, "global_defs {\n enable_script_security\n script_user root\n}\n"
                    "vrrp_script chk {\n script /bin/true nosuchuser\n interval 1\n}\n" + VI)
    assert int(res.exit_code()) == 0, errors(res)
    assert res.config.vrrp_scripts[0].script.argv == ("/bin/true",)


def test_a_hash_after_the_first_word_ends_the_line(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: "(Line 7) Unknown keyword 'ab#cd'" (the first word keeps
    # its '#'; the top-level pass comes first), then `virtual_router_id 300\#x`: "(Line 4)
    # number '300' outside range", `advert_int a\#`: "(Line 5) invalid number 'a'";
    # `priority 1\#0` is priority 1 (no message)
    res = load_text(tmp_path, "vrrp_instance VI_1 {\n interface eth0\n priority 1\\#0\n"
                    " virtual_router_id 300\\#x\n advert_int a\\#\n}\nab\\#cd e\n")
    assert [ln for ln, _ in errors(res)][:3] == [7, 4, 5]
    assert errors(res)[0] == (7, "Unknown keyword 'ab#cd'")
    assert res.config.vrrp_instances == () or res.config.vrrp_instances[0].priority == 1


def test_a_stray_brace_that_ends_a_block_with_nothing_after_it(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t (the corpus's 1148.conf shape): the false block's '}' closes
    # real_server's enclosing block, so the real_server's own '}' is read at the top level:
    # "(Line 5) Unknown keyword 'notify_down'", "(Line 6) ... 'TCP_CHECK'", "(Line 6)
    # Unexpected '{' - ignoring", "(Line 9) Unknown keyword '}'"
    res = load_text(tmp_path, "virtual_server 192.0.2.1 80 {\n lb_algo rr\n lb_kind DR\n"
                    " protocol TCP\n notify_down /bin/true\n TCP_CHECK {\n  retry 3\n }\n}\n")
    assert errors(res)[:4] == [(5, "Unknown keyword 'notify_down'"),
                               (6, "Unknown keyword 'TCP_CHECK'"),
                               (6, "Unexpected '{' - ignoring"), (9, "Unknown keyword '}'")]


def test_includes_that_match_nothing(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 0: a glob in a directory that exists and matches nothing is
    # silent (lines 1, 2), a glob in a missing directory and a missing file are said:
    # "(Line 3) Config files missing 'nosuchdir/*.conf'.", "(Line 4) ... 'nosuch.conf'."
    res = load_text(tmp_path, "include *.nomatch\ninclude /tmp-nonexist*/x.conf\n"
                    "include nosuchdir/*.conf\ninclude nosuch.conf\n" + VI)
    assert int(res.exit_code()) == 0
    assert [(d.loc.line, d.message) for d in res.diagnostics.warnings] == [
        (3, "Config files missing 'nosuchdir/*.conf'."),
        (4, "Config files missing 'nosuch.conf'.")]


def test_value_blocks_take_no_name(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: "(Line 1) Block static_ipaddress has extra parameters
    # track1 ...", "(Line 4) Block static_routes has extra parameters trackr1 ...", "(Line 10)
    # Block virtual_ipaddress has extra parameters extra ..." (the same for track_script,
    # unicast_peer, track_interface, group, notification_email)
    res = load_text(tmp_path, "static_ipaddress track1 {\n 192.0.2.5/24 dev eth0\n}\n"
                    "static_routes trackr1 x {\n 192.0.2.0/24 dev eth0\n}\n"
                    "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n"
                    " virtual_ipaddress extra {\n  192.0.2.100\n }\n}\n")
    assert int(res.exit_code()) == 5
    assert errors(res) == [(1, "Block static_ipaddress has extra parameters track1 ..."),
                           (4, "Block static_routes has extra parameters trackr1 ..."),
                           (10, "Block virtual_ipaddress has extra parameters extra ...")]


ROUTES_2_2_7_ACCEPTS = """\
192.0.2.0/24 dev eth0 table 6909 tos 0x04 protocol bird scope link priority 12 mtu 1000 \
hoplimit 100 advmss 101 rtt 102 rttvar 103 reordering 104 window 105 cwnd 106 ssthresh lock \
107 rto_min 108 initcwnd 109 initrwnd 110 features ecn
198.51.100.0/24 table 6909 nexthop via 192.0.2.1 dev eth0 onlink weight 1 nexthop via \
192.0.2.2 dev eth0 onlink weight 2
2001:db8::4 dev eth0 table 6909 mtu 1000 initcwnd 109 append initrwnd 110 fastopen_no_cookie 1
blackhole 203.0.113.0/24
203.0.113.128/25 via 192.0.2.1 dev eth0 src 192.0.2.11 metric 5 quickack 1 congctl lock cubic \
expires 10 no_track
unreachable 203.0.113.64/26
default via 192.0.2.1 dev eth0 onlink
203.0.113.8/29 dev eth0 mtu lock 1400 ttl-propagate enabled
mtu lock 1400 203.0.113.16/29 dev eth0
"""


def test_route_words_keepalived_does_not_know(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: `... dev eth0 link src ...` -> "(Line 9) VRRP parsed invalid
    # IP link. skipping IP..." and "(Line 9) unknown route keyword link"; every option of
    # ROUTES_2_2_7_ACCEPTS passed its -t without an "unknown route keyword"
    res = load_text(tmp_path, VI[:-2] + "  virtual_routes {\n"
                    "    192.0.2.0/24 via 192.0.2.1 dev eth0 link src 192.0.2.11\n  }\n}\n")
    assert errors(res) == [(9, "VRRP parsed invalid IP link. skipping IP..."),
                           (9, "unknown route keyword link")]
    assert res.config.vrrp_instances[0].virtual_routes == ()
    res = load_text(tmp_path, "static_routes {\n" + ROUTES_2_2_7_ACCEPTS + "}\n" + VI)
    assert not [m for _, m in errors(res) if "route keyword" in m]
    # `mtu lock 1400 DST`: 1400 is the mtu, not the destination (2.2.7 -t rc 0 on it)
    assert not [m for _, m in errors(res) if "invalid IP" in m]
    assert "203.0.113.16/29" in {r.dst for r in res.config.static_routes}


def test_promote_secondaries_with_a_vmac(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5: "(VI_1) promote_secondaries is automatically set for vmacs -
    # ignoring" (use_vmac or use_ipvlan)
    res = load_text(tmp_path, VI.replace("  priority 100\n", "  priority 100\n  use_vmac\n"
                                         "  promote_secondaries\n"))
    assert int(res.exit_code()) == 5
    assert errors(res) == [(6, "(VI_1) promote_secondaries is automatically set for vmacs - "
                               "ignoring")]


def test_no_scope_for_ipv6_addresses(tmp_path: Path) -> None:
    # keepalived 2.2.7 -t, rc 5 (an IPv6 instance): "(Line 7) Cannot specify scope for IPv6
    # addresses (2001:db8::5/64) - ignoring scope" and the same on line 9; `scope global` is
    # accepted
    res = load_text(tmp_path, "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n"
                    " priority 100\n virtual_ipaddress {\n  2001:db8::4/64\n"
                    "  2001:db8::5/64 scope link\n  2001:db8::6/64 scope global\n"
                    "  2001:db8::7/64 scope host\n  2001:db8::8/64 dev eth0 scope global\n"
                    " }\n}\n")
    assert errors(res) == [
        (7, "Cannot specify scope for IPv6 addresses (2001:db8::5/64) - ignoring scope"),
        (9, "Cannot specify scope for IPv6 addresses (2001:db8::7/64) - ignoring scope")]
