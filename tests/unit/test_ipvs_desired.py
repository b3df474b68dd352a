"""desired.py on the host: keepalived's rules for what goes into IPVS, no kernel needed."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest

from pykeepalived.check.results import QuorumChange, RsChange
from pykeepalived.config.load import LoadOptions, load_config
from pykeepalived.config.model import Config
from pykeepalived.ipvs.desired import Health, desired_table
from pykeepalived.ipvs.kernel import Dest, Service

SAMPLES = Path("/usr/share/doc/keepalived/samples")
ROOT = Path(__file__).resolve().parents[2]


def load(tmp_path: Path, text: str) -> Config:
    p = tmp_path / "keepalived.conf"
    p.write_text(text)
    res = load_config(str(p), LoadOptions(check_interfaces=False, check_scripts=False))
    return res.config


def table(cfg: Config, health: Health | None = None) -> dict[tuple, tuple[Service, set[Dest]]]:
    return {s.key: (s, set(d)) for s, d in desired_table(cfg, health).services.items()}


def test_seed_lvs_dr(tmp_path: Path) -> None:
    cfg = load(tmp_path, (ROOT / "conf.d/lvs-dr-master.conf").read_text())
    t = table(cfg)
    svc, dests = t[(socket.AF_INET, "tcp", "192.0.2.100", 80)]
    assert svc == Service.inet("tcp", "192.0.2.100", 80, scheduler="wrr")  # not persistent
    assert dests == {Dest("192.0.2.21", 80, "route", 1), Dest("192.0.2.22", 80, "route", 2)}


VS = """
virtual_server 192.0.2.100 80 {
    lb_algo %(algo)s
    lb_kind %(kind)s
    protocol TCP
    %(extra)s
    real_server 198.51.100.11 8080 {
        weight 3
        %(rs1)s
    }
    real_server 198.51.100.12 8080 {
        weight 1
    }
}
"""


def vs(
    tmp_path: Path, algo: str = "wrr", kind: str = "NAT", extra: str = "", rs1: str = ""
) -> Config:
    return load(tmp_path, VS % {"algo": algo, "kind": kind, "extra": extra, "rs1": rs1})


KEY = (socket.AF_INET, "tcp", "192.0.2.100", 80)


def test_persistence_and_flags(tmp_path: Path) -> None:
    cfg = vs(tmp_path, "sh", extra="persistence_timeout 120\n"
             "persistence_granularity 255.255.255.0\nsh-port\nsh-fallback")
    svc, _ = table(cfg)[KEY]
    assert svc.flags == {"persistent", "sched1", "sched2"}
    assert (svc.timeout, svc.netmask, svc.scheduler) == (120, 24, "sh")


def test_tunnel_options(tmp_path: Path) -> None:
    cfg = vs(tmp_path, kind="TUN type gue port 6080 csum")
    _, dests = table(cfg)[KEY]
    d = next(iter(dests))
    assert (d.fwd, d.tun_type, d.tun_port, d.tun_flags) == ("tunnel", "gue", 6080, 1)


def rs_ev(cfg: Config, ip: str, alive: bool, weight: int, **kw: object) -> RsChange:
    v = cfg.virtual_servers[0]
    rs = next(r for r in v.real_servers if str(r.ip) == ip)
    return RsChange(v.key, rs.key, alive, weight, **kw)  # type: ignore[arg-type]


def test_down_removed_or_inhibited(tmp_path: Path) -> None:
    cfg = vs(tmp_path)
    h = Health.from_events([rs_ev(cfg, "198.51.100.11", False, 0)])
    assert {d.addr for d in table(cfg, h)[KEY][1]} == {"198.51.100.12"}
    cfg = vs(tmp_path, rs1="inhibit_on_failure")
    h = Health.from_events([rs_ev(cfg, "198.51.100.11", False, 0, inhibited=True)])
    assert {(d.addr, d.weight) for d in table(cfg, h)[KEY][1]} == {
        ("198.51.100.11", 0), ("198.51.100.12", 1)}
    back = h.apply(rs_ev(cfg, "198.51.100.11", True, 5))
    assert ("198.51.100.11", 5) in {(d.addr, d.weight) for d in table(cfg, back)[KEY][1]}


def test_alpha_starts_down_only_with_checkers(tmp_path: Path) -> None:
    cfg = vs(tmp_path, extra="alpha", rs1="TCP_CHECK {\nconnect_timeout 3\n}")
    assert {d.addr for d in table(cfg)[KEY][1]} == {"198.51.100.12"}


def test_quorum_sorry_server(tmp_path: Path) -> None:
    cfg = vs(tmp_path, extra="quorum 3\nsorry_server 203.0.113.9 80")
    assert {d.addr for d in table(cfg)[KEY][1]} == {"198.51.100.11", "198.51.100.12"}
    h = Health.from_events([rs_ev(cfg, "198.51.100.11", False, 0)])
    assert {(d.addr, d.port, d.weight) for d in table(cfg, h)[KEY][1]} == {("203.0.113.9", 80, 1)}
    h = Health.from_events([QuorumChange(cfg.virtual_servers[0].key, True, 4, 3)])
    assert "203.0.113.9" not in {d.addr for d in table(cfg, h)[KEY][1]}


def test_quorum_lost_without_sorry_server_changes_nothing(tmp_path: Path) -> None:
    cfg = vs(tmp_path, extra="quorum 3")
    h = Health.from_events([rs_ev(cfg, "198.51.100.11", False, 0)])
    assert {d.addr for d in table(cfg, h)[KEY][1]} == {"198.51.100.12"}


def test_sorry_server_inhibit(tmp_path: Path) -> None:
    cfg = vs(tmp_path, extra="sorry_server 203.0.113.9 80\nsorry_server_inhibit")
    assert ("203.0.113.9", 0) in {(d.addr, d.weight) for d in table(cfg)[KEY][1]}


def test_rs_without_port_takes_vs_port(tmp_path: Path) -> None:
    cfg = load(tmp_path, VS.replace("198.51.100.12 8080", "198.51.100.12") % {
        "algo": "rr", "kind": "DR", "extra": "", "rs1": ""})
    assert ("198.51.100.12", 80) in {(d.addr, d.port) for d in table(cfg)[KEY][1]}


@pytest.mark.skipif(not SAMPLES.exists(), reason="keepalived samples not installed")
def test_samples_group_and_fwmark(tmp_path: Path) -> None:
    cfg = load(tmp_path, (SAMPLES / "keepalived.conf.virtual_server_group").read_text())
    t = table(cfg)
    assert len(t) == 2 + 1 + 8 + 2  # 10.0.0.1, 10.0.0.2, 192.168.200.1, .3-.10, fwmark 1 2
    assert (socket.AF_INET, "fwmark", 2) in t
    assert (socket.AF_INET, "tcp", "192.168.200.10", 80) in t
    svc, dests = t[(socket.AF_INET, "tcp", "192.168.200.5", 80)]
    assert svc.timeout == 50 and len(dests) == 2
    cfg = load(tmp_path, (SAMPLES / "keepalived.conf.fwmark").read_text())
    svc, dests = table(cfg)[(socket.AF_INET, "fwmark", 1)]
    assert {(d.addr, d.port, d.fwd) for d in dests} == {
        ("192.168.201.100", 0, "masq"), ("192.168.201.101", 0, "masq")}


def test_origin_names_vs_and_line(tmp_path: Path) -> None:
    cfg = vs(tmp_path)
    o = desired_table(cfg).origin[KEY]
    assert "[192.0.2.100]:tcp:80" in str(o) and "keepalived.conf:2" in str(o)


def test_removed_event_forgets(tmp_path: Path) -> None:
    cfg = vs(tmp_path)
    h = Health.from_events([rs_ev(cfg, "198.51.100.11", False, 0)])
    h = h.apply(rs_ev(cfg, "198.51.100.11", False, 0, removed=True))
    assert not h.rs
    assert replace(cfg) == cfg
