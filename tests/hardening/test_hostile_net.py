"""Hostile network: advert floods, spoofed adverts, ARP storms (netns, a third attacker node).

Extends tests/integration/test_vrrp_robust.py (malformed packets for our VRID, 20k pps) with
the attacks that *look valid*: adverts for other VRIDs, ours with a wrong PASS password, ours
with no auth at all but a higher priority, and an ARP storm. Figures: the MASTER's advert
gaps and jitter before and during the attack (captured in the observer/bridge namespace), the
BACKUP's state, RSS before/after (psutil) and the drop counters in the snapshot.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from netkit import (
    ARP_STORM,
    FLOOD,
    VIP1,
    attack,
    gaps,
    rss,
    snapshot,
    two_instances,
)
from nsrig import IP4, Rig, wait_for

pytestmark = [pytest.mark.netns, pytest.mark.slow]
MIB = 1 << 20


def _pair(rig: Rig, tmp: Path):  # type: ignore[no-untyped-def]
    a = rig.start_py("a", two_instances("MASTER", 100), "--dump", str(tmp / "a.json"))
    b = rig.start_py("b", two_instances("BACKUP", 90), "--dump", str(tmp / "b.json"))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 8), a.text()
    assert rig.wait_log(a, "(VI_2) Entering MASTER STATE", 2), a.text()
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 5), b.text()
    # settle: VI_1's Master_Down_Interval is 3.6 s, b may still win VI_1 briefly before that
    assert wait_for(lambda: rig.has_vip("a", VIP1) and not rig.has_vip("b", VIP1), 6)
    time.sleep(0.5)
    return a, b


def _moves(a, b) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """State changes after start-up: a leaving MASTER, b becoming MASTER."""
    return (a.text().count("Entering BACKUP STATE") - a.text().count("BACKUP STATE (init)"),
            b.text().count("Entering MASTER STATE"))


def _split(frames: list, t_attack: tuple[float, float], vrid: int) -> tuple[list, list]:  # type: ignore[type-arg]
    adv = [f.ts for f in frames if f.kind == "vrrp4" and f.src == IP4["a"] and f.vrid == vrid]
    before = [t for t in adv if t < t_attack[0]]
    during = [t for t in adv if t_attack[0] <= t <= t_attack[1]]
    return before, during


def test_flood_other_vrid_wrong_auth_and_spoof(rig3: Rig, tmp_path: Path) -> None:
    rig = rig3
    a, b = _pair(rig, tmp_path)
    time.sleep(2.0)  # warm up: imports, first snapshot, steady allocations
    snapshot(b, tmp_path / "b.json")
    snapshot(a, tmp_path / "a.json")
    rss0 = {"a": rss(a.pid), "b": rss(b.pid)}
    moves0 = _moves(a, b)  # b can win briefly at start-up, before a's first advert
    rig.start_capture(filt="ether src 02:00:00:00:00:0a")
    time.sleep(2.0)  # baseline
    t0 = time.time()
    # a defined load, 120k pkt/s (40k/s at VI_1's VRID, 80k/s at others), not a race between
    # attacker and defender for the same 2 cores: at the attacker's full speed (160-205k pkt/s
    # here) the backup's VRRP child reads ~54k pkt/s of its own VRID, saturated, and VI_2's
    # adverts, sharing the socket's queue (keepalived's sockpool), were lost in ~1 run of 3
    sent = attack(rig, "c", FLOOD, "6", IP4["c"], "other_vrid,wrong_auth,no_auth", "120000")
    t1 = time.time()
    time.sleep(0.5)
    frames = rig.stop_capture()
    rate = sent / (t1 - t0)
    base2, during2 = _split(frames, (t0, t1), 52)
    _base1, during1 = _split(frames, (t0, t1), 51)
    gb, gd, g1 = gaps(base2), gaps(during2), gaps(during1)
    snap_b = snapshot(b, tmp_path / "b.json")
    snap_a = snapshot(a, tmp_path / "a.json")
    rss1 = {"a": rss(a.pid), "b": rss(b.pid)}
    c_b = snap_b["instances"]["VI_1"]["counters"]
    c_a = snap_a["instances"]["VI_1"]["counters"]
    socks_b = snap_b.get("sockets", {}).values()
    unknown = sum(s["unknown_vrid"] for s in socks_b)
    rx_b = sum(s["rx"] for s in socks_b)
    print(f"\nflood: {sent} packets in {t1 - t0:.1f} s = {rate:.0f} pkt/s "
          f"(6 kinds: 4 other VRIDs, 1 wrong PASS, 1 no-auth prio 254)")
    print(f"  VI_2 (0.1 s) before: {gb}")
    print(f"  VI_2 (0.1 s) during: {gd}")
    print(f"  VI_1 (1 s)   during: {g1}")
    print(f"  RSS a {rss0['a'] / MIB:.1f} -> {rss1['a'] / MIB:.1f} MiB, "
          f"b {rss0['b'] / MIB:.1f} -> {rss1['b'] / MIB:.1f} MiB")
    print(f"  b drops: auth_failure {c_b.get('auth_failure')}, authtype_mismatch "
          f"{c_b.get('authtype_mismatch')}, unknown VRID {unknown} (read {rx_b}); "
          f"loop lateness max {snap_a['loop']['lateness_recent_max'] * 1e3:.1f} ms")
    assert rate >= 90_000
    # the MASTER kept its rhythm: no advert lost; at ~100k pkt/s one core is saturated and a
    # single advert can be up to ~90 ms late, still far from the BACKUP's
    # Master_Down_Interval (0.365 s)
    assert gd.n >= 0.8 * (t1 - t0) / 0.1 and gd.max_gap < 0.25 and gd.jitter < 0.03
    assert g1.n >= 4 and g1.max_gap < 1.3
    # nobody moved
    assert snap_b["instances"]["VI_1"]["state"] == "BACKUP"
    assert snap_a["instances"]["VI_1"]["state"] == "MASTER"
    assert _moves(a, b) == moves0, b.text()[-3000:]
    assert rig.has_vip("a", VIP1) and not rig.has_vip("b", VIP1)
    # every attack packet is accounted for in the snapshot
    assert c_b["auth_failure"] > 0.9 * sent / 6 * 0.5
    assert c_b["authtype_mismatch"] > 0.9 * sent / 6 * 0.5
    assert c_a["auth_failure"] > 0 and c_a["authtype_mismatch"] > 0
    # the 4 other VRIDs never left the kernel (VRID filter): b read ~ the 2 kinds for VRID 51
    assert all(s["vrid_filter"] for s in socks_b)
    assert unknown == 0 and rx_b < 0.4 * sent
    # the master stayed master only with its own real adverts: the BACKUP's last heard
    # advert is a's, not the attacker's
    assert snap_b["instances"]["VI_1"]["last_advert"]["source"] == IP4["a"]
    # memory flat: well under a MiB per 10^5 packets (Counter keys and rate-limited logs)
    for n in ("a", "b"):
        assert rss1[n] - rss0[n] < 4 * MIB, (n, rss0[n], rss1[n])
    # drop logs are rate limited (one line per reason per second)
    assert b.text().count("received an invalid passwd") <= 12


def test_pass_auth_is_not_security(rig3: Rig, tmp_path: Path) -> None:
    """A sniffed PASS password lets anyone win the election: PASS only separates
    configurations, it authenticates nothing (why README.md points to AH or a trusted L2)."""
    rig = rig3
    a, _b = _pair(rig, tmp_path)
    # without the password: dropped, nothing moves (shown at scale above); with it: takeover
    attack(rig, "c", FLOOD, "1.5", IP4["c"], "good_pass")
    assert rig.wait_log(a, "(VI_1) Entering BACKUP STATE", 2), a.text()[-2000:]
    assert rig.wait_vip("a", VIP1, 3, present=False)


def test_arp_storm_does_not_disturb_adverts(rig3: Rig, tmp_path: Path) -> None:
    rig = rig3
    a, b = _pair(rig, tmp_path)
    time.sleep(1.0)
    rss0 = rss(a.pid)
    moves0 = _moves(a, b)
    rig.start_capture(filt="ether src 02:00:00:00:00:0a and not arp")
    time.sleep(1.5)
    out: list[int] = []
    th = threading.Thread(target=lambda: out.append(attack(rig, "c", ARP_STORM, "5")))
    t0 = time.time()
    th.start()
    th.join()
    t1 = time.time()
    frames = rig.stop_capture()
    _, during = _split(frames, (t0, t1), 52)
    g = gaps(during)
    rate = out[0] / (t1 - t0)
    print(f"\nARP storm: {out[0]} frames in {t1 - t0:.1f} s = {rate:.0f} frames/s; "
          f"VI_2 during: {g}; RSS a {rss0 / MIB:.1f} -> {rss(a.pid) / MIB:.1f} MiB")
    assert rate >= 10_000
    assert g.n >= 0.8 * (t1 - t0) / 0.1 and g.max_gap < 0.2
    assert _moves(a, b) == moves0
    assert rss(a.pid) - rss0 < 4 * MIB
