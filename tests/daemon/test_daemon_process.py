"""The daemon as an operator runs it: one real `pykeepalived -n` in a namespace.

Parent + VRRP child, signals, respawn, reload (good and bad), dumps, status, stop with and
without releasing the VIPs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.netns import add_veth_pair, netns, requires_netns, sh

pytestmark = [requires_netns, pytest.mark.netns]

CONF = """
vrrp_instance VI_1 {
    state MASTER
    interface veth0
    virtual_router_id 51
    priority 255
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
%s    }
}
"""


def wait_for(pred: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Node:
    ns: str
    tmp: Path
    proc: subprocess.Popen[str]
    log: Path

    def pid(self, role: str) -> int | None:
        p = self.tmp / f"{role}.pid"
        try:
            return int(p.read_text())
        except (OSError, ValueError):
            return None

    def addrs(self) -> str:
        return sh("ip", "-n", self.ns, "-o", "addr", "show", "dev", "veth0").stdout

    def has_vip(self, vip: str = "192.0.2.100") -> bool:
        return f"inet {vip}/" in self.addrs()

    def status(self) -> dict:
        p = subprocess.run([sys.executable, "-m", "pykeepalived", "status", "--json",
                            "--state-dir", str(self.tmp / "state")], capture_output=True,
                           text=True, timeout=20)
        return json.loads(p.stdout)

    def state(self) -> str | None:
        """VI_1's state as published by the *current* VRRP child (not a dead one's file)."""
        try:
            snap = json.loads((self.tmp / "state" / "vrrp.json").read_text())
            if snap["pid"] != self.pid("vrrp"):
                return None
            return snap["instances"]["VI_1"]["state"]
        except (OSError, ValueError, KeyError):
            return None


def start(ns: str, tmp: Path, conf: Path, *extra: str) -> Node:
    log = tmp / "daemon.log"
    args = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-G", "-f", str(conf),
            "-p", str(tmp / "parent.pid"), "-r", str(tmp / "vrrp.pid"),
            "-c", str(tmp / "checker.pid"), "--state-dir", str(tmp / "state"),
            "--dump-dir", str(tmp), *extra]
    fh = open(log, "w")  # noqa: SIM115 - the process keeps it
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *args], stdout=fh, stderr=fh, text=True)
    return Node(ns, tmp, proc, log)


@pytest.fixture
def node_env(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    with netns("pyk-d") as ns:
        add_veth_pair(ns, "veth0", "veth1", "192.0.2.11/24")
        conf = tmp_path / "keepalived.conf"
        conf.write_text(CONF % "")
        yield ns, tmp_path, conf


def stop(node: Node, sig: int = signal.SIGTERM) -> int:
    if node.proc.poll() is None:
        node.proc.send_signal(sig)
    try:
        return node.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        node.proc.kill()
        raise


def test_start_signals_reload_respawn_stop(node_env: tuple[str, Path, Path]) -> None:
    ns, tmp, conf = node_env
    node = start(ns, tmp, conf)
    try:
        wait_for(lambda: node.state() == "MASTER" and node.has_vip(), 10, "MASTER with VIP")
        assert node.pid("parent") == node.proc.pid or node.pid("parent") is not None
        st = node.status()
        assert st["vrrp"]["instances"][0]["state"] == "MASTER"

        # dumps in keepalived's files
        parent = node.pid("parent")
        assert parent is not None
        os.kill(parent, signal.SIGUSR2)
        os.kill(parent, signal.SIGRTMIN + 2)
        os.kill(parent, signal.SIGUSR1)
        wait_for(lambda: all((tmp / f).exists() for f in
                             ("keepalived.stats", "keepalived.json", "keepalived.data")), 5,
                 "dump files")
        assert "VRRP Instance: VI_1" in (tmp / "keepalived.stats").read_text()
        data = json.loads((tmp / "keepalived.json").read_text())
        assert data[0]["data"]["iname"] == "VI_1" and data[0]["data"]["state"] == 2
        assert (tmp / "keepalived.stats").stat().st_mode & 0o077 == 0

        # a bad reload keeps the running config (keepalived 2.2.7 would go ahead)
        good = conf.read_text()
        conf.write_text(good.replace("virtual_router_id 51", "virtual_router_id"))
        os.kill(parent, signal.SIGHUP)
        wait_for(lambda: "Reload aborted" in node.log.read_text(), 5, "reload refusal")
        time.sleep(0.5)
        assert node.state() == "MASTER" and node.has_vip()

        # a good reload adds a VIP without leaving MASTER
        conf.write_text(CONF % "        192.0.2.101/24\n")
        os.kill(parent, signal.SIGHUP)
        wait_for(lambda: node.has_vip("192.0.2.101"), 5, "added VIP")
        assert node.has_vip("192.0.2.100")
        assert node.log.read_text().count("Entering MASTER STATE") == 1
        assert node.log.read_text().count("Reload complete") == 1

        # the VRRP child dies: the parent respawns it and the VIPs come back. A broken edit
        # on disk (no HUP yet) must not reach the new child: it starts from the model the
        # parent validated
        reloaded = conf.read_text()
        conf.write_text(reloaded.replace("virtual_router_id 51", "virtual_router_id"))
        child = node.pid("vrrp")
        assert child is not None
        os.kill(child, signal.SIGKILL)
        wait_for(lambda: "Released the VIPs of the dead VRRP child" in node.log.read_text(), 10,
                 "the parent to release the dead child's VIPs")
        wait_for(lambda: node.pid("vrrp") not in (None, child), 10, "respawned child")
        wait_for(lambda: node.state() == "MASTER" and node.has_vip("192.0.2.101"), 10,
                 "MASTER again after respawn")
        conf.write_text(reloaded)
    finally:
        rc = stop(node)
    assert rc == 0, node.log.read_text()
    assert not node.has_vip() and not node.has_vip("192.0.2.101")
    assert not (tmp / "parent.pid").exists() and not (tmp / "vrrp.pid").exists()


def test_dont_release_vips_on_stop(node_env: tuple[str, Path, Path]) -> None:
    ns, tmp, conf = node_env
    node = start(ns, tmp, conf, "-V")
    try:
        wait_for(lambda: node.has_vip(), 10, "VIP")
    finally:
        assert stop(node) == 0
    assert node.has_vip(), "-V must leave the VIP configured"


def test_parent_and_vrrp_child_load_no_openssl(node_env: tuple[str, Path, Path]) -> None:
    """Neither needs TLS: asyncio comes without ssl and the config parser (lark, hashlib)
    stays in the loader, so no OpenSSL library is mapped (5-9 MiB RSS of the two)."""
    ns, tmp, conf = node_env
    node = start(ns, tmp, conf)
    try:
        wait_for(lambda: node.pid("vrrp") is not None and node.has_vip(), 10, "child")
        for role in ("parent", "vrrp"):
            maps = Path(f"/proc/{node.pid(role)}/maps").read_text()
            libs = sorted({ln.rsplit("/", 1)[-1] for ln in maps.splitlines()
                           if "libssl" in ln or "libcrypto" in ln or "_ssl" in ln
                           or "_hashlib" in ln})
            assert libs == [], f"{role}: {libs}"
    finally:
        assert stop(node) == 0, node.log.read_text()


def test_dont_respawn_stops_everything(node_env: tuple[str, Path, Path]) -> None:
    ns, tmp, conf = node_env
    node = start(ns, tmp, conf, "-R")
    try:
        wait_for(lambda: node.pid("vrrp") is not None and node.has_vip(), 10, "child")
        os.kill(node.pid("vrrp") or 0, signal.SIGKILL)
        node.proc.wait(timeout=15)
        assert node.proc.returncode != 0
    finally:
        if node.proc.poll() is None:
            stop(node)


def test_config_that_cannot_run_exits_with_its_code(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("vrrp_instance VI_1 {\n interface eth0\n priority\n}\n")
    p = subprocess.run([sys.executable, "-m", "pykeepalived", "-n", "-l", "-G", "-f", str(conf),
                        "-p", str(tmp_path / "p.pid")], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2
    assert "missing a parameter" in p.stderr
    assert not (tmp_path / "p.pid").exists()


def test_children_stop_when_the_parent_is_killed(node_env: tuple[str, Path, Path]) -> None:
    ns, tmp, conf = node_env
    node = start(ns, tmp, conf)
    try:
        wait_for(lambda: node.state() == "MASTER" and node.has_vip(), 10, "MASTER")
        child = node.pid("vrrp")
        node.proc.kill()
        node.proc.wait(timeout=10)

        def gone() -> bool:
            try:
                os.kill(child or 0, 0)
            except ProcessLookupError:
                return True
            return False

        wait_for(gone, 10, "the orphaned VRRP child to exit")
        # it stopped gracefully (TERM), so it released the VIP on its way out
        assert not node.has_vip()
    finally:
        if node.proc.poll() is None:
            node.proc.kill()


def test_metrics_endpoint_serves_the_running_state(node_env: tuple[str, Path, Path]) -> None:
    ns, tmp, conf = node_env
    node = start(ns, tmp, conf, "--metrics", "127.0.0.1:9650")
    try:
        wait_for(lambda: node.state() == "MASTER", 10, "MASTER")
        fetch = ("import urllib.request as u; "
                 "print(u.urlopen('http://127.0.0.1:9650/metrics', timeout=5).read().decode())")
        body = ""

        def got() -> bool:
            nonlocal body
            p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", fetch],
                               capture_output=True, text=True, timeout=20)
            body = p.stdout
            return "keepalived_vrrp_state{" in body

        wait_for(got, 10, "metrics")
        assert 'iname="VI_1"' in body and "keepalived_up 1" in body
        # bound to loopback only: nothing listens on the interface address
        ss = subprocess.run(["ip", "netns", "exec", ns, "ss", "-ltnH"], capture_output=True,
                            text=True, timeout=10).stdout
        assert "127.0.0.1:9650" in ss and "0.0.0.0:9650" not in ss
    finally:
        assert stop(node) == 0


def test_dump_signals_from_the_first_moment_do_not_kill_the_daemon(
        node_env: tuple[str, Path, Path]) -> None:
    """An exporter scraping with SIGUSR1/SIGUSR2 while the daemon starts (it signals the pid
    it reads from the pidfile, as keepalived's exporters do): the signals wait for the
    handlers instead of killing the parent by their default action."""
    ns, tmp, conf = node_env
    node = start(ns, tmp, conf)
    try:
        for _ in range(2000):  # bounded: 2 s, as soon as the pidfile names the parent
            if node.pid("parent") is not None or node.proc.poll() is not None:
                break
            time.sleep(0.001)
        end = time.monotonic() + 3
        for i in range(300):  # bounded: 300 signals, 3 s
            if node.proc.poll() is not None or time.monotonic() > end:
                break
            node.proc.send_signal(signal.SIGUSR1 if i % 2 else signal.SIGUSR2)
            time.sleep(0.01)
        assert node.proc.poll() is None, node.log.read_text()
        wait_for(lambda: node.state() == "MASTER" and node.has_vip(), 10, "MASTER with VIP")
    finally:
        rc = stop(node)
    assert rc == 0, node.log.read_text()
