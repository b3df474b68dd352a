"""Process names: what `ps -C`, pgrep, pidof and gen2brain's exporter see.

keepalived 2.2.7, run in the same rig, gives the expected comm of each process.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.netns import add_veth_pair, netns, requires_netns, sh

pytestmark = [requires_netns, pytest.mark.netns]
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"

CONF = """vrrp_instance VI_PN {
    interface pnveth0
    virtual_router_id 78
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.178/32
    }
}
"""


def _pids(tmp: Path, names: tuple[str, str]) -> list[int]:
    end = time.monotonic() + 15
    while time.monotonic() < end:
        try:
            pids = [int((tmp / n).read_text()) for n in names]
            if all(Path(f"/proc/{p}/comm").exists() for p in pids):
                return pids
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError("pidfiles not written in 15 s")


def _run(ns: str, argv: list[str], tmp: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    for n in ("p.pid", "r.pid"):
        (tmp / n).unlink(missing_ok=True)
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv, "-n", "-G", "-P",
                             "-f", str(tmp / "k.conf"), "-p", str(tmp / "p.pid"),
                             "-r", str(tmp / "r.pid"), "-c", str(tmp / "c.pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return proc, _pids(tmp, ("p.pid", "r.pid"))
    except AssertionError:
        proc.kill()
        proc.wait(10)
        raise


def _stop(proc: subprocess.Popen[bytes], parent: int) -> None:
    with_timeout = time.monotonic() + 15
    subprocess.run(["kill", "-TERM", str(parent)], check=False)
    while proc.poll() is None and time.monotonic() < with_timeout:
        time.sleep(0.1)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def _argv(pid: int) -> list[str]:
    return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if a]


@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 not installed")
def test_names_operators_tools_find(tmp_path: Path) -> None:
    (tmp_path / "k.conf").write_text(CONF)
    with netns("pyk-pn") as ns:
        add_veth_pair(ns, "pnveth0", "pnveth1", "192.0.2.12/24")
        proc, (kp, kc) = _run(ns, [KEEPALIVED], tmp_path)
        try:
            k_comms = [_comm(kp), _comm(kc)]
        finally:
            _stop(proc, kp)
        proc, (op, oc) = _run(ns, [sys.executable, "-m", "pykeepalived"], tmp_path)
        try:
            assert [_comm(op), _comm(oc)] == k_comms == ["keepalived", "keepalived"]
            # ps -C and pgrep read comm: they list both processes, as keepalived's
            ps = sh("ps", "-C", "keepalived", "-o", "pid=").stdout.split()
            assert {str(op), str(oc)} <= set(ps)
            pg = sh("pgrep", "-x", "keepalived").stdout.split()
            assert {str(op), str(oc)} <= set(pg)
            # pidof reads argv[0]: `pidof pykeepalived` finds ours only
            pidof = sh("pidof", "pykeepalived", check=False).stdout.split()
            assert {str(op), str(oc)} <= set(pidof)
            assert _argv(op)[0] == "pykeepalived" and "-P" in _argv(op)
            assert _argv(oc)[:3] == ["pykeepalived", "--child", "vrrp"]
        finally:
            _stop(proc, op)
