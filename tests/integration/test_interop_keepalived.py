"""Interop with the real keepalived 2.2.7 in the neighbouring namespace, both directions.

Each case: the MASTER (prio 100) keeps the other side (prio 90) in BACKUP for several
Master_Down_Intervals with no complaints in keepalived's log; the BACKUP takes over when the
MASTER is SIGKILLed; the restarted MASTER preempts it back; a SIGTERM hands over gracefully.
"""

from __future__ import annotations

import re
import signal
import time
from dataclasses import dataclass

import pytest
from nsrig import Proc, Rig, vrrp_conf

pytestmark = [pytest.mark.netns, pytest.mark.keepalived]

# keepalived's complaints about received adverts (see research/kad-dumps/README.md)
KAD_ERRORS = re.compile(r"invalid|unexpected|mismatch|wrong|bogus|too short|checksum|"
                        r"not present|Error|error", re.I)


@dataclass(frozen=True)
class Case:
    id: str
    version: int
    advert_int: float
    vip: str
    auth: str | None = None
    auth_type: str = "PASS"
    # AH: the receiver keeps the dead master's sequence number as its replay floor, so a
    # restarted master (sequence from 1 again) is dropped ("IPSEC-AH : sequence number 1
    # already processed") - keepalived 2.2.7 does that to us and to itself; skip that part
    restart: bool = True

    @property
    def addr(self) -> str:
        return self.vip.split("/")[0]

    def mdi(self, prio: int) -> float:
        skew = (256 - prio) / 256 * (self.advert_int if self.version == 3 else 1)
        return 3 * self.advert_int + skew


CASES = [
    Case("v2-pass", 2, 1, "192.0.2.100/24", auth="1111"),
    Case("v2-ah", 2, 1, "192.0.2.100/24", auth="secret", auth_type="AH",
         restart=False),
    Case("v3-ipv4", 3, 0.1, "192.0.2.100/24"),
    Case("v3-ipv6", 3, 0.1, "2001:db8::100/64"),
]


def _conf(c: Case, state: str, prio: int) -> str:
    return vrrp_conf(state=state, priority=prio, version=c.version, advert_int=c.advert_int,
                     vips=(c.vip,), auth=c.auth, auth_type=c.auth_type)


def _start(rig: Rig, kind: str, node: str, conf: str) -> Proc:
    return rig.start_py(node, conf) if kind == "py" else rig.start_kad(node, conf)


def _kad_errors(p: Proc) -> list[str]:
    if p.kind != "kad":
        return []
    return [ln for ln in p.text().splitlines() if KAD_ERRORS.search(ln)
            and "Entering" not in ln]


@pytest.mark.parametrize("master_kind", ["py", "kad"], ids=["py-master", "kad-master"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_interop(rig: Rig, case: Case, master_kind: str) -> None:
    backup_kind = "kad" if master_kind == "py" else "py"
    m = _start(rig, master_kind, "a", _conf(case, "MASTER", 100))
    assert rig.wait_log(m, "(VI_1) Entering MASTER STATE", case.mdi(100) + 3), m.text()
    b = _start(rig, backup_kind, "b", _conf(case, "BACKUP", 90))
    assert rig.wait_vip("a", case.addr, 2)
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 5), b.text()
    # hold: well past the backup's Master_Down_Interval, it must stay BACKUP
    time.sleep(2 * case.mdi(90) + 0.3)
    assert "Entering MASTER" not in b.text(), b.text()
    assert not rig.has_vip("b", case.addr)
    assert _kad_errors(m) == [] and _kad_errors(b) == []

    # hard failover: the backup takes over after its Master_Down_Interval
    t0 = rig.kill(m, signal.SIGKILL, wait=5)
    t1 = rig.wait_vip("b", case.addr, case.mdi(90) + 2)
    assert t1 is not None, b.text()
    print(f"[{case.id} {master_kind} master] kill -9 -> VIP on {backup_kind}: "
          f"{(t1 - t0) * 1000:.0f} ms (MDI {case.mdi(90) * 1000:.0f} ms)")
    rig.exec("a", "ip", "addr", "del", case.vip, "dev", "eth0")  # a SIGKILLed daemon leaves it
    if not case.restart:
        assert _kad_errors(b) == []
        return

    # restart the old master: it preempts back
    m2 = _start(rig, master_kind, "a", _conf(case, "MASTER", 100))
    assert rig.wait_vip("a", case.addr, case.mdi(100) + 4), m2.text()
    assert rig.wait_vip("b", case.addr, 2, present=False), b.text()
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 3, count=2), b.text()

    # graceful: priority 0 advert, backup takes over after its skew time
    time.sleep(0.5)
    t0 = rig.kill(m2, signal.SIGTERM)
    t1 = rig.wait_vip("b", case.addr, 3)
    assert t1 is not None, b.text()
    print(f"[{case.id} {master_kind} master] SIGTERM -> VIP on {backup_kind}: "
          f"{(t1 - t0) * 1000:.0f} ms")
    m2.popen.wait(10)
    assert not rig.has_vip("a", case.addr)
    assert _kad_errors(m2) == [] and _kad_errors(b) == []
