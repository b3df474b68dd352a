"""The oracle path for differential tests: the real keepalived 2.2.7 builds a table in the
guest and we read it with ipvsadm and with pykeepalived.ipvs.kernel."""

from __future__ import annotations

import pytest
from ipvsvm.keepalived import keepalived_table
from ipvsvm.oracle import parse_save

from pykeepalived.ipvs.kernel import Dest, IPVSKernel, Service

pytestmark = [pytest.mark.ipvs, pytest.mark.keepalived]

CONF = """
global_defs {
    router_id ipvs_oracle
}
virtual_server 192.0.2.100 80 {
    delay_loop 60
    lb_algo wrr
    lb_kind NAT
    persistence_timeout 120
    protocol TCP
    real_server 198.51.100.11 8080 {
        weight 3
    }
    real_server 198.51.100.12 8080 {
        weight 1
    }
}
virtual_server fwmark 42 {
    lb_algo rr
    lb_kind DR
    real_server 198.51.100.13 0 {
        weight 2
    }
}
"""


def test_keepalived_builds_the_table(kernel: IPVSKernel) -> None:
    dump, _log = keepalived_table(CONF, expect_lines=5)
    table = parse_save(dump)
    vs = table[("tcp", "192.0.2.100", 80)]
    assert (vs.scheduler, vs.persistent) == ("wrr", 120), dump
    assert {(d.addr, d.port, d.fwd, d.weight) for d in vs.dests.values()} == {
        ("198.51.100.11", 8080, "masq", 3),
        ("198.51.100.12", 8080, "masq", 1),
    }, dump
    fw = table[("fwmark", 4, 42)]
    assert fw.scheduler == "rr" and [d.weight for d in fw.dests.values()] == [2], dump


def test_keepalived_table_equals_our_dump(kernel: IPVSKernel) -> None:
    """Read keepalived's table with our wrapper too: both readers agree on every field."""
    import subprocess

    from ipvsvm.keepalived import KEEPALIVED

    assert subprocess.run([KEEPALIVED, "--version"], capture_output=True).returncode == 0
    dump, _ = keepalived_table(CONF, expect_lines=5)
    # keepalived removed its entries on exit; restore the dump and read it back with ours
    subprocess.run(["ipvsadm", "-R"], input=dump, text=True, check=True, timeout=20)
    ours = kernel.table()
    svc = Service.inet(
        "tcp", "192.0.2.100", 80, scheduler="wrr", flags=frozenset({"persistent"}), timeout=120
    )
    got = {s.key: (s, d) for s, d in ours.items()}
    s, dests = got[svc.key]
    assert s == svc
    assert dests == (
        Dest("198.51.100.11", 8080, fwd="masq", weight=3),
        Dest("198.51.100.12", 8080, fwd="masq", weight=1),
    )
