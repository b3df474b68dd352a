"""The systemd units and the sd_notify protocol, tested against real tools.

* `systemd-analyze verify` both units: it rejects bad values but only *warns* about unknown
  keys, so every line of its output counts as a failure here;
* the capability, address-family and syscall-group names are checked against systemd's own
  lists (a misspelt capability is silently ignored by `verify`);
* sd_notify: the daemon runs in a network namespace with NOTIFY_SOCKET pointing at a datagram
  socket this test owns, and must send READY=1, RELOADING=1/READY=1 on HUP (also when the new
  config is broken), WATCHDOG=1 when asked, STOPPING=1 on TERM, all from the main pid (the
  units say NotifyAccess=main), then exit 0.

The units running under a real systemd (the installed .deb in a Debian root booted with
systemd-nspawn: READY, reload, restart, stop, the hardened unit) are in test_systemd.py.
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.netns import add_veth_pair, netns, requires_netns
from helpers.paths import ROOT

PKG = ROOT / "packaging"
UNITS = ("pykeepalived.service", "pykeepalived-hardened.service")
NEEDED_CAPS = {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"}
CAP_NUMBERS = {"CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_NET_ADMIN": 12,
               "CAP_NET_RAW": 13}  # linux/capability.h
FAMILIES = {"AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"}


def analyzer() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    return path


def unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None,
                                   comment_prefixes=("#", ";"))
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(PKG / name)
    return cp


@pytest.fixture
def verifiable(tmp_path: Path) -> Path:
    """Copies of the units whose ExecStart points at this checkout's command: `verify` checks
    that the binary exists, and /usr/bin/pykeepalived exists only once the .deb is installed."""
    exe = Path(sys.executable).with_name("pykeepalived")
    if not exe.exists():
        pytest.skip(f"{exe} missing (pip install -e .)")
    for name in UNITS:
        text = (PKG / name).read_text()
        assert "ExecStart=/usr/bin/pykeepalived --dont-fork $DAEMON_ARGS" in text
        (tmp_path / name).write_text(text.replace("/usr/bin/pykeepalived", str(exe)))
    return tmp_path


@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify(name: str, verifiable: Path) -> None:
    r = subprocess.run([analyzer(), "verify", "--man=no", str(verifiable / name)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr


def test_hardened_is_the_plain_unit_plus_sandboxing() -> None:
    plain, hard = unit(UNITS[0]), unit(UNITS[1])
    for key, value in plain["Service"].items():
        assert hard["Service"].get(key) == value, key
    s = hard["Service"]
    assert s["ProtectSystem"] == "strict"
    assert set(s["ReadWritePaths"].split()) == {"/run", "/tmp"}
    assert s["PrivateTmp"] == "no"  # the exporters read /tmp/keepalived.* from the host
    assert s["NoNewPrivileges"] == "yes"
    assert set(s["RestrictAddressFamilies"].split()) == FAMILIES
    assert s["SystemCallFilter"] == "@system-service"
    assert set(s["CapabilityBoundingSet"].split()) == NEEDED_CAPS


def test_notify_and_kill_settings() -> None:
    for name in UNITS:
        s = unit(name)["Service"]
        assert s["Type"] == "notify" and s["NotifyAccess"] == "main"
        assert s["KillMode"] == "mixed"
        assert s["ExecReload"] == "/bin/kill -HUP $MAINPID"
        assert s["EnvironmentFile"] == "-/etc/default/pykeepalived"
        assert s["Restart"] == "on-failure"
        u = unit(name)["Unit"]
        assert u["ConditionFileNotEmpty"] == "/etc/keepalived/keepalived.conf"
        assert "network-online.target" in u["After"]


def test_names_are_known_to_systemd() -> None:
    tool = analyzer()
    caps = subprocess.run([tool, "capability"], capture_output=True, text=True, timeout=30)
    known = {line.split()[0].upper() for line in caps.stdout.splitlines()[1:] if line.strip()}
    hard = unit(UNITS[1])["Service"]
    assert set(hard["CapabilityBoundingSet"].split()) <= known
    sc = subprocess.run([tool, "syscall-filter", hard["SystemCallFilter"]],
                        capture_output=True, text=True, timeout=30)
    assert sc.returncode == 0 and "@setuid" in sc.stdout  # scripts run as script_user
    for fam in hard["RestrictAddressFamilies"].split():
        assert hasattr(socket, fam), fam


def test_default_file_is_an_environment_file() -> None:
    lines = [ln for ln in (PKG / "default" / "pykeepalived").read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines == ['DAEMON_ARGS=""']


def test_security_exposure_improves(verifiable: Path) -> None:
    tool = analyzer()

    def exposure(name: str) -> float:
        r = subprocess.run([tool, "security", "--offline=yes", "--man=no",
                            str(verifiable / name)], capture_output=True, text=True, timeout=60)
        last = [ln for ln in r.stdout.splitlines() if "Overall exposure level" in ln]
        if r.returncode != 0 or not last:
            pytest.skip(f"systemd-analyze security --offline unsupported: {r.stderr.strip()}")
        return float(last[0].split(":")[1].split()[0])

    assert exposure(UNITS[1]) < 5.0 < exposure(UNITS[0])


# -- sd_notify against a real listening socket -----------------------------------------

CONF = """\
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100
    }
}
"""


class NotifyListener:
    """A datagram socket standing in for systemd's notify socket; records sender pids."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.messages: list[tuple[int, list[str]]] = []

    def wait_for(self, line: str, timeout: float) -> list[str]:
        """Messages until one contains ``line``; fails after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {line!r} within {timeout}s; got {self.messages}")
            self.sock.settimeout(left)
            try:
                data, anc, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                continue
            pid = -1
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", cdata[:12])[0]
            lines = data.decode().split("\n")
            self.messages.append((pid, lines))
            if line in lines:
                return lines

    def close(self) -> None:
        self.sock.close()


@requires_netns
def test_sd_notify_protocol(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONF)
    sock_path = tmp_path / "notify.sock"
    listener = NotifyListener(sock_path)
    with netns("pyksd") as ns:
        add_veth_pair(ns, "eth0", "eth1", "192.0.2.11/24")
        env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="200000",
                   PYTHONPATH=str(ROOT))
        # WATCHDOG_PID must be the main pid: sh sets it to its own pid, then execs into
        # `ip netns exec`, which execs into python - one pid all the way, as under systemd
        cmd = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh",
               "ip", "netns", "exec", ns, sys.executable, "-m", "pykeepalived",
               "-n", "-l", "-G", "-f", str(conf), "-p", str(tmp_path / "p.pid"),
               "-r", str(tmp_path / "v.pid"), "-c", str(tmp_path / "c.pid"),
               "--state-dir", str(tmp_path / "state"), "--dump-dir", str(tmp_path)]
        log = (tmp_path / "daemon.log").open("wb")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            first = listener.wait_for("READY=1", 20)
            assert any(ln.startswith("STATUS=") for ln in first)
            listener.wait_for("WATCHDOG=1", 2)

            proc.send_signal(signal.SIGHUP)
            rel = listener.wait_for("RELOADING=1", 10)
            assert any(ln.startswith("MONOTONIC_USEC=") for ln in rel)
            listener.wait_for("READY=1", 10)

            conf.write_text(CONF + "vrrp_instance {\n")  # broken: must be refused
            proc.send_signal(signal.SIGHUP)
            listener.wait_for("RELOADING=1", 10)
            bad = listener.wait_for("READY=1", 10)
            assert any("reload failed" in ln for ln in bad), bad
            conf.write_text(CONF)

            proc.send_signal(signal.SIGTERM)
            listener.wait_for("STOPPING=1", 10)
            assert proc.wait(20) == 0, (tmp_path / "daemon.log").read_text()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            log.close()
            listener.close()
    senders = {pid for pid, _ in listener.messages}
    assert senders == {proc.pid}, f"NotifyAccess=main needs the main pid only: {senders}"


@requires_netns
def test_hardened_capabilities_are_enough(tmp_path: Path) -> None:
    """The daemon under exactly the hardened unit's capability bounding set and
    NoNewPrivileges (via setpriv, as systemd would apply them) still becomes MASTER, sets
    the VIP and releases it on stop."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv not installed (util-linux)")
    caps = unit(UNITS[1])["Service"]["CapabilityBoundingSet"].split()
    bounding = "-all," + ",".join("+" + c.removeprefix("CAP_").lower() for c in caps)
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONF)
    with netns("pykcap") as ns:
        add_veth_pair(ns, "eth0", "eth1", "192.0.2.11/24")
        cmd = ["ip", "netns", "exec", ns, "setpriv", "--no-new-privs",
               f"--bounding-set={bounding}", "--inh-caps=-all", sys.executable, "-m",
               "pykeepalived", "-n", "-l", "-G", "-f", str(conf),
               "-p", str(tmp_path / "p.pid"), "-r", str(tmp_path / "v.pid"),
               "-c", str(tmp_path / "c.pid"), "--state-dir", str(tmp_path / "state"),
               "--dump-dir", str(tmp_path)]
        logp = tmp_path / "daemon.log"
        with logp.open("wb") as log:
            proc = subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                    stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)

        def addrs() -> str:
            return subprocess.run(["ip", "-n", ns, "-o", "addr", "show", "dev", "eth0"],
                                  capture_output=True, text=True, timeout=10).stdout

        try:
            end = time.monotonic() + 15  # BACKUP alone: MASTER after ~3.6 s
            while time.monotonic() < end and proc.poll() is None:
                if " 192.0.2.100/32 " in addrs():
                    break
                time.sleep(0.1)
            assert " 192.0.2.100/32 " in addrs(), logp.read_text()
            status = Path(f"/proc/{proc.pid}/status").read_text()
            capbnd = next(ln for ln in status.splitlines() if ln.startswith("CapBnd:"))
            assert int(capbnd.split()[1], 16) == sum(1 << CAP_NUMBERS[c] for c in caps)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0, logp.read_text()
            assert "192.0.2.100" not in addrs()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
