"""Interop with keepalived 2.3.3 (Debian 13) from its debootstrap'd root, both directions.

keepalived 2.3.3 runs chrooted in the neighbouring namespace (tests/helpers/kad233.py:
overlay root, /proc and /sys bound in, private mount namespace). Same VIPs: the MASTER keeps
the other side in BACKUP for well past its Master_Down_Interval and a SIGKILL hands the VIP
over. One VIP more on one side: keepalived 2.3.3 accepts such adverts (it logs the
mismatch), and so must we, whichever side has the extra VIP: the pair must never end with
two MASTERs.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from helpers import kad233
from nsrig import Proc, Rig, vrrp_conf

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

VIP = "192.0.2.100/24"
EXTRA = "192.0.2.101/24"
ADV = 0.1


def mdi(prio: int) -> float:
    return 3 * ADV + (256 - prio) / 256 * ADV


@pytest.fixture(autouse=True)
def _oracle() -> None:
    reason = kad233.skip_reason()
    if reason:
        pytest.skip(reason)


def start_233(rig: Rig, node: str, conf: str) -> Proc:
    path = rig.write_conf(node, conf, f"{node}.k233.conf")
    run_dir = rig.tmp / f"k233-{node}-{len(rig.procs)}"
    return rig._spawn(node, "kad", kad233.daemon_argv(rig.ns(node), path, run_dir),
                      rig.tmp / f"{node}.k233.log")


def start(rig: Rig, kind: str, node: str, state: str, prio: int, vips: tuple[str, ...]) -> Proc:
    conf = vrrp_conf(state=state, priority=prio, version=3, advert_int=ADV, vips=vips)
    return rig.start_py(node, conf) if kind == "py" else start_233(rig, node, conf)


def masters(rig: Rig) -> list[str]:
    return [n for n in ("a", "b") if rig.has_vip(n, VIP.split("/")[0])]


@pytest.mark.parametrize("master_kind", ["py", "k233"])
def test_same_vips(rig: Rig, master_kind: str) -> None:
    backup_kind = "k233" if master_kind == "py" else "py"
    m = start(rig, master_kind, "a", "MASTER", 100, (VIP,))
    assert rig.wait_log(m, "(VI_1) Entering MASTER STATE", mdi(100) + 5), m.text()
    b = start(rig, backup_kind, "b", "BACKUP", 90, (VIP,))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 5), b.text()
    time.sleep(2 * mdi(90) + 1.0)
    assert "Entering MASTER" not in b.text(), b.text()
    assert masters(rig) == ["a"]
    rig.kill(m, signal.SIGKILL, wait=5)
    assert rig.wait_vip("b", VIP.split("/")[0], mdi(90) + 2) is not None, b.text()


@pytest.mark.parametrize("extra_on", ["master", "backup"])
@pytest.mark.parametrize("master_kind", ["py", "k233"])
def test_one_vip_more_never_two_masters(rig: Rig, master_kind: str, extra_on: str) -> None:
    backup_kind = "k233" if master_kind == "py" else "py"
    mv = (VIP, EXTRA) if extra_on == "master" else (VIP,)
    bv = (VIP, EXTRA) if extra_on == "backup" else (VIP,)
    m = start(rig, master_kind, "a", "MASTER", 100, mv)
    assert rig.wait_log(m, "(VI_1) Entering MASTER STATE", mdi(100) + 5), m.text()
    b = start(rig, backup_kind, "b", "BACKUP", 90, bv)
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 5), b.text()
    deadline = time.monotonic() + 2 * mdi(90) + 1.5
    while time.monotonic() < deadline:  # bounded: never two MASTERs at any sample
        assert len(masters(rig)) <= 1, (m.text(), b.text())
        time.sleep(0.05)
    assert masters(rig) == ["a"], (m.text(), b.text())
    assert "Entering MASTER" not in b.text(), b.text()


def test_daemon_leaves_nothing_behind(rig: Rig, tmp_path: Path) -> None:
    p = start(rig, "k233", "a", "MASTER", 100, (VIP,))
    assert rig.wait_log(p, "(VI_1) Entering MASTER STATE", mdi(100) + 5), p.text()
    assert "Keepalived v2.3.3" in p.text() or "Starting Keepalived v2.3" in p.text(), p.text()
    rig.kill(p, signal.SIGTERM, wait=10)
    assert not p.alive()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert "pyk-kad233" not in mounts and str(tmp_path) not in mounts
