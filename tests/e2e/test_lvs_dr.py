"""Issue 7 end to end: the users' LVS-DR pair (conf.d/lvs-dr-*.conf) with real servers and a
client, failures judged from the client's side. Runs inside the IPVS guest.

The scenarios share one rig (a module fixture: starting it costs ~15 s in the guest) and run
in order; each leaves the baseline (d1 MASTER, full equal tables) for the next, except 3 → 4
(d1 dead → d1 returns). Checker timers are shortened by the harness (harness.FAST:
delay_loop 2, connect_timeout 2, delay_before_retry 1); VRRP timers are the shipped ones.
``E2E_IMPL=keepalived`` runs the same tests against keepalived 2.2.7.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from e2e import scenarios as sc
from e2e.harness import ADDRS, MASTER_DOWN, SKEW, Impl, Lab, running_lab, wanted

pytestmark = [pytest.mark.ipvs, pytest.mark.netns, pytest.mark.slow]

IMPL = cast(Impl, os.environ.get("E2E_IMPL", "pykeepalived"))
# how much later than the protocol's own timers the client may see service again: GARP
# sending, the client's next request (interval 50 ms, timeout 0.5 s), UML's slow clock
SLACK = 1.5


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    # (the conftest's skip is function-scoped and would come after this module fixture)
    if os.geteuid() != 0 or not os.path.exists("/proc/net/ip_vs"):
        pytest.skip("needs root and kernel IPVS: runs in the UML guest")
    tmp = tmp_path_factory.mktemp("e2e-lvs-dr")
    with running_lab(Path(tmp), IMPL) as lab:
        yield lab


def _ensure_baseline(lab: Lab) -> None:
    """After an earlier failure: bring d1 back so later scenarios still say something."""
    for d in ("d1", "d2"):
        p = lab.directors[d].proc
        if p is None or not p.alive():
            lab.revive_director(d)
    sc.baseline(lab)


def test_1_steady_state_wrr(lab: Lab) -> None:
    r = sc.steady(lab)
    assert r.counts.get("error", 0) == 0, f"{r}\n{lab.logs()}"
    assert r.counts["rs1"] + r.counts["rs2"] >= 30, r
    assert 1.5 <= r.values["ratio"] <= 2.5, f"weights 1:2 expected: {r}"
    assert r.tables["d1"] == [
        "TCP 192.0.2.100:80 wrr", "-> 192.0.2.21:80 Route 1", "-> 192.0.2.22:80 Route 2",
    ], r  # fmt: skip


def test_2_real_server_down_and_back(lab: Lab) -> None:
    r = sc.rs_down_up(lab, "rs1")
    v = r.values
    assert v["removed_after"] <= v["bound"], f"{r}\n{lab.logs()}"
    assert r.outage <= v["bound"], r  # failures stop once the checkers dropped rs1
    assert v["errors_after_removal"] == 0 and v["rs_answers_after_removal"] == 0, r
    assert r.counts.get("rs1", 0) > 0, f"rs1 never answered again: {r}"
    assert sorted(r.tables["d1"]) == sorted(r.tables["d2"]), r


def test_3_master_killed(lab: Lab) -> None:
    r = sc.crash_master(lab)
    assert r.values["vip_moved_after"] <= MASTER_DOWN + SLACK, f"{r}\n{lab.logs()}"
    assert r.outage <= MASTER_DOWN + SLACK, r
    assert lab.vip_holders() == ["d2"], r
    assert r.tables["d2"] == r.tables["d1 (before)"], r


def test_4_master_returns_and_preempts(lab: Lab) -> None:
    if lab.vip_holders() != ["d2"]:
        pytest.fail("scenario 3 did not leave d2 as the only VIP holder")
    r = sc.master_returns(lab)
    assert lab.vip_holders() == ["d1"], f"{r}\n{lab.logs()}"
    assert r.outage <= SLACK, f"{r}\n{lab.logs()}"
    assert sorted(r.tables["d1"]) == sorted(r.tables["d2"]), r


def test_5_graceful_stop(lab: Lab) -> None:
    _ensure_baseline(lab)
    r = sc.graceful_stop(lab)
    assert r.values["vip_moved_after"] <= SKEW + SLACK, f"{r}\n{lab.logs()}"
    assert r.outage <= SKEW + SLACK, f"{r}\n{lab.logs()}"
    assert r.values["restart_outage"] <= SLACK, f"{r}\n{lab.logs()}"
    assert sorted(r.tables["d1"]) == sorted(r.tables["d2"]), r


def test_6_reload_adds_real_server(lab: Lab) -> None:
    _ensure_baseline(lab)
    r = sc.reload_add_rs(lab, "rs3")
    assert r.counts.get("error", 0) == 0 and r.outage == 0, f"{r}\n{lab.logs()}"
    assert r.counts.get("rs3", 0) > 0, r
    assert lab.vip_holders() == ["d1"], r
    assert lab.ipvs_dests("d2") == {**wanted(("rs1", "rs2")), ADDRS["rs3"]: 1}, r
    assert sorted(r.tables["d1"]) == sorted(r.tables["d2"]), r
