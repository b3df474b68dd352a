"""Reload under load: SIGHUP every 100 ms to the real daemon while a client pings the VIP.

An operator's config-management run may reload often; a MASTER must keep its VIP and its
state (no MASTER->BACKUP->MASTER flap, no lost pings). The peer stays BACKUP throughout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from nsrig import PYTHON, Rig, vrrp_conf

pytestmark = [pytest.mark.netns, pytest.mark.slow]

DURATION = 10.0  # seconds of reloads (the 30 s is the bench figure; CI keeps it short)


def test_reload_every_100ms_keeps_master_and_vip(rig: Rig) -> None:
    conf = rig.write_conf("a", vrrp_conf(state="MASTER", priority=200, version=3,
                                         advert_int=0.1))
    tmp = rig.tmp
    argv = ["ip", "netns", "exec", rig.ns("a"), PYTHON, "-m", "pykeepalived", "-n", "-l", "-G",
            "-P", "-f", str(conf), "-p", str(tmp / "p.pid"), "-r", str(tmp / "v.pid"),
            "-c", str(tmp / "c.pid"), "--state-dir", str(tmp / "state"),
            "--dump-dir", str(tmp)]
    a = rig._spawn("a", "py", argv, tmp / "a.daemon.log")
    b = rig.start_py("b", vrrp_conf(priority=100, version=3, advert_int=0.1))
    assert rig.wait_vip("a", "192.0.2.100", 10) is not None
    assert rig.wait_log(b, "Entering BACKUP STATE", 5) is not None
    ping = subprocess.Popen(["ip", "netns", "exec", rig.ns("b"), "ping", "-n", "-q", "-i",
                             "0.05", "-w", str(int(DURATION) + 1), "192.0.2.100"],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    before_a, before_b = a.text(), b.text()
    end = time.monotonic() + DURATION
    reloads = 0
    lost_vip = 0
    while time.monotonic() < end:
        os.kill(a.pid, signal.SIGHUP)
        reloads += 1
        time.sleep(0.1)
        if reloads % 10 == 0 and not rig.has_vip("a", "192.0.2.100"):
            lost_vip += 1
    out, _ = ping.communicate(timeout=DURATION + 10)
    during_a, during_b = a.text()[len(before_a):], b.text()[len(before_b):]
    assert reloads >= DURATION * 5
    assert lost_vip == 0
    for state in ("MASTER", "BACKUP", "FAULT"):  # no transition at all while reloading
        assert f"Entering {state} STATE" not in during_a, during_a[-3000:]
        assert f"Entering {state} STATE" not in during_b, during_b[-3000:]
    assert during_a.count("Reload complete") >= reloads // 2
    assert " 0% packet loss" in out, out
