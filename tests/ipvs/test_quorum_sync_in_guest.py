"""The real daemon (``pykeepalived -C``) in the IPVS guest: quorum loss and lvs_sync_daemon.

1. Quorum loss -> sorry server, differential against keepalived 2.2.7: every real server's
   TCP_CHECK points at a closed port on 127.0.0.1, so all checks fail within a few seconds;
   the table both daemons settle on (after the failures) must be equal field by field, for
   the plain config, with ``sorry_server_inhibit`` and with ``inhibit_on_failure``.
2. ``global_defs lvs_sync_daemon`` follows the VRRP instance's state. With -C there is no
   VRRP child, so the test plays it: it writes the VRRP child's state file
   (STATE_DIR/vrrp.json), which the checker child reads after each reconcile (at least every
   RESYNC seconds). On stop the sync daemon goes too, as keepalived's vrrp_terminate_phase1
   does (``ipvs_syncd_cmd(IPVS_STOPDAEMON, ...)``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ipvsvm.keepalived import keepalived_table
from ipvsvm.oracle import OService, ipvsadm, parse_save

pytestmark = pytest.mark.ipvs

ROOT = Path(__file__).resolve().parents[2]
SORRY = "198.51.100.99:8080"
RS = ("198.51.100.61:80", "198.51.100.62:80")

QUORUM = """
global_defs {{
    router_id quorum_sorry
}}
virtual_server 192.0.2.60 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 198.51.100.99 8080
{vs_extra}
    real_server 198.51.100.61 80 {{
        weight 1
{rs_extra}
        TCP_CHECK {{
            connect_ip 127.0.0.1
            connect_port 1
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 198.51.100.62 80 {{
        weight 1
{rs_extra}
        TCP_CHECK {{
            connect_ip 127.0.0.1
            connect_port 2
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
}}
"""

VARIANTS = {
    "plain": ("", ""),
    "sorry_server_inhibit": ("    sorry_server_inhibit", ""),
    "inhibit_on_failure": ("", "        inhibit_on_failure"),
}


def dest_weights(dump: str) -> dict[str, int]:
    """'addr:port' -> weight for every real server line of an ``ipvsadm -S -n`` dump."""
    out = {}
    for svc in parse_save(dump).values():
        for (addr, port), d in svc.dests.items():
            out[f"{addr}:{port}"] = d.weight
    return out


def checks_failed(dump: str) -> bool:
    """The table after every check failed: the sorry server serves, no real server does."""
    w = dest_weights(dump)
    return w.get(SORRY) == 1 and all(w.get(rs, 0) == 0 for rs in RS)


def norm(table: dict[tuple, OService]) -> dict[tuple, tuple]:
    return {
        key: (s.scheduler, s.persistent, s.netmask, s.sched_flags, s.ops, s.pe,
              {k: (d.fwd, d.weight, d.tun_type, d.tun_port) for k, d in s.dests.items()})
        for key, s in table.items()
    }  # fmt: skip


def wait_table(until: Callable[[str], bool], *, settle: float, timeout: float,
               proc: subprocess.Popen[bytes], log: Path) -> str:
    """Poll ``ipvsadm -S -n`` until it satisfies UNTIL and stays unchanged for SETTLE s."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"pykeepalived exited {proc.returncode}:\n{log.read_text()}"
        dump = ipvsadm("-S", "-n")
        if dump != last:
            last, since = dump, time.monotonic()
        elif until(dump) and time.monotonic() - since >= settle:
            return dump
        time.sleep(0.2)
    raise AssertionError(f"no stable table in {timeout}s:\n{last}\n{log.read_text()}")


@contextmanager
def ours_running(conf: str, d: Path, *extra: str
                 ) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Run ``python -m pykeepalived -C -n`` on CONF with its files under D; SIGTERM on exit
    (the caller may stop it earlier with ``stop``)."""
    cfg = d / "keepalived.conf"
    cfg.write_text(conf)
    (d / "state").mkdir(exist_ok=True)
    log = d / "log"
    argv = [sys.executable, "-m", "pykeepalived", "-C", "-n", "-l", "-D", "-G", "-f", str(cfg),
            "-p", str(d / "parent.pid"), "-r", str(d / "vrrp.pid"),
            "-c", str(d / "checker.pid"), "--state-dir", str(d / "state"),
            "--dump-dir", str(d), *extra]  # fmt: skip
    with open(log, "wb") as lf:
        proc = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
    try:
        yield proc, log
    finally:
        if proc.poll() is None:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        raise


@pytest.fixture
def clean() -> Iterator[None]:
    ipvsadm("-C")
    yield None
    ipvsadm("-C")


# -- 1. quorum loss -> sorry server ------------------------------------------------------------
@pytest.mark.keepalived
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_quorum_loss_sorry_server_as_keepalived(tmp_path: Path, clean: None,
                                                variant: str) -> None:
    vs_extra, rs_extra = VARIANTS[variant]
    conf = QUORUM.format(vs_extra=vs_extra, rs_extra=rs_extra)
    # both daemons start with the real servers up (no alpha) and take ~2-3 s to fail them
    # (first check, then one retry after delay_before_retry); settle 3 s after that
    t0 = time.monotonic()
    theirs, klog = keepalived_table(conf, timeout=60, settle=3.0, until=checks_failed)
    t_theirs = time.monotonic() - t0
    assert ipvsadm("-S", "-n") == "", "keepalived left its table behind"
    t0 = time.monotonic()
    with ours_running(conf, tmp_path) as (proc, log):
        mine = wait_table(checks_failed, settle=3.0, timeout=60, proc=proc, log=log)
        t_mine = time.monotonic() - t0
        assert stop(proc) == 0, log.read_text()
    assert ipvsadm("-S", "-n") == "", f"stop did not release:\n{log.read_text()}"
    print(f"{variant}: keepalived settled in {t_theirs:.1f}s, pykeepalived in {t_mine:.1f}s")
    assert norm(parse_save(mine)) == norm(parse_save(theirs)), (
        f"keepalived:\n{theirs}\npykeepalived:\n{mine}\n{klog}"
    )
    # and the rules themselves, spelled out
    w = dest_weights(mine)
    assert w[SORRY] == 1
    if variant == "inhibit_on_failure":
        assert {rs: w.get(rs) for rs in RS} == dict.fromkeys(RS, 0), mine
    else:
        assert not any(rs in w for rs in RS), mine


# -- 2. lvs_sync_daemon follows the VRRP state ---------------------------------------------------
SYNCD = """
global_defs {
    router_id syncd
    lvs_sync_daemon sd0 VI_1 id 7
}
vrrp_instance VI_1 {
    state BACKUP
    interface sd0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.99.0.100/24
    }
}
virtual_server 192.0.2.70 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.71 80 {
        weight 1
    }
}
"""


def sync_daemons() -> dict[str, str]:
    """``ipvsadm -L --daemon`` -> {"master"|"backup": its line}."""
    out = {}
    for line in ipvsadm("-L", "--daemon").splitlines():
        w = line.split()
        if len(w) >= 3 and w[1:3] == ["sync", "daemon"]:
            out[w[0]] = line
    return out


def wait_daemons(want: set[str], proc: subprocess.Popen[bytes] | None, log: Path,
                 timeout: float = 45) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    got: dict[str, str] = {}
    while time.monotonic() < deadline:
        if proc is not None:
            assert proc.poll() is None, f"pykeepalived exited:\n{log.read_text()}"
        got = sync_daemons()
        if set(got) == want:
            return got
        time.sleep(0.2)
    raise AssertionError(f"sync daemons {sorted(got)}, want {sorted(want)}\n{log.read_text()}")


def write_vrrp_state(state_dir: Path, state: str) -> None:
    """What the VRRP child publishes (daemon/child.py state_loop), written atomically."""
    snap = {"role": "vrrp", "pid": os.getpid(), "time": time.time(),
            "instances": {"VI_1": {"state": state}}}
    tmp = state_dir / "vrrp.json.tmp"
    tmp.write_text(json.dumps(snap))
    os.replace(tmp, state_dir / "vrrp.json")


@pytest.fixture
def sd0() -> Iterator[str]:
    def ip(*a: str) -> None:
        subprocess.run(["ip", *a], check=True, capture_output=True, timeout=20)

    ip("link", "add", "sd0", "type", "veth", "peer", "name", "sd1")
    try:
        ip("addr", "add", "10.99.0.1/24", "dev", "sd0")  # the master daemon binds to it
        ip("link", "set", "sd0", "up")
        ip("link", "set", "sd1", "up")
        yield "sd0"
    finally:
        for st in sync_daemons():
            ipvsadm("--stop-daemon", st)
        subprocess.run(["ip", "link", "del", "sd0"], capture_output=True, timeout=20)


def test_sync_daemon_follows_vrrp_state(tmp_path: Path, clean: None, sd0: str) -> None:
    assert sync_daemons() == {}
    with ours_running(SYNCD, tmp_path) as (proc, log):
        state = tmp_path / "state"
        # no VRRP state published yet: the instance counts as BACKUP (keepalived starts it
        # in BACKUP too), so the backup daemon runs
        got = wait_daemons({"backup"}, proc, log)
        assert "mcast=sd0" in got["backup"] and "syncid=7" in got["backup"], got
        write_vrrp_state(state, "MASTER")
        got = wait_daemons({"master"}, proc, log)
        assert "mcast=sd0" in got["master"] and "syncid=7" in got["master"], got
        write_vrrp_state(state, "BACKUP")
        wait_daemons({"backup"}, proc, log)
        write_vrrp_state(state, "MASTER")
        wait_daemons({"master"}, proc, log)
        # the virtual server is there all along
        assert ("tcp", "192.0.2.70", 80) in parse_save(ipvsadm("-S", "-n"))
        # stop: keepalived stops the sync daemon it controls on shutdown; so do we
        assert stop(proc) == 0, log.read_text()
    assert sync_daemons() == {}, log.read_text()
    assert ipvsadm("-S", "-n") == ""


# -- 3. stop: release what we own, or keep it with -I ---------------------------------------------
KEEP = """
virtual_server 192.0.2.77 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.71 80 {
        weight 3
    }
}
"""


@pytest.mark.parametrize("flag", ["", "-I"])
def test_stop_releases_the_table_unless_dont_release_ipvs(tmp_path: Path, clean: None,
                                                         flag: str) -> None:
    with ours_running(KEEP, tmp_path, *([flag] if flag else [])) as (proc, log):
        dump = wait_table(lambda d: "198.51.100.71:80" in d, settle=1.0, timeout=60,
                          proc=proc, log=log)
        assert "192.0.2.77:80" in dump
        assert stop(proc) == 0, log.read_text()
    after = ipvsadm("-S", "-n")
    if flag == "-I":
        assert "192.0.2.77:80" in after and "198.51.100.71:80" in after, log.read_text()
    else:
        assert "192.0.2.77:80" not in after, log.read_text()
