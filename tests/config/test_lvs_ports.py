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
