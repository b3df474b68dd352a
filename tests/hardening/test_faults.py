"""Faults: partition and heal, interface down/up, hung scripts, disk full, clock jumps.

kill -9 of the children and of the parent is covered by tests/daemon/test_daemon_process.py
and the VIP removed behind our back by tests/integration/test_vrrp_robust.py; not repeated.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from nsrig import IP4, MAC, Rig, sh, vrrp_conf, wait_for

from pykeepalived.vrrp import fsm

ROOT = Path(__file__).resolve().parents[2]
VIP = "192.0.2.100"


def _isolate(rig: Rig, on: bool) -> float:
    """Partition a from b at L2 (bridge port isolation): each still reaches the observer."""
    t = time.time()
    for n in ("a", "b"):
        sh("ip", "netns", "exec", rig.br, "bridge", "link", "set", "dev", f"p-{n}", "isolated",
           "on" if on else "off")
    return t


@pytest.mark.netns
@pytest.mark.slow
@pytest.mark.parametrize("send_advert", [False, True],
                         ids=["default", "higher_prio_send_advert"])
def test_partition_both_master_then_heal_one_master_and_garps(rig: Rig, send_advert: bool
                                                              ) -> None:
    """keepalived issue #166: after the heal the surviving MASTER must re-announce its VIPs
    (the loser's GARPs during the split pointed the network at the wrong MAC).

    The survivor re-announces when it hears the loser's lower-priority advert. With
    keepalived's defaults that is a race: if the loser hears the winner first it backs off
    silently and the winner never learns there was a split (no GARPs). keepalived's answer,
    which we follow, is ``higher_prio_send_advert``: the loser sends one more advert as it
    backs off, so the winner always re-announces. Both cases are measured; only the second
    is asserted to GARP."""
    extra = "    higher_prio_send_advert\n" if send_advert else ""
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100, extra=extra))
    b = rig.start_py("b", vrrp_conf(priority=90, extra=extra))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 6), a.text()
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 4), b.text()
    rig.start_capture()
    time.sleep(0.5)
    n_b = b.text().count("(VI_1) Entering MASTER STATE")  # b may have won briefly at start
    t_split = _isolate(rig, True)
    t_b = rig.wait_log(b, "(VI_1) Entering MASTER STATE", 3, count=n_b + 1)
    assert t_b, b.text()
    assert rig.wait_vip("b", VIP, 2) and rig.has_vip("a", VIP)  # split brain, as expected
    time.sleep(1.0)
    t_heal = _isolate(rig, False)
    t_one = wait_for(lambda: not rig.has_vip("b", VIP), 3)
    assert t_one, b.text()
    time.sleep(1.5)
    frames = rig.stop_capture()
    garps_a = [f.ts for f in frames if f.kind == "garp" and f.src_mac == MAC["a"]
               and f.target == VIP and f.ts > t_heal]
    garps_b = [f.ts for f in frames if f.kind == "garp" and f.src_mac == MAC["b"]
               and f.target == VIP and t_split < f.ts < t_heal]
    late = [f for f in frames if f.kind == "vrrp4" and f.ts > t_one + 0.3]
    print(f"\npartition: b MASTER {t_b - t_split:.2f} s after the split; after heal one "
          f"MASTER in {t_one - t_heal:.2f} s; GARPs from b during split {len(garps_b)}, "
          f"from a after heal {len(garps_a)}"
          + (f" (first {min(garps_a) - t_heal:.2f} s after)" if garps_a else ""))
    assert t_one - t_heal < 1.0  # a few 100 ms adverts
    assert garps_b, "b announced the VIP during the split"
    if send_advert:
        assert garps_a and min(garps_a) - t_heal < 1.0, "a did not re-announce after the heal"
    assert {f.src for f in late} == {IP4["a"]}  # only a advertises now
    assert rig.has_vip("a", VIP)
    assert "Entering BACKUP" not in a.text().replace("BACKUP STATE (init)", "")


@pytest.mark.netns
@pytest.mark.slow
def test_interface_down_up_fault_and_back(rig: Rig) -> None:
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100))
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 6), a.text()
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 4), b.text()
    time.sleep(0.5)
    n_a = a.text().count("(VI_1) Entering MASTER STATE")
    n_b = b.text().count("(VI_1) Entering MASTER STATE")  # b may have won briefly at start
    t0 = time.time()
    rig.exec("a", "ip", "link", "set", "eth0", "down", check=True)
    t_fault = rig.wait_log(a, "(VI_1) Entering FAULT STATE", 3)
    t_b = rig.wait_log(b, "(VI_1) Entering MASTER STATE", 3, count=n_b + 1)
    assert t_fault and t_b, a.text()
    assert rig.wait_vip("b", VIP, 2)
    t1 = time.time()
    rig.exec("a", "ip", "link", "set", "eth0", "up", check=True)
    t_back = rig.wait_log(a, "(VI_1) Entering MASTER STATE", 6, count=n_a + 1)
    assert t_back, a.text()
    assert rig.wait_vip("b", VIP, 3, present=False), b.text()
    assert rig.wait_vip("a", VIP, 2)
    print(f"\nlink down -> FAULT {t_fault - t0:.2f} s, b MASTER {t_b - t0:.2f} s; "
          f"link up -> a MASTER again {t_back - t1:.2f} s")
    assert t_fault - t0 < 1.0 and t_b - t0 < 1.0  # b: Master_Down_Interval ~0.33 s


@pytest.mark.netns
@pytest.mark.slow
def test_hung_vrrp_script_is_killed_at_timeout(rig: Rig, tmp_path: Path) -> None:
    import psutil

    top = ('vrrp_script chk_hang {\n    script "/bin/sleep 1000"\n    interval 1\n'
           '    timeout 1\n    fall 1\n    rise 1\n}\n')
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100, top=top,
                                    extra="    track_script {\n        chk_hang\n    }\n"))
    t0 = time.time()
    t_fail = rig.wait_log(a, "VRRP_Script(chk_hang) failed", 6)
    assert t_fail, a.text()
    assert "timed out" in a.text()
    assert rig.wait_log(a, "(VI_1) Entering FAULT STATE", 2), a.text()
    # never more than one sleep in flight, and each dies at its timeout
    # never more than one sleep in flight, and each dies at its timeout (lifetime measured by
    # polling: psutil's create_time has whole-second boot-time granularity)
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    end = time.monotonic() + 3.5
    while time.monotonic() < end:
        kids = []
        for p in psutil.Process(a.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if p.cmdline()[:2] == ["/bin/sleep", "1000"] and p.status() != "zombie":
                    kids.append(p.pid)
        assert len(kids) <= 1
        now = time.monotonic()
        for k in kids:
            first.setdefault(k, now)
            last[k] = now
        time.sleep(0.02)
    done = [k for k in first if last[k] < end - 0.1]  # runs that ended inside the window
    lives = [last[k] - first[k] for k in done]
    print(f"\nhung vrrp_script: failure after {t_fail - t0:.2f} s from start; "
          f"{len(first)} runs observed in 3.5 s, longest observed life "
          f"{max(lives, default=0):.2f} s (timeout 1 s)")
    assert len(done) >= 2 and max(lives) < 1.0 + 0.2
    assert not rig.has_vip("a", VIP)


def test_hung_misc_check_is_killed_at_timeout(tmp_path: Path) -> None:
    """MISC_CHECK `sleep 1000` in the pool: down at misc_timeout, the process is gone."""
    import psutil

    sys.path.insert(0, str(ROOT / "tests" / "check"))
    from checkutil import Recorder, chk, down, one, run

    from pykeepalived.check.pool import CheckerPool
    from pykeepalived.config.model import Script

    cfg = one(chk("MISC_CHECK", misc_path=Script(("/bin/sleep", "1000")), misc_timeout=0.5,
                  delay_loop=5), 8080)

    async def main() -> float:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await pool.start()
        ev = await rec.wait(down, 5.0)
        took = ev.at - t0
        assert not [p for p in psutil.Process().children(recursive=True)
                    if p.cmdline()[:2] == ["/bin/sleep", "1000"] and p.status() != "zombie"]
        await pool.stop()
        return took

    took = run(main())
    print(f"\nhung MISC_CHECK: down after {took:.2f} s (misc_timeout 0.5 s + SIGTERM grace)")
    assert 0.45 <= took <= 0.5 + 0.5 + 0.4


# --------------------------------------------------------------------------- disk full

DAEMON_CONF = """
vrrp_instance VI_1 {
    state MASTER
    interface veth0
    virtual_router_id 51
    priority 255
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""


@pytest.mark.netns
@pytest.mark.slow
def test_disk_full_for_dump_files(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (mount, netns)")
    ns = f"pykh-{uuid.uuid4().hex[:8]}"
    dump = tmp_path / "dumps"
    dump.mkdir()
    sh("ip", "netns", "add", ns)
    sh("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(dump))
    proc: subprocess.Popen[bytes] | None = None
    try:
        sh("ip", "-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1")
        for dev in ("lo", "veth0", "veth1"):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "addr", "add", "192.0.2.11/24", "dev", "veth0")
        conf = tmp_path / "k.conf"
        conf.write_text(DAEMON_CONF)
        log = tmp_path / "daemon.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-m", "pykeepalived", "-n", "-l",
                 "-G", "-P", "-f", str(conf), "-p", str(tmp_path / "p.pid"), "-r",
                 str(tmp_path / "v.pid"), "-c", str(tmp_path / "c.pid"), "--state-dir",
                 str(tmp_path / "state"), "--dump-dir", str(dump)],
                stdout=fh, stderr=fh, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        text = lambda: log.read_text(errors="replace")  # noqa: E731
        assert wait_for(lambda: "Entering MASTER STATE" in text(), 10), text()
        # fill the file system
        fd = os.open(dump / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 4096)
        os.close(fd)
        parent = proc.pid
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGRTMIN + 2):
            os.kill(parent, sig)
        assert wait_for(lambda: text().count("cannot write dump file") >= 3, 5), text()
        assert "No space left on device" in text()
        time.sleep(1.5)
        assert proc.poll() is None
        assert not [p for p in dump.iterdir() if p.name.startswith(".keepalived")], \
            "temp files left behind"
        state = (tmp_path / "state" / "vrrp.json").read_text()
        assert '"MASTER"' in state
        # space comes back: dumps work again without a restart
        (dump / "filler").unlink()
        os.kill(parent, signal.SIGUSR1)
        assert wait_for(lambda: (dump / "keepalived.data").exists(), 5), text()
        print("\ndisk full: 3 dump signals -> 3 logged errors, daemon kept running; "
              "dumps work again once space is freed")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        sh("umount", str(dump), check=False)
        sh("ip", "netns", "del", ns, check=False)


# --------------------------------------------------------------------------- clock jumps

def test_timers_use_the_monotonic_clock_only() -> None:
    """Inspection: no timer decision reads the wall clock.

    fsm.py reads no clock at all (``now`` is passed in); the engine schedules with
    loop.call_at(loop.time()) (monotonic); time.time() is only stored for display
    (last_transition, last advert time) and, in sockets.py, to age the kernel's
    (wall-clock) receive stamp of an advert, clamped to [0, 0.5 s] (rx_monotonic)."""
    vrrp = ROOT / "pykeepalived" / "vrrp"
    allowed = {("engine.py", "last_transition"), ("engine.py", "last_time"),
               ("sockets.py", "rx_monotonic(anc, time.monotonic(), time.time())"),
               ("effectors.py", "return time.time()")}  # Clock.wall(), checked below
    for path in sorted(vrrp.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("time", "sleep_until")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("time", "datetime")):
                continue
            line = path.read_text().splitlines()[node.lineno - 1]
            assert any(path.name == f and what in line for f, what in allowed), \
                f"{path.name}:{node.lineno} reads the wall clock: {line.strip()}"
    # the injected clock's wall() is read for display fields only
    for path in sorted(vrrp.glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if ".wall()" in line:
                assert "last_transition" in line or "last_time" in line, \
                    f"{path.name}:{n} reads the wall clock: {line.strip()}"
    assert "import time" not in (vrrp / "fsm.py").read_text()
    loop = asyncio.new_event_loop()
    try:
        assert abs(loop.time() - time.monotonic()) < 0.01
    finally:
        loop.close()


def test_engine_timers_ignore_wall_clock_jumps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """Run a MASTER and a BACKUP instance's timers for 1.5 s while time.time() jumps by a day
    back and forth on every call: adverts keep their 100 ms rhythm, the BACKUP's down timer
    neither fires early nor stalls."""
    from helpers.engine import engine_rt

    real = time.time
    flip = [0]

    def jumpy() -> float:
        flip[0] += 1
        return real() + (86400.0 if flip[0] % 2 else -86400.0)

    eng, rt = engine_rt(tmp_path)
    sent: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        eng.loop = loop
        eng._send_advert = lambda r, prio: sent.append(loop.time())  # type: ignore[method-assign]
        cfg = rt.st.cfg.__class__(**{**rt.st.cfg.__dict__, "advert_int": 0.1, "version": 3})
        rt.st = fsm.initial_state(cfg)
        monkeypatch.setattr(time, "time", jumpy)
        eng._feed(rt, fsm.Startup())
        t0 = loop.time()
        mdi = fsm.master_down_interval(100, 3, 0.1)
        await asyncio.sleep(mdi - 0.05)
        assert rt.st.state is fsm.State.BACKUP, "down timer fired early"
        await asyncio.sleep(0.1)
        assert rt.st.state is fsm.State.MASTER, "down timer stalled"
        t_master = loop.time()
        await asyncio.sleep(1.0)
        if rt.timer is not None:
            rt.timer.cancel()
        assert t_master - t0 >= mdi
        ticks = [t for t in sent if t >= t_master]
        gaps = [y - x for x, y in itertools.pairwise(ticks)]
        assert 9 <= len(ticks) <= 12, ticks
        assert max(gaps) < 0.15

    asyncio.run(main())
    assert flip[0] > 0  # the wall clock was read (and jumped) meanwhile
