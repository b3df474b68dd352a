"""Issue 12 in the IPVS guest: the full daemon (VRRP child + checker child) under the
exporters' signal pattern, and a checker child killed with SIGKILL.

1. keepalived-exporter (mehdy) sends STATS (USR2) and DATA (USR1) on every scrape, gen2brain's
   exporter and mehdy's JSON mode signal 36 (JSON), an operator may send 63 (STATS_CLEAR).
   The parent forwards them; no child may die of one: both child pids stay, the supervisor
   logs no dead child and no respawn.
2. The checker child dies (SIGKILL): the respawned one must not put back a real server its
   predecessor had found down. ``helpers/ipvs_watch.py table`` polls the kernel table every
   few ms for the whole respawn; the down server must never show.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.ipvs

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
UP, DOWN = "198.51.100.81:80", "198.51.100.82:80"
CONF = """
global_defs {
    router_id sig_rig
}
vrrp_instance VI_1 {
    state MASTER
    interface sg0
    virtual_router_id 61
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.81/32
    }
}
virtual_server 192.0.2.80 80 {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.81 80 {
        weight 1
        MISC_CHECK {
            misc_path /bin/true
        }
    }
    real_server 198.51.100.82 80 {
        weight 1
        MISC_CHECK {
            misc_path /bin/false
        }
    }
}
"""


def sh(*a: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(a, capture_output=True, text=True, timeout=20)


def wait_for(cond: object, timeout: float, what: str, step: float = 0.05) -> None:
    assert callable(cond)
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() >= end:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def read_pid(p: Path) -> int | None:
    try:
        return int(p.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def table_lines(path: Path) -> list[tuple[float, set[str]]]:
    out = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            t, _, rest = line.partition(" ")
            with contextlib.suppress(ValueError):
                out.append((float(t), {x.split("=")[0] for x in rest.split(",") if x != "-"}))
    return out


@contextlib.contextmanager
def spawned(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as lf:
        proc = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Path]:
    """A veth for the VRRP instance, an empty table; everything removed afterwards."""
    sh("ipvsadm", "-C")
    r = sh("ip", "link", "add", "sg0", "type", "veth", "peer", "name", "sg1")
    assert r.returncode == 0, r.stderr
    try:
        for dev in ("sg0", "sg1"):
            sh("ip", "link", "set", dev, "up")
        sh("ip", "addr", "add", "192.0.2.1/24", "dev", "sg0")
        (tmp_path / "keepalived.conf").write_text(CONF)
        (tmp_path / "state").mkdir()
        yield tmp_path
    finally:
        sh("ip", "link", "del", "sg0")
        sh("ipvsadm", "-C")


@contextlib.contextmanager
def daemon(d: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    argv = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-D", "-G",
            "-f", str(d / "keepalived.conf"), "-p", str(d / "parent.pid"),
            "-r", str(d / "vrrp.pid"), "-c", str(d / "checker.pid"),
            "--state-dir", str(d / "state"), "--dump-dir", str(d)]  # fmt: skip
    log = d / "log"
    with spawned(argv, log) as proc:
        try:
            wait_for(lambda: alive(read_pid(d / "vrrp.pid")) and alive(read_pid(d / "checker.pid")),
                     60, "both children")
            # settled: the down server was checked and is out, the up one is in
            wait_for(lambda: ("198.51.100.81:80" in sh("ipvsadm", "-Ln").stdout
                              and "198.51.100.82:80" not in sh("ipvsadm", "-Ln").stdout
                              and "Entering MASTER STATE" in log.read_text()),
                     60, "the settled table and MASTER", 0.2)
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{log.read_text()}") from None
        yield proc, log


def test_exporter_signals_kill_no_child(rig: Path) -> None:
    from pykeepalived.daemon.signals import JSON, signum

    assert (JSON, signum("STATS_CLEAR")) == (36, 63)  # keepalived --signum's numbers
    with daemon(rig) as (proc, log):
        pids = (read_pid(rig / "vrrp.pid"), read_pid(rig / "checker.pid"))
        t_end = time.monotonic() + 10
        sent = 0
        while time.monotonic() < t_end:  # mehdy's exporter: STATS then DATA per scrape
            os.kill(proc.pid, signal.SIGUSR2)
            os.kill(proc.pid, signal.SIGUSR1)
            sent += 2
            time.sleep(0.5)
        for sig in (36, 63):
            os.kill(proc.pid, sig)
            time.sleep(0.5)
        time.sleep(2.0)  # a child killed by the last signal would be noticed by now
        text = log.read_text()
        assert proc.poll() is None, text
        assert (read_pid(rig / "vrrp.pid"), read_pid(rig / "checker.pid")) == pids, text
        assert all(alive(p) for p in pids), text
        assert " died" not in text and "Respawning" not in text, text
        assert "exited due to signal" not in text, text
        assert sent >= 30


def test_respawned_checker_keeps_a_down_server_out(rig: Path) -> None:
    watch = rig / "table.watch"
    with daemon(rig) as (_proc, log), spawned(
        [sys.executable, str(HERE.parent / "helpers" / "ipvs_watch.py"), "table", str(watch),
         "--duration", "120"],
        rig / "watch.log",
    ):
        wait_for(lambda: bool(table_lines(watch)), 30, "the table watcher")
        old = read_pid(rig / "checker.pid")
        assert old is not None
        t_kill = time.monotonic()
        os.kill(old, signal.SIGKILL)
        try:
            wait_for(lambda: read_pid(rig / "checker.pid") not in (None, old)
                     and alive(read_pid(rig / "checker.pid")), 30, "a respawned checker")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{log.read_text()}") from None
        t_new = time.monotonic()
        time.sleep(6.0)  # the respawn's start and several delay_loops (1 s) of checks
        seen = table_lines(watch)
        text = log.read_text()
    assert "Healthcheck child process(" in text and "died: Respawning" in text, text
    flashes = [t - t_kill for t, dests in seen if DOWN in dests and t >= t_kill - 0.5]
    assert not flashes, f"{DOWN} back in the table at +{flashes}s after the kill\n{text}"
    # the up server stays served across the respawn (reported, and it must be back at the end)
    gaps = [t - t_kill for t, dests in seen if UP not in dests and t >= t_kill]
    print(f"checker respawned {t_new - t_kill:.2f}s after the kill; {UP} missing at {gaps}")
    assert seen and UP in seen[-1][1], seen[-5:]
