"""keepalived's signals: `--signum` against the real binary, and no process dies of one.

Exporters send STATS then DATA on every scrape (mehdy's keepalived-exporter), or JSON
(signal 36); STATS_CLEAR (63) clears the counters. Every pykeepalived process must handle
every one of them: the checker child used to die of USR2 and 36.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers.netns import add_veth_pair, netns, netns_skip_reason
from helpers.paths import ROOT

from pykeepalived.daemon import signals

KEEPALIVED = "/usr/sbin/keepalived"
NAMES = ("STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON",
         "stats", "Data", "TDUMP", "USR1", "", "STATS_CLEAR ")


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT)


@pytest.mark.skipif(not os.access(KEEPALIVED, os.X_OK), reason="needs keepalived 2.2.7")
@pytest.mark.parametrize("name", NAMES)
def test_signum_prints_keepalived_s_number(name: str) -> None:
    kad = run([KEEPALIVED, f"--signum={name}"])
    ours = run([sys.executable, "-m", "pykeepalived", f"--signum={name}"])
    assert (ours.returncode, ours.stdout) == (kad.returncode, kad.stdout), (ours, kad)
    if kad.returncode:
        assert ours.stderr.strip() == kad.stderr.strip()


def test_stats_clear_and_json_numbers_on_this_libc() -> None:
    """The numbers keepalived 2.2.7 prints on Linux glibc (SIGRTMAX-1, SIGRTMIN+2)."""
    assert (signals.signum("STATS_CLEAR"), signals.signum("JSON")) == (63, 36)
    assert signals.signum("DATA") == 10 and signals.signum("STATS") == 12


SURVIVE = textwrap.dedent("""
    import argparse, asyncio, os, signal, sys
    from pykeepalived.config.model import Config
    from pykeepalived.daemon import signals
    from pykeepalived.daemon.child import VrrpChild
    from pykeepalived.daemon.checker_child import CheckerChild

    role = sys.argv[1]
    args = argparse.Namespace(dont_release_vrrp=False, dump_dir=sys.argv[2], state_dir=None,
                              conf="x", config_id=None, all_config=False, namespace=None,
                              instance=None)
    signal.pthread_sigmask(signal.SIG_BLOCK, signals.HANDLED)  # as run_child does
    child = (VrrpChild if role == "vrrp" else CheckerChild)(args, Config())
    hit = []

    async def main():
        child.loop = asyncio.get_running_loop()
        handlers = child.signal_handlers()
        for sig in list(handlers):  # no dump files: record the call instead
            handlers[sig] = lambda sig=sig: hit.append(sig)
        child.install_signals(handlers)
        for sig in sorted(signals.HANDLED - {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}):
            os.kill(os.getpid(), sig)
            await asyncio.sleep(0.02)
        print("alive", sorted(int(s) for s in hit))

    asyncio.run(main())
""")


@pytest.mark.parametrize("role", ["vrrp", "checker"])
def test_every_child_survives_every_keepalived_signal(role: str, tmp_path: Path) -> None:
    p = run([sys.executable, "-c", SURVIVE, role, str(tmp_path)])
    assert p.returncode == 0, p.stderr[-2000:]
    line = p.stdout.strip().splitlines()[-1]
    want = [10, 12, 36, 63] if role == "vrrp" else [10]
    assert line == f"alive {want}", p.stdout + p.stderr


CONF = """
global_defs {
    vrrp_version 3
}
vrrp_instance VI_1 {
    state MASTER
    interface veth0
    virtual_router_id 51
    priority 200
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""

PATTERN_SECONDS = 10.0  # the exporters' pattern for 30 s in the issue; 10 s keeps CI short


def sent(stats: str) -> int:
    m = re.search(r"Advertisements:\n\s+Received: \d+\n\s+Sent: (\d+)", stats)
    assert m, stats
    return int(m.group(1))


@pytest.mark.netns
def test_exporter_signal_pattern_kills_nothing_and_stats_clear_clears(tmp_path: Path) -> None:
    reason = netns_skip_reason()
    if reason:
        pytest.skip(reason)
    with netns("pyk-sig") as ns:
        add_veth_pair(ns, "veth0", "veth1", "192.0.2.11/24")
        conf = tmp_path / "k.conf"
        conf.write_text(CONF)
        log = tmp_path / "daemon.log"
        argv = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-G", "-f", str(conf),
                "-p", str(tmp_path / "parent.pid"), "-r", str(tmp_path / "vrrp.pid"),
                "-c", str(tmp_path / "checker.pid"), "--state-dir", str(tmp_path / "state"),
                "--dump-dir", str(tmp_path)]
        with open(log, "w") as fh:
            proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=fh, stderr=fh,
                                    cwd=ROOT)
        try:
            end = time.monotonic() + 15
            while time.monotonic() < end and "Entering MASTER STATE" not in log.read_text():
                time.sleep(0.05)
            assert "Entering MASTER STATE" in log.read_text(), log.read_text()
            parent = int((tmp_path / "parent.pid").read_text())
            vrrp = int((tmp_path / "vrrp.pid").read_text())
            stats = tmp_path / "keepalived.stats"
            rounds = 0
            end = time.monotonic() + PATTERN_SECONDS
            while time.monotonic() < end:
                os.kill(parent, signal.SIGUSR2)
                os.kill(parent, signal.SIGUSR1)
                os.kill(parent, signals.JSON)
                rounds += 1
                time.sleep(0.5)
            time.sleep(0.3)
            before = sent(stats.read_text())
            assert before >= PATTERN_SECONDS * 5  # 10 adverts a second, some lost to load
            os.kill(parent, signals.STATS_CLEAR)
            time.sleep(0.3)
            os.kill(parent, signal.SIGUSR2)
            time.sleep(0.3)
            after = sent(stats.read_text())
            text = log.read_text()
            assert proc.poll() is None, text[-3000:]
            assert int((tmp_path / "vrrp.pid").read_text()) == vrrp
            assert "died" not in text and "Respawning" not in text, text[-3000:]
            parent_state = json.loads((tmp_path / "state" / "parent.json").read_text())
            vrrp_child = parent_state["children"]["vrrp"]
            assert vrrp_child["restarts"] == 0 and vrrp_child["last_exit"] is None, vrrp_child
            assert text.count("Printing VRRP stats for process") >= rounds
            assert "Printing and clearing VRRP stats for process" in text
            assert after < 20 < before, (before, after)  # ~0.6 s of adverts since the clear
            for f in ("keepalived.data", "keepalived.json"):
                assert (tmp_path / f).exists()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
