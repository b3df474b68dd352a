"""promote_secondaries: set on the instance's interface while the daemon runs, and put back
as it was when it stops, as keepalived 2.2.7 does (same config, same rig)."""

from __future__ import annotations

import os
import signal

import pytest
from nsrig import KEEPALIVED, Rig, vrrp_conf

pytestmark = pytest.mark.netns

KEY = "net.ipv4.conf.eth0.promote_secondaries"


def value(rig: Rig) -> str:
    return rig.exec("a", "sysctl", "-n", KEY).stdout.strip()


@pytest.mark.parametrize("kind", ["py", "kad"])
def test_set_while_running_restored_after(rig: Rig, kind: str) -> None:
    if kind == "kad" and not os.access(KEEPALIVED, os.X_OK):
        pytest.skip("needs keepalived 2.2.7")
    assert value(rig) == "0"
    conf = vrrp_conf(state="MASTER", priority=100, extra="    promote_secondaries\n")
    p = rig.start_py("a", conf) if kind == "py" else rig.start_kad("a", conf)
    assert rig.wait_log(p, "(VI_1) Entering MASTER STATE", 5), p.text()
    assert value(rig) == "1", p.text()
    rig.kill(p, signal.SIGTERM, wait=10)
    assert not p.alive()
    print(f"[{kind}] after stop: {value(rig)}")
    assert value(rig) == "0", p.text()
