"""The log as operators' greps and alerts see it, beside keepalived 2.2.7's for the same events.

Both daemons run in the same netns rig with a private /dev whose /dev/log is a socket this
test reads: the datagrams are compared as syslog(3) sends them (format, facility/severity,
ident, text). Events: start, MASTER, reload, stop; a killed VRRP child. Checker lines need
IPVS, which this kernel lacks: see tests/ops/test_checker_lines.py for those.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.devlog import Datagram, SyslogSink, can_privdev, wrap
from helpers.netns import add_veth_pair, netns, requires_netns, sh

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
pytestmark = [
    requires_netns, pytest.mark.netns, pytest.mark.keepalived,
    pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 not installed"),
    pytest.mark.skipif(can_privdev() is not None, reason=str(can_privdev())),
]

CONF = """global_defs {
    router_id logrig
}
vrrp_instance VI_LOG {
    state MASTER
    interface lgveth0
    virtual_router_id 79
    priority 255
    advert_int 1
    virtual_ipaddress {
        192.0.2.179/24
    }
}
"""

# keepalived lines with no counterpart, on purpose (README, "Logs"): build and netlink
# internals, and what a hitless reload does not do (re-add VIPs, reopen sockets)
KEEPALIVED_ONLY = re.compile(
    r"^(NOTICE: setting config option max_auto_priority.*|Registering .*|"
    r"read eventfd count .*|  Please log an issue.*|  and include a full copy.*|"
    r"  copies of the keepalived system log.*)$")
OURS_ONLY = re.compile(r"^$")  # none in these scenarios
DEBUG = 7  # severity: our -D also shows debug lines of our own; keepalived's -D has none


def normal(d: Datagram) -> tuple[int, str, str]:
    """(PRI, ident, text) with what differs by nature (pids, CPU times, versions) masked."""
    m = d.msg
    m = re.sub(r"^(Starting|Stopped) Keepalived v2\.2\.7 \(.*\)$", r"\1 Keepalived v2.2.7 (*)", m)
    m = re.sub(r"^(Running on .*) \((built for Linux|Python) .*\)$", r"\1 (*)", m)
    m = re.sub(r"\d+\.\d{6}", "T", m)  # CPU times
    m = re.sub(r"pid=\d+|process\(\d+\)|^pid \d+", lambda x: re.sub(r"\d+", "N", x[0]), m)
    m = re.sub(r"fe80::[0-9a-f:]+", "fe80::LL", m)
    m = re.sub(r", fd\(\d+,\d+\) multicast, address\(224\.0\.0\.18\)\]$", "]", m)
    m = re.sub(r" - has rlimit_rttime been exceeded\?$", "", m)
    return d.pri, d.ident, m


def comparable(ds: list[Datagram]) -> set[tuple[int, str, str]]:
    out = set()
    for d in ds:
        if d.msg.startswith(("Command line: ", " " * 14)):
            continue  # argv[0] differs; the wrapping is compared in test_command_line_*
        if KEEPALIVED_ONLY.match(d.msg) or OURS_ONLY.match(d.msg) or d.pri % 8 == DEBUG:
            continue
        out.add(normal(d))
    return out


class Run:
    def __init__(self, ns: str, tmp: Path, argv: list[str], name: str) -> None:
        self.tmp = tmp
        self.pidfile = tmp / f"{name}.pid"
        self.sink = SyslogSink(tmp / f"{name}.sock")
        cmd, env = wrap(["ip", "netns", "exec", ns, *argv, "-n", "-P", "-f",
                         str(tmp / "k.conf"), "-p", str(self.pidfile),
                         "-r", str(tmp / f"{name}-v.pid"), "-c", str(tmp / f"{name}-c.pid")],
                        str(self.sink.path))
        self.err = open(tmp / f"{name}.stderr", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.err, stderr=self.err)

    def pid(self, name: str = "") -> int:
        p = self.pidfile if not name else self.tmp / name
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                return int(p.read_text())
            except (OSError, ValueError):
                time.sleep(0.05)
        raise AssertionError(f"{p} not written")

    def stop(self) -> int:
        if self.proc.poll() is None:
            try:
                os.kill(self.pid(), signal.SIGTERM)
            except (ProcessLookupError, AssertionError):
                self.proc.terminate()
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(10)
        self.err.close()
        return rc


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    (tmp_path / "k.conf").write_text(CONF)
    with netns("pyk-lg") as ns:
        add_veth_pair(ns, "lgveth0", "lgveth1", "192.0.2.13/24")
        yield ns, tmp_path


def scenario(tmp: Path, argv: list[str], name: str) -> list[Datagram]:
    """In a fresh namespace: start, MASTER, the interface's IPv6 link-local address removed,
    reload, stop; well inside the 5 s before the second GARP burst."""
    with netns("pyk-lg") as ns:
        add_veth_pair(ns, "lgveth0", "lgveth1", "192.0.2.13/24")
        r = Run(ns, tmp, argv, name)
        try:
            assert r.sink.wait_for("(VI_LOG) Entering MASTER STATE", 15), r.sink.drain()
            ll = sh("ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "lgveth0", "scope",
                    "link").stdout.split()
            if "inet6" in ll:
                sh("ip", "-n", ns, "addr", "del", ll[ll.index("inet6") + 1], "dev", "lgveth0")
            time.sleep(0.5)
            os.kill(r.pid(), signal.SIGHUP)
            assert r.sink.wait_for("Reload complete", 10), r.sink.drain()
            time.sleep(0.5)
        finally:
            rc = r.stop()
    assert rc == 0, (tmp / f"{name}.stderr").read_text()
    assert r.sink.wait_for("Stopped Keepalived", 5)
    out = r.sink.parsed()
    r.sink.close()
    return out


def ours(tmp: Path) -> list[str]:
    return [sys.executable, "-m", "pykeepalived", "--state-dir", str(tmp / "state")]


@pytest.mark.parametrize("detail", [False, True], ids=["plain", "detail"])
def test_same_lines_as_keepalived(rig: tuple[str, Path], detail: bool) -> None:
    _ns, tmp = rig
    extra = ["-D"] if detail else []
    k = scenario(tmp, [KEEPALIVED, *extra], "k")
    o = scenario(tmp, [*ours(tmp), *extra], "o")
    # what syslog(3) sends: every datagram parsed (LINE), no NUL, daemon.info unless said
    assert not any(b"\0" in d for d in (x.msg.encode() for x in o))
    assert not [x for x in k if x.pri % 8 == DEBUG]  # so skipping ours loses nothing
    kc, oc = comparable(k), comparable(o)
    assert oc - kc == set() and kc - oc == set(), (sorted(kc - oc), sorted(oc - kc))
    deassigned = (30, "Keepalived_vrrp", "Deassigned address fe80::LL from interface lgveth0")
    assert (deassigned in oc) == detail
    # one GARP line per packet (-D), as many as keepalived's
    garps = [sum(x.msg.startswith("Sending gratuitous ARP on") for x in ds) for ds in (k, o)]
    assert garps[0] == garps[1] == (5 if detail else 0)
    # the idents and the stop banner operators alert on
    assert {x.ident for x in o} == {x.ident for x in k} == {"Keepalived", "Keepalived_vrrp"}
    assert o[-1].msg.startswith("Stopped Keepalived v2.2.7 (pykeepalived ")


def test_child_death_alert_like_keepalived(rig: tuple[str, Path]) -> None:
    ns, tmp = rig

    def run(argv: list[str], name: str) -> set[tuple[int, str, str]]:
        r = Run(ns, tmp, argv, name)
        try:
            assert r.sink.wait_for("Entering MASTER STATE", 15), r.sink.drain()
            os.kill(r.pid(f"{name}-v.pid"), signal.SIGKILL)
            assert r.sink.wait_for("Starting VRRP child process", 10, count=2), r.sink.drain()
            assert r.sink.wait_for("Entering MASTER STATE", 15, count=2), r.sink.drain()
        finally:
            r.stop()
        out = r.sink.parsed()
        r.sink.close()
        return {normal(d) for d in out if "died" in d.msg or "exited" in d.msg
                or "Restart of" in d.msg}

    k = run([KEEPALIVED], "k")
    o = run(ours(tmp), "o")
    alert = (25, "Keepalived", "VRRP child process(N) died: Respawning")  # daemon.alert
    assert alert in k and alert in o
    killed = (30, "Keepalived", "pid N exited due to signal 9 (Killed)")
    assert killed in k and killed in o
    assert any(m.startswith("Restart of VRRP process delayed ") for _p, _i, m in o)


def test_command_line_wrapped_like_keepalived(rig: tuple[str, Path]) -> None:
    """keepalived's argv in our formatter gives keepalived's lines."""
    from pykeepalived.daemon.loglines import command_line

    ns, tmp = rig
    long = tmp / ("x" * 60 + ".conf")
    long.write_text(CONF)
    r = Run(ns, tmp, [KEEPALIVED, "-D", "-f", str(long)], "k")
    try:
        assert r.sink.wait_for("Startup complete", 15)
    finally:
        r.stop()
    got = [d.msg for d in r.sink.parsed() if d.msg.startswith(("Command line: ", " " * 14))]
    r.sink.close()
    # what keepalived was given (Run adds the pidfiles and the rig's config)
    argv = [KEEPALIVED, "-D", "-f", str(long), "-n", "-P", "-f", str(tmp / "k.conf"),
            "-p", str(tmp / "k.pid"), "-r", str(tmp / "k-v.pid"), "-c", str(tmp / "k-c.pid")]
    assert command_line(argv) == got
