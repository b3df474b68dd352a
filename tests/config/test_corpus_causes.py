"""Causes the real-world corpus found (issue 11), one test each.

Every expected exit code and error line was recorded from keepalived 2.2.7's own `-t` (run as
PID 1 of its own PID namespace, in a netns holding eth0 and eth1) on the config text shown.
"""

from __future__ import annotations

from pathlib import Path

from helpers.configs import load_text

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
