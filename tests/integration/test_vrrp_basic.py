"""pykeepalived against pykeepalived in network namespaces: real processes, real packets."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from nsrig import IP4, Rig, vrrp_conf

pytestmark = pytest.mark.netns
VIP = "192.0.2.100"


def test_election_and_kill9_failover(rig: Rig) -> None:
    """b joins a running master and stays BACKUP; a SIGKILLed master is replaced after MDI."""
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    assert rig.wait_vip("a", VIP, 2)
    b = rig.start_py("b", vrrp_conf(state="BACKUP", priority=90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    assert not rig.has_vip("b", VIP)
    assert "Entering MASTER" not in b.text()
    rig.start_capture()
    t0 = rig.kill(a, signal.SIGKILL)
    t1 = rig.wait_vip("b", VIP, 3)
    frames = rig.stop_capture()
    assert t1 is not None, b.text()
    garp = [f for f in frames if f.kind == "garp" and f.src_mac.endswith("0b") and f.ts > t0]
    assert garp, "no GARP from b after the kill"
    dt = garp[0].ts - t0
    print(f"kill -9 -> first GARP of b: {dt * 1000:.1f} ms; -> VIP seen {1000 * (t1 - t0):.1f} ms")
    # MDI(b) = 3*0.1 + (256-90)/256*0.1 = 0.365 s; the kill lands anywhere in an interval
    assert 0.2 < dt < 0.5


def _skew(prio: int, adv: float = 0.1) -> float:
    return (256 - prio) / 256 * adv


def test_sigterm_graceful_failover(rig: Rig) -> None:
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    time.sleep(0.5)
    rig.start_capture()
    t0 = rig.kill(a, signal.SIGTERM)
    t1 = rig.wait_vip("b", VIP, 2)
    a.popen.wait(5)
    frames = rig.stop_capture()
    assert t1 is not None, b.text()
    assert a.popen.returncode == 0, a.text()
    assert not rig.has_vip("a", VIP)
    assert "(VI_1) sent 0 priority" in a.text()
    prio0 = [f for f in frames if f.kind == "vrrp4" and f.src == IP4["a"] and f.prio == 0]
    assert len(prio0) == 1
    first_b = next(f for f in frames if f.kind == "vrrp4" and f.src == IP4["b"])
    gap = first_b.ts - prio0[0].ts
    print(f"SIGTERM -> prio 0 {1000 * (prio0[0].ts - t0):.1f} ms; prio 0 -> b's first advert "
          f"{1000 * gap:.1f} ms (skew {1000 * _skew(90):.1f} ms); -> VIP {1000 * (t1 - t0):.0f} ms")
    assert _skew(90) - 0.005 < gap < _skew(90) + 0.05


def test_preempt(rig: Rig) -> None:
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_log(b, "(VI_1) Entering MASTER STATE", 5), b.text()
    a = rig.start_py("a", vrrp_conf(priority=100))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    assert rig.wait_vip("a", VIP, 1)
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 2, count=2), b.text()
    assert rig.wait_vip("b", VIP, 1, present=False)
    assert "received lower priority (90) advert from 192.0.2.12 - discarding" in a.text()


def test_nopreempt(rig: Rig) -> None:
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_log(b, "(VI_1) Entering MASTER STATE", 5), b.text()
    a = rig.start_py("a", vrrp_conf(priority=100, extra="    nopreempt\n"))
    assert rig.wait_log(a, "(VI_1) Entering BACKUP STATE (init)", 5), a.text()
    time.sleep(1.5)  # > 3 Master_Down_Intervals
    assert "Entering MASTER" not in a.text()
    assert rig.has_vip("b", VIP) and not rig.has_vip("a", VIP)
    # ... but it does take over when the master goes away
    rig.kill(b, signal.SIGTERM)
    assert rig.wait_vip("a", VIP, 2), a.text()


def test_track_script_moves_vip(rig: Rig, tmp_path: Path) -> None:
    flag = tmp_path / "fail"
    top = (f"vrrp_script chk {{\n    script \"/usr/bin/test ! -e {flag}\"\n    interval 1\n"
           "    weight -20\n    fall 1\n    rise 1\n}\n")
    extra = "    track_script {\n        chk\n    }\n"
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100, top=top, extra=extra))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    flag.write_text("")
    assert rig.wait_vip("b", VIP, 4), a.text() + b.text()
    assert rig.wait_vip("a", VIP, 1, present=False)
    assert "Changing effective priority from 100 to 80" in a.text()
    flag.unlink()
    assert rig.wait_vip("a", VIP, 4), a.text()
    assert rig.wait_vip("b", VIP, 1, present=False)


def test_interface_down_fault(rig: Rig) -> None:
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    rig.exec("a", "ip", "link", "set", "eth0", "down", check=True)
    assert rig.wait_log(a, "(VI_1) Entering FAULT STATE", 2), a.text()
    assert rig.wait_vip("b", VIP, 2), b.text()
    assert rig.wait_vip("a", VIP, 1, present=False)
    rig.exec("a", "ip", "link", "set", "eth0", "up", check=True)
    assert rig.wait_log(a, "(VI_1) Entering BACKUP STATE", 3, count=2), a.text()
    assert rig.wait_vip("a", VIP, 3), a.text()  # preempts back
    assert rig.wait_vip("b", VIP, 1, present=False)


def test_unicast_peers(rig: Rig) -> None:
    def uconf(me: str, peer: str, prio: int, state: str) -> str:
        return vrrp_conf(state=state, priority=prio, extra=(
            f"    unicast_src_ip {IP4[me]}\n    unicast_peer {{\n        {IP4[peer]}\n    }}\n"))

    a = rig.start_py("a", uconf("a", "b", 100, "MASTER"))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    rig.start_capture()
    b = rig.start_py("b", uconf("b", "a", 90, "BACKUP"))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    time.sleep(1.0)
    frames = rig.stop_capture()
    assert "Entering MASTER" not in b.text()
    adv = [f for f in frames if f.kind == "vrrp4" and f.src == IP4["a"]]
    assert len(adv) >= 8 and all(f.dst == IP4["b"] and f.ttl == 255 for f in adv)
    assert not any(f.kind == "vrrp4" and f.dst == "224.0.0.18" for f in frames)
    rig.kill(a, signal.SIGKILL)
    assert rig.wait_vip("b", VIP, 2), b.text()


def test_ipv6_v3_and_na(rig: Rig) -> None:
    vip6 = "2001:db8::100"
    rig.start_capture()
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100, vips=(f"{vip6}/64",)))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    b = rig.start_py("b", vrrp_conf(priority=90, vips=(f"{vip6}/64",)))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    assert rig.wait_vip("a", vip6, 2)
    time.sleep(1.0)
    assert "Entering MASTER" not in b.text()
    t0 = rig.kill(a, signal.SIGKILL)
    assert rig.wait_vip("b", vip6, 2), b.text()
    time.sleep(0.2)
    frames = rig.stop_capture()
    adv = [f for f in frames if f.kind == "vrrp6" and f.src_mac.endswith("0a")]
    assert adv and all(f.dst == "ff02::12" and f.ttl == 255 and
                       f.src.startswith("fe80::") for f in adv)
    na_a = [f for f in frames if f.kind == "na" and f.src_mac.endswith("0a")]
    na_b = [f for f in frames if f.kind == "na" and f.src_mac.endswith("0b") and f.ts > t0]
    assert len(na_a) == 5 and len(na_b) == 5
    assert all(f.target == vip6 and f.src == vip6 and f.dst == "ff02::1" for f in na_a + na_b)


def test_garp_schedule(rig: Rig) -> None:
    """5 GARPs at once, 3 more rounds 1 s later, then a refresh every 2 s (from MASTER)."""
    extra = ("    garp_master_repeat 3\n    garp_master_delay 1\n    garp_master_refresh 2\n"
             "    garp_master_refresh_repeat 2\n")
    rig.start_capture()
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100,
                                    vips=("192.0.2.100/24", "192.0.2.101/24"), extra=extra))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    time.sleep(4.4)
    frames = rig.stop_capture()
    garps = [f for f in frames if f.kind == "garp"]
    assert garps, a.text()
    t0 = garps[0].ts
    rel = [(round(f.ts - t0, 1), f.target) for f in garps]
    bursts: dict[float, list[str]] = {}
    for t, tgt in rel:
        bursts.setdefault(round(t), []).append(tgt)
    # 0 s: 3 rounds x 2 VIPs interleaved; 1 s: again; 2 s and 4 s: refresh 2 rounds
    assert bursts[0] == ["192.0.2.100", "192.0.2.101"] * 3, rel
    assert bursts[1] == ["192.0.2.100", "192.0.2.101"] * 3, rel
    assert bursts[2] == ["192.0.2.100", "192.0.2.101"] * 2, rel
    assert bursts[4] == ["192.0.2.100", "192.0.2.101"] * 2, rel
    assert set(bursts) == {0, 1, 2, 4}, rel


def test_notify_scripts_and_fifo(rig: Rig, tmp_path: Path) -> None:
    out = tmp_path / "notify.out"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {out}\n')
    script.chmod(0o755)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        extra = (f"    notify {script}\n    notify_master \"{script} I_AM_MASTER\"\n"
                 f"    notify_stop {script}\n")
        a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100, extra=extra,
                                        globals_extra=f"    vrrp_notify_fifo {fifo}\n"))
        assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
        rig.kill(a, signal.SIGTERM, wait=10)
        lines = out.read_text().splitlines()
        assert lines == ["INSTANCE VI_1 BACKUP 100", "I_AM_MASTER", "INSTANCE VI_1 MASTER 100",
                         "", "INSTANCE VI_1 STOP 100"], lines
        data = os.read(rfd, 4096).decode()
        assert data.splitlines() == ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 100',
                                     'INSTANCE "VI_1" STOP 100'], data
    finally:
        os.close(rfd)


def test_simultaneous_start_converges_to_higher_priority(rig: Rig) -> None:
    """Started together, whoever's timer fires first may be MASTER for a moment; the higher
    priority must end up MASTER and the VIP on exactly one node."""
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100))
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_vip("a", VIP, 5), a.text()
    assert rig.wait_vip("b", VIP, 2, present=False), b.text()
    time.sleep(0.5)
    assert rig.has_vip("a", VIP) and not rig.has_vip("b", VIP)
    assert "(VI_1) Entering BACKUP STATE" in b.text()
