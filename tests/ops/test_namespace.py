"""`-s/--namespace NAME`: the daemon started in the caller's namespace works in NAME's.

keepalived 2.2.7 is the reference for the log lines of a missing namespace.
"""

from __future__ import annotations

import json
import os
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

CONF = """vrrp_instance VI_NS {
    state MASTER
    interface nsveth0
    virtual_router_id 77
    priority 255
    advert_int 1
    virtual_ipaddress {
        192.0.2.177/32
    }
}
"""


def test_daemon_runs_in_the_named_namespace(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(CONF)
    with netns("pyk-s") as ns:
        add_veth_pair(ns, "nsveth0", "nsveth1", "192.0.2.11/24")
        run_dir = Path("/run/pykeepalived") / ns
        log = tmp_path / "log"
        with open(log, "w") as fh:
            # started in the test's (host) namespace: only -s puts it into `ns`
            proc = subprocess.Popen([sys.executable, "-m", "pykeepalived", "-s", ns, "-n", "-l",
                                     "-G", "-P", "-f", str(conf)], stdout=fh, stderr=fh)
        try:
            end = time.monotonic() + 15
            while time.monotonic() < end and proc.poll() is None:
                if "192.0.2.177/32" in sh("ip", "-n", ns, "-o", "addr").stdout:
                    break
                time.sleep(0.1)
            assert "192.0.2.177/32" in sh("ip", "-n", ns, "-o", "addr").stdout, log.read_text()
            assert "192.0.2.177" not in sh("ip", "-o", "addr").stdout
            # keepalived's pidfile layout for a namespace: one daemon per namespace
            assert (run_dir / "pykeepalived.pid").read_text().strip() == str(proc.pid)
            assert (run_dir / "pykeepalived_vrrp.pid").exists()
            # the parent and the child live in the namespace
            ns_ino = os.stat(f"/run/netns/{ns}").st_ino
            assert os.stat(f"/proc/{proc.pid}/ns/net").st_ino == ns_ino
            # `status -s NAME` finds that daemon's state
            end = time.monotonic() + 10
            st: dict = {}
            while time.monotonic() < end and not st.get("vrrp"):
                p = subprocess.run([sys.executable, "-m", "pykeepalived", "status", "-s", ns,
                                    "--json"], capture_output=True, text=True, timeout=30)
                st = json.loads(p.stdout) if p.stdout.strip() else {}
                time.sleep(0.2)
            assert st["vrrp"]["instances"][0]["state"] == "MASTER", st
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
            shutil.rmtree(run_dir, ignore_errors=True)
        text = log.read_text()
        assert f"Changing syslog ident to Keepalived_{ns}" in text
        assert "Traceback" not in text
        assert "192.0.2.177" not in sh("ip", "-n", ns, "-o", "addr").stdout  # released


def _console_lines(out: str) -> list[str]:
    return [ln.split(": ", 1)[1] for ln in out.splitlines() if ": " in ln]


@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 not installed")
def test_missing_namespace_logs_like_keepalived(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n  router_id ns1\n}\n")
    name = f"pyk-absent-{os.getpid()}"
    k = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", KEEPALIVED, "-s", name,
                        "-n", "-l", "-G", "-f", str(conf)],
                       capture_output=True, text=True, timeout=30)
    o = subprocess.run([sys.executable, "-m", "pykeepalived", "-s", name, "-n", "-l", "-G",
                        "-f", str(conf)], capture_output=True, text=True, timeout=30)
    want = [f"Changing syslog ident to Keepalived_{name}", f"Failed to open /run/netns/{name}",
            f"Unable to set network namespace {name} - exiting"]
    klines, olines = _console_lines(k.stderr), _console_lines(o.stderr)
    assert [ln for ln in klines if ln in want] == want, k.stderr
    assert [ln for ln in olines if ln in want] == want, o.stderr
    # keepalived exits 0 here; a daemon that cannot start must fail (systemd restarts it)
    assert k.returncode == 0 and o.returncode == 1


def test_config_test_checks_the_namespace_interfaces(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(CONF)
    with netns("pyk-s") as ns:
        add_veth_pair(ns, "nsveth0", "nsveth1")
        run = [sys.executable, "-m", "pykeepalived", "-t", "-f", str(conf)]
        # nsveth0 exists only in the namespace
        assert subprocess.run(run, capture_output=True, timeout=30).returncode == 5
        p = subprocess.run([*run, "-s", ns], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        conf.write_text(CONF.replace("nsveth0", "nsveth9"))
        p = subprocess.run([*run, "-s", ns], capture_output=True, text=True, timeout=30)
        assert p.returncode == 5 and "nsveth9" in p.stderr
