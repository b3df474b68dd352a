"""Health-driven ECMP with real routing daemons (issue 15): pykeepalived announces, FRR and
BIRD 2 carry the announcement over BGP, an FRR router spreads a client's flows over both
directors, and each failure on a director takes exactly that director's next hop away.

One rig for the module (daemons take seconds to start and converge); every test starts from
"both next hops present" and leaves it so. Figures (withdrawal times, client failures) are
printed (-s) and appended to FIGURES_FILE when set, for the README.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ecmprig import CONF_D, LINKS, VIP, Rig, running_rig, tools_missing, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.slow]

BOTH = {LINKS["d1"][1], LINKS["d2"][1]}
HOP = {"d1": LINKS["d1"][1], "d2": LINKS["d2"][1]}
WITHDRAW_BOUND = 2.0  # issue 15: quorum down -> next hop gone at the router
DETECT_BOUND = 3.0  # service stopped -> quorum down (delay_loop 0.2, 1 retry)
CONVERGE = 30.0  # sessions up and routes in (timers connect 1, keepalive 1)


def _figure(name: str, value: object) -> None:
    print(f"FIGURE {name}: {value}")
    path = os.environ.get("FIGURES_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": name, "value": value}) + "\n")


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    reason = tools_missing()
    if reason:
        pytest.skip(reason)
    # FRR drops to user frr: its files need a directory that user can reach (not pytest's
    # 0700 tmp tree)
    tmp = Path(tempfile.mkdtemp(prefix="pyk-ecmp-"))
    os.chmod(tmp, 0o755)
    pids: list[int] = []
    try:
        with running_rig(tmp) as r:
            r.start_frr("r", CONF_D / "frr-router.conf")
            r.start_frr("d1", CONF_D / "frr-director1.conf")
            r.start_bird("d2", CONF_D / "bird-director2.conf")
            for n in ("d1", "d2"):
                r.start_http(n)
            r.start_pyk("d1", metrics="127.0.0.1:9650")
            r.start_pyk("d2")
            if r.wait_hops(BOTH, CONVERGE) is None:
                pytest.fail(f"no ECMP route: router has {r.nexthops()}\n"
                            f"{r.log('pyk-d1')}\n{r.log('pyk-d2')}")
            yield r
            pids = [p.pid for p in r.procs.values()]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # nothing of the rig (FRR, BIRD, pykeepalived, HTTP servers) outlives it
    assert [p for p in pids if os.path.exists(f"/proc/{p}")] == []


@pytest.fixture
def both(rig: Rig) -> Iterator[Rig]:
    """Each test starts and ends with both directors announced."""
    assert rig.wait_hops(BOTH, CONVERGE) is not None, f"router has {rig.nexthops()}"
    yield rig
    for n in ("d1", "d2"):
        if f"http-{n}" not in rig.procs:
            rig.start_http(n)
        if f"pyk-{n}" not in rig.procs:
            rig.start_pyk(n, metrics="127.0.0.1:9650" if n == "d1" else None)
    assert rig.wait_hops(BOTH, CONVERGE) is not None, f"not restored: {rig.nexthops()}"


def _withdrawal(rig: Rig, n: str, started: float) -> tuple[float, float]:
    """(seconds from STARTED until N's announcement left its kernel, until its next hop left
    the router), both bounded."""
    other = BOTH - {HOP[n]}
    ok = wait_for(lambda: not rig.announced_at(n), DETECT_BOUND + WITHDRAW_BOUND, 0.005)
    assert ok is not None, f"{n} still announces\n{rig.log(f'pyk-{n}')}"
    t_dir = time.monotonic() - started
    ok = rig.wait_hops(other, WITHDRAW_BOUND + 1.0)
    assert ok is not None, f"router still has {rig.nexthops()} after {n} withdrew"
    return t_dir, time.monotonic() - started


def _client_verdict(rig: Rig, t_gone: float, t_back: float = float("inf")
                    ) -> tuple[int, int, int]:
    """(requests, failed, failed among those started while the route was withdrawn: from its
    removal at the router + 0.5 s until the service was started again, if it was)."""
    res = rig.client_results()
    failed = [r for r in res if not r["ok"]]
    late = [r for r in failed
            if t_gone + 0.5 < float(r["t"]) < t_back]  # type: ignore[arg-type]
    return len(res), len(failed), len(late)


def _announce(rig: Rig, n: str) -> tuple[object, object]:
    """(announced, reason) of N's only virtual server, as `status --json` says."""
    a = (rig.status(n).get("checker") or {}).get("announce") or [{}]  # type: ignore[union-attr]
    return a[0].get("announced"), a[0].get("reason")


def test_router_holds_both_next_hops_and_status_says_why(both: Rig) -> None:
    assert both.nexthops() == BOTH
    for n in ("d1", "d2"):
        st = both.status(n)
        ann = st["checker"]["announce"]  # type: ignore[index]
        assert [a["announced"] for a in ann] == [True], ann
        assert ann[0]["reason"] == "quorum up"
        assert ann[0]["vip"] == VIP
    assert "via" in json.dumps(both.status("d1"))
    text = both.fetch("d1", "http://127.0.0.1:9650/metrics")
    line = [ln for ln in text.splitlines()
            if ln.startswith("pykeepalived_announce_vip_announced{")]
    assert line and line[0].endswith(" 1"), text[-2000:]
    # the DATA dump (SIGUSR1) carries the same, after keepalived's own sections
    parent = int((both.tmp / "pyk-d1" / "parent.pid").read_text())
    os.kill(parent, signal.SIGUSR1)
    dump = both.tmp / "pyk-d1" / "keepalived_check.data"
    assert wait_for(lambda: dump.exists() and "Announcements" in dump.read_text(), 10), \
        both.log("pyk-d1")
    assert f" VS [{VIP}]:tcp:80 VIP {VIP}: announced (quorum up)" in dump.read_text()
    # the client reaches both directors (the router hashes on ports)
    p = both.client_run(3.0)
    p.wait(30)
    res = both.client_results()
    assert res and all(r["ok"] for r in res), res[:5]
    assert {r["who"] for r in res} == {"d1", "d2"}


@pytest.mark.parametrize("n", ["d1", "d2"])
def test_quorum_down_withdraws_next_hop_and_clients_keep_working(both: Rig, n: str) -> None:
    client = both.client_run(12.0)
    time.sleep(2.0)
    t0 = time.monotonic()
    wall0 = time.time()
    both.stop(f"http-{n}")  # the only real server: quorum lost
    t_dir, t_router = _withdrawal(both, n, t0)
    _figure(f"{n} service stop -> withdrawn at director (s)", round(t_dir, 3))
    _figure(f"{n} withdrawn at director -> next hop gone at router (s)",
            round(t_router - t_dir, 3))
    assert t_router - t_dir < WITHDRAW_BOUND
    time.sleep(1.0)
    st = both.status(n)["checker"]["announce"][0]  # type: ignore[index]
    assert (st["announced"], st["reason"]) == (False, "quorum down")
    # the service comes back: so does the next hop
    t_back = time.time()
    both.start_http(n)
    t1 = time.monotonic()
    assert both.wait_hops(BOTH, 15) is not None, both.nexthops()
    _figure(f"{n} service back -> next hop back at router (s)", round(time.monotonic() - t1, 3))
    client.wait(30)
    total, failed, late = _client_verdict(both, wall0 + t_router, t_back)
    _figure(f"{n} director loss: client requests failed / sent", f"{failed}/{total}")
    assert late == 0, "requests failed after the next hop was gone"
    assert total > 100


@pytest.mark.parametrize("n", ["d1", "d2"])
def test_sigterm_withdraws(both: Rig, n: str) -> None:
    client = both.client_run(6.0)
    time.sleep(1.5)
    t0 = time.monotonic()
    wall0 = time.time()
    assert both.stop(f"pyk-{n}") == 0
    _, t_router = _withdrawal(both, n, t0)
    _figure(f"{n} SIGTERM -> next hop gone at router (s)", round(t_router, 3))
    assert t_router < WITHDRAW_BOUND + 1.0
    assert "withdrew every VIP on stop" in both.log(f"pyk-{n}")
    client.wait(30)
    total, failed, late = _client_verdict(both, wall0 + t_router)
    _figure(f"{n} SIGTERM drain: client requests failed / sent", f"{failed}/{total}")
    assert late == 0


def test_checker_child_killed_parent_withdraws(both: Rig) -> None:
    n = "d2"
    pid = both.checker_pid(n)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    gone = wait_for(lambda: HOP[n] not in both.nexthops(), WITHDRAW_BOUND + 1.0, 0.01)
    assert gone is not None, f"router kept {HOP[n]}: {both.nexthops()}"
    _figure("checker child kill -9 -> next hop gone at router (s)", round(gone, 3))
    assert wait_for(lambda: "Checker child gone: withdrew" in both.log(f"pyk-{n}"), 5)
    # the parent respawns the child, which announces again
    assert both.wait_hops(BOTH, 20) is not None
    assert both.checker_pid(n) != pid


def test_reload_dropping_the_announcement_withdraws(both: Rig) -> None:
    n = "d1"
    both.pyk_conf(n, announce=False)
    parent = int((both.tmp / f"pyk-{n}" / "parent.pid").read_text())
    t0 = time.monotonic()
    os.kill(parent, signal.SIGHUP)
    _, t_router = _withdrawal(both, n, t0)
    _figure("reload without announce_address -> next hop gone at router (s)",
            round(t_router, 3))
    # the checks go on: the virtual server is still known, just not announced
    time.sleep(1.0)
    st = both.status(n)
    assert st["checker"]["virtual_servers"][0]["quorum_up"] is True  # type: ignore[index]
    assert st["checker"]["announce"] == []  # type: ignore[index]
    both.pyk_conf(n, announce=True)
    os.kill(parent, signal.SIGHUP)
    assert both.wait_hops(BOTH, 15) is not None


def test_only_if_master_follows_the_vrrp_instance(both: Rig) -> None:
    """announce_only_if_master VI_1: a reload adds the instance (the VRRP child starts); the
    VIP is announced once VI_1 is MASTER, withdrawn while it is in FAULT (track_file)."""
    n = "d1"
    drain = both.tmp / f"drain-{n}"
    drain.write_text("0\n")
    both.pyk_conf(n, vrrp=True)
    parent = int((both.tmp / f"pyk-{n}" / "parent.pid").read_text())
    os.kill(parent, signal.SIGHUP)
    assert wait_for(lambda: "Entering MASTER STATE" in both.log(f"pyk-{n}"), 15), \
        both.log(f"pyk-{n}")
    # status is republished every second: wait for it
    assert wait_for(lambda: _announce(both, n) == (True, "quorum up, VI_1 is MASTER"), 10), \
        _announce(both, n)
    assert both.wait_hops(BOTH, 10) is not None, both.nexthops()
    t0 = time.monotonic()
    drain.write_text("1\n")  # VI_1 -> FAULT
    _, t_router = _withdrawal(both, n, t0)
    _figure("VI_1 to FAULT (track_file) -> next hop gone at router (s)", round(t_router, 3))
    assert wait_for(lambda: _announce(both, n) == (False, "VI_1 is FAULT"), 5), \
        _announce(both, n)
    drain.write_text("0\n")
    assert both.wait_hops(BOTH, 15) is not None, both.nexthops()
    both.pyk_conf(n)
    os.kill(parent, signal.SIGHUP)
    assert wait_for(lambda: both.status(n).get("vrrp") is None, 15)
    assert both.wait_hops(BOTH, 10) is not None
