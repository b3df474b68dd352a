"""Health that cannot be hidden: a real daemon in a namespace, beside the real tools.

* No IPVS in the kernel (this host): keepalived 2.2.7 stops the whole daemon with
  "exited with permanent error FATAL. Terminating"; we do the same (and say why in `status`)
  instead of restarting the checker forever and taking the VIP without an IPVS table.
* A child that dies and is respawned shows in `status` and in /metrics, scraped by a real
  Prometheus server (started here on the namespace's loopback, stopped by pid).
"""

from __future__ import annotations

import glob
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
from test_daemon_process import CONF, start, stop, wait_for

pytestmark = [requires_netns, pytest.mark.netns]

VS_CONF = """
vrrp_instance VI_1 {
    state MASTER
    interface veth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
virtual_server 192.0.2.100 80 {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.10 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""
FATAL = "exited with permanent error FATAL. Terminating"


def kernel_may_have_ipvs() -> bool:
    rel = os.uname().release
    return os.path.exists("/proc/net/ip_vs") or bool(
        glob.glob(f"/lib/modules/{rel}/kernel/net/netfilter/ipvs/ip_vs.ko*"))


def has_vip(ns: str) -> bool:
    out = sh("ip", "-n", ns, "-o", "addr", "show", "dev", "veth0").stdout
    return "inet 192.0.2.100/" in out


@pytest.mark.keepalived
@pytest.mark.skipif(kernel_may_have_ipvs(), reason="this kernel has (or can load) IPVS")
@pytest.mark.skipif(shutil.which("keepalived") is None, reason="needs keepalived 2.2.7")
def test_no_ipvs_stops_the_daemon_like_keepalived(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(VS_CONF)
    # the oracle: keepalived 2.2.7 on the same config, in its own namespace
    with netns("pyk-h6k") as ns:
        add_veth_pair(ns, "veth0", "veth1", "192.0.2.1/24")
        kad = subprocess.run(
            ["ip", "netns", "exec", ns, "unshare", "--pid", "--fork", "--kill-child",
             "keepalived", "-n", "-l", "-D", "-f", str(conf), "-p", str(tmp_path / "k.pid"), "-c",
             str(tmp_path / "kc.pid"), "-r", str(tmp_path / "kv.pid")],
            capture_output=True, text=True, timeout=30)
        kad_vip = has_vip(ns)
    kad_log = kad.stdout + kad.stderr
    assert "IPVS: Can't initialize ipvs" in kad_log and FATAL in kad_log, kad_log
    assert kad.returncode != 0 and not kad_vip

    with netns("pyk-h6n") as ns:
        add_veth_pair(ns, "veth0", "veth1", "192.0.2.1/24")
        t0 = time.monotonic()
        node = start(ns, tmp_path, conf)
        try:
            rc = node.proc.wait(timeout=30)
        finally:
            if node.proc.poll() is None:
                stop(node)
        took = time.monotonic() - t0
        vip = has_vip(ns)
    log = node.log.read_text()
    assert rc == kad.returncode, log  # 1, as keepalived's parent
    assert "IPVS: Can't initialize ipvs" in log and FATAL in log, log
    assert "died: Respawning" not in log and "starting VRRP anyway" not in log, log
    assert "Entering MASTER STATE" not in log and not vip
    assert took < 20, f"took {took:.1f}s to stop"  # no 15 s IPVS wait, no restart loop
    st = subprocess.run([sys.executable, "-m", "pykeepalived", "status", "--json",
                         "--state-dir", str(tmp_path / "state")], capture_output=True,
                        text=True, timeout=20)
    doc = json.loads(st.stdout)
    assert st.returncode == 3 and doc["running"] is False
    assert "permanent error" in doc["reason"] and "IPVS" in doc["reason"], doc
    assert doc["children"]["checker"]["last_exit"]["status"] == "exit status 3"


PROMETHEUS = shutil.which("prometheus")


def _get(ns: str, url: str) -> str:
    code = ("import sys, urllib.request as u; "
            "sys.stdout.write(u.urlopen(sys.argv[1], timeout=5).read().decode())")
    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code, url],
                       capture_output=True, text=True, timeout=20)
    return p.stdout


def _query(ns: str, expr: str) -> list[dict]:
    import urllib.parse

    body = _get(ns, "http://127.0.0.1:9090/api/v1/query?query=" + urllib.parse.quote(expr))
    try:
        return json.loads(body)["data"]["result"]
    except (ValueError, KeyError):
        return []


@pytest.mark.slow
@pytest.mark.skipif(PROMETHEUS is None, reason="needs prometheus (Debian package prometheus)")
def test_prometheus_scrapes_and_sees_child_restarts(tmp_path: Path) -> None:
    with netns("pyk-h6p") as ns:
        add_veth_pair(ns, "veth0", "veth1", "192.0.2.11/24")
        conf = tmp_path / "keepalived.conf"
        conf.write_text(CONF % "")
        node = start(ns, tmp_path, conf, "--metrics", "127.0.0.1:9651")
        prom_dir = tmp_path / "prom"
        prom_dir.mkdir()
        (prom_dir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: pykeepalived\n    static_configs:\n"
            "      - targets: ['127.0.0.1:9651']\n")
        prom_log = open(prom_dir / "log", "w")  # noqa: SIM115 - closed below
        prom = subprocess.Popen(
            ["ip", "netns", "exec", ns, str(PROMETHEUS),
             f"--config.file={prom_dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={prom_dir / 'data'}",
             "--web.listen-address=127.0.0.1:9090"],
            stdout=prom_log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: node.state() == "MASTER", 15, "MASTER")

            def target_up() -> bool:
                try:
                    t = json.loads(_get(ns, "http://127.0.0.1:9090/api/v1/targets"))
                    act = t["data"]["activeTargets"]
                except (ValueError, KeyError):
                    return False
                return bool(act) and act[0]["health"] == "up" and act[0]["lastError"] == ""

            wait_for(target_up, 30, "Prometheus to scrape the endpoint")
            wait_for(lambda: any(r["value"][1] == "2" for r in
                                 _query(ns, 'keepalived_vrrp_state{iname="VI_1"}')),
                     15, "keepalived_vrrp_state 2 in Prometheus")
            assert _query(ns, "keepalived_up")[0]["value"][1] == "1"

            child = node.pid("vrrp")
            os.kill(child or 0, signal.SIGKILL)
            wait_for(lambda: node.pid("vrrp") not in (None, child), 10, "respawned child")
            wait_for(lambda: any(r["value"][1] == "1" for r in _query(
                ns, 'pykeepalived_child_restarts_total{child="vrrp"}')), 15,
                "the restart in Prometheus")
            info = _query(ns, 'pykeepalived_child_last_exit_info{child="vrrp"}')
            assert info and info[0]["metric"]["status"] == "signal 9 (SIGKILL)", info
            st = node.status()
            assert st["children"]["vrrp"]["restarts"] == 1
            assert st["children"]["vrrp"]["last_exit"]["status"] == "signal 9 (SIGKILL)"
            # target stayed healthy: every scrape parsed (a format error shows in lastError)
            assert target_up()
            promtool = shutil.which("promtool")
            if promtool:  # the live endpoint's body, as served, passes Prometheus's linter
                body = _get(ns, "http://127.0.0.1:9651/metrics")
                assert "pykeepalived_child_restarts_total" in body
                lint = subprocess.run([promtool, "check", "metrics"], input=body,
                                      capture_output=True, text=True, timeout=30)
                assert lint.returncode == 0, lint.stdout + lint.stderr
        finally:
            prom.terminate()
            try:
                prom.wait(timeout=15)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait(timeout=5)
            prom_log.close()
            assert stop(node) == 0
