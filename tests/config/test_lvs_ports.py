"""keepalived's real/sorry server port rules, as the model and `-t` see them."""

from __future__ import annotations

from pathlib import Path

from helpers.configs import load_text
from helpers.paths import DATA

from pykeepalived.config.diagnostics import Rc

DIFF = DATA / "diff"


def _load(tmp_path: Path, name: str):  # type: ignore[no-untyped-def]
    return load_text(tmp_path, (DIFF / name).read_text(), name=name)


def test_dr_port_mismatch_is_reset_with_the_line(tmp_path: Path) -> None:
    res = _load(tmp_path, "d01-dr-port-mismatch.conf")
    assert res.exit_code() == Rc.CONFIG
    [d] = [d for d in res.diagnostics.items if "ports don't match" in d.message]
    assert d.loc is not None and d.loc.line == 7
    vs = res.config.virtual_servers[0]
    assert [(str(r.ip), r.port) for r in vs.real_servers] == [("192.0.2.21", 80),
                                                               ("192.0.2.22", 80)]
    # the checker still connects where the config said (keepalived made it while parsing)
    assert vs.real_servers[0].checkers[0].connect_port == 8080


def test_nat_keeps_its_port_and_fills_a_missing_one(tmp_path: Path) -> None:
    res = _load(tmp_path, "d02-nat-port-differs.conf")
    assert res.exit_code() == Rc.OK, res.diagnostics.items
    vs = res.config.virtual_servers[0]
    assert [r.port for r in vs.real_servers] == [8080, 80]


def test_fwmark_real_server_port_cleared(tmp_path: Path) -> None:
    res = _load(tmp_path, "d03-fwmark-rs-port.conf")
    assert res.exit_code() == Rc.CONFIG
    assert any("has port specified - clearing" in d.message and ":none:80" in d.message
               for d in res.diagnostics.items)
    assert res.config.virtual_servers[0].real_servers[0].port is None


def test_tun_sorry_server_port_reset(tmp_path: Path) -> None:
    res = _load(tmp_path, "d04-tun-sorry-port.conf")
    assert res.exit_code() == Rc.CONFIG
    vs = res.config.virtual_servers[0]
    assert vs.sorry_server is not None and vs.sorry_server[1] == 443
    assert vs.real_servers[0].port == 443


def test_matching_dr_ports_say_nothing(tmp_path: Path) -> None:
    res = _load(tmp_path, "d05-dr-ports-match.conf")
    assert res.exit_code() == Rc.OK and not res.diagnostics.items, res.diagnostics.items


def _messages(res) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(d.loc.line if d.loc else 0, d.message) for d in res.diagnostics.items]


def test_group_dr_port_mismatch_names_each_entry(tmp_path: Path) -> None:
    res = _load(tmp_path, "d06-group-dr-port-mismatch.conf")
    assert res.exit_code() == Rc.CONFIG
    bad = [(ln, m) for ln, m in _messages(res) if "ports don't match" in m]
    assert [m.split(" and ")[0] for _, m in bad] == [
        "virtual server [G1]:0:[203.0.113.10,80]", "virtual server [G1]:0:[203.0.113.11,443]"]
    assert {ln for ln, _ in bad} == {11}  # the real_server line
    # nothing rewritten: each kernel service gets its own port (ipvs/desired.py)
    assert res.config.virtual_servers[0].real_servers[0].port == 8080


def test_group_of_fwmarks_warns_for_protocol_and_port(tmp_path: Path) -> None:
    res = _load(tmp_path, "d07-group-fwmark-only.conf")
    assert res.exit_code() == Rc.CONFIG
    msgs = [m for _, m in _messages(res)]
    assert any("protocol specified for fwmark" in m for m in msgs), msgs
    assert any("real server [192.0.2.21]:none:8080 has port specified" in m for m in msgs)


def test_group_range_and_sorry_server(tmp_path: Path) -> None:
    res = _load(tmp_path, "d08-group-range-sorry.conf")
    msgs = [m for _, m in _messages(res)]
    assert any("[203.0.113.10-203.0.113.12,80]" in m for m in msgs), msgs
    assert any("sorry server has port specified - port will be ignored" in m for m in msgs)


def test_group_rule_follows_the_real_servers_own_method(tmp_path: Path) -> None:
    assert _load(tmp_path, "d09-group-rs-dr.conf").exit_code() == Rc.CONFIG


def test_quiet_groups(tmp_path: Path) -> None:
    for name in ("d10-group-nat-quiet.conf", "d11-group-dr-match.conf"):
        res = _load(tmp_path, name)
        assert res.exit_code() == Rc.OK and not res.diagnostics.items, (name,
                                                                         res.diagnostics.items)


def test_group_rules_do_not_depend_on_block_order(tmp_path: Path) -> None:
    """keepalived checks after parsing: a group written after its virtual_server is checked
    the same."""
    text = (DIFF / "d06-group-dr-port-mismatch.conf").read_text()
    head, rest = text.split("virtual_server group", 1)
    group = head[head.index("virtual_server_group"):]
    moved = head[:head.index("virtual_server_group")] + "virtual_server group" + rest + group
    res = load_text(tmp_path, moved, name="moved.conf")
    assert res.exit_code() == Rc.CONFIG
    assert sum("ports don't match" in d.message for d in res.diagnostics.items) == 2
