"""The installed .deb's units under a real systemd: a clean Debian root booted with nspawn.

The package is installed (dpkg -i + apt-get -f install) into a throw-away overlay of the cached
bookworm / trixie root (tests/helpers/debroot.py), a VRRP config is put in place, and the root
is booted with `systemd-nspawn -b` inside a network namespace whose eth0 is a veth. Then, with
the container's own systemctl:
* postinst enabled pykeepalived.service (deb-systemd-helper) and it started at boot; being
  `active` with Type=notify means systemd got READY=1, and StatusText is the daemon's STATUS=;
* `systemctl reload` with one more VIP in the config adds it, keeps MainPID, and the kernel
  reports no address deletion (`ip monitor address` watching the namespace all along);
* SIGKILL of the main process: Restart=on-failure brings a new daemon back (NRestarts=1) and it
  takes the VIPs again;
* reinstalling the package (an upgrade) restarts the running daemon from postinst
  (deb-systemd-invoke try-restart);
* `systemctl stop` releases the VIPs and leaves the unit inactive with Result=success;
* pykeepalived-hardened.service (capability list, read-only file system, syscall filter) is
  really applied (the daemon's CapBnd, NoNewPrivs, Seccomp and mounts), still does VRRP and
  runs scripts as script_user (setuid: a track script and a notify script run as `nobody`),
  and a failing track script takes the VIP away (FAULT) and back;
* under the running systemd, a fresh `dpkg -i` enables and starts the unit, `dpkg -r` stops
  it and releases the VIP, `dpkg --purge` leaves no unit behind;
* the units' journal shows no traceback, logging error, EPERM or EACCES.
IPVS is not in this machine's kernel (no /proc/net/ip_vs), so the hardened unit's IPVS side is
not exercised here; the IPVS guest tests (tests/ipvsvm) cover the daemon's IPVS code.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.debroot import SUITES, Container, debian_root, install_deb, overlay, run
from helpers.netns import add_veth_pair, netns, requires_netns

pytestmark = [pytest.mark.slow, requires_netns]

VIP, VIP2 = "192.0.2.100", "192.0.2.101"
CONF = """\
global_defs {
    router_id pyk_nspawn
    script_user nobody
}
vrrp_script chk_down_file {
    script "/usr/local/bin/pyk-check"
    interval 1
    fall 1
    rise 1
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        %s
    }
    track_script {
        chk_down_file
    }
    notify /usr/local/bin/pyk-notify
}
"""
# CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_ADMIN, CAP_NET_RAW (linux/capability.h)
HARDENED_CAPS = sum(1 << n for n in (5, 6, 7, 12, 13))
CHECK = "#!/bin/sh\ntest ! -e /tmp/pyk-down\n"
NOTIFY = '#!/bin/sh\necho "$(id -un) $1 $2 $3" >> /tmp/pyk-notify.log\n'



@pytest.fixture(params=SUITES)
def booted(request: pytest.FixtureRequest, deb: Path,
           tmp_path: Path) -> Iterator[tuple[Container, str]]:
    lower = debian_root(request.param)
    with overlay(lower, tmp_path / "ov") as root:
        install_deb(root, deb)
        shutil.copy(deb, root / "var/tmp" / deb.name)  # for the upgrade (/tmp may be a tmpfs)
        (root / "etc/keepalived").mkdir(exist_ok=True)
        (root / "etc/keepalived/keepalived.conf").write_text(CONF % f"{VIP}/32")
        for name, text in (("pyk-check", CHECK), ("pyk-notify", NOTIFY)):
            (root / "usr/local/bin" / name).write_text(text)
            (root / "usr/local/bin" / name).chmod(0o755)
        with netns("pyksd") as ns:
            add_veth_pair(ns, "eth0", "eth1", "192.0.2.11/24")
            c = Container(root, ns, tmp_path / "console.log")
            try:
                c.boot()
                yield c, ns
            finally:
                c.stop()


def addrs(ns: str) -> str:
    return run("ip", "-n", ns, "-o", "addr", "show", "dev", "eth0").stdout


def has(ns: str, ip: str) -> bool:
    return f" {ip}/32 " in addrs(ns)


def test_units_under_systemd(booted: tuple[Container, str], deb: Path, tmp_path: Path) -> None:
    c, ns = booted
    unit = "pykeepalived.service"
    props = ("ActiveState", "SubState", "MainPID", "NRestarts", "Result", "StatusText",
             "UnitFileState", "Type")
    # enabled by postinst, started at boot (its config exists), READY=1 received
    c.wait_for("pykeepalived.service active after boot",
               lambda: c.show(unit, "ActiveState")["ActiveState"] == "active")
    st = c.show(unit, *props)
    assert st["UnitFileState"] == "enabled" and st["Type"] == "notify", st
    assert st["StatusText"].startswith("running: vrrp"), st
    assert st["NRestarts"] == "0", st
    c.wait_for(f"{VIP} on eth0", lambda: has(ns, VIP))
    pid = st["MainPID"]

    # reload: a second VIP appears, the first is never deleted, same main process
    mon_out = (tmp_path / "monitor.txt").open("w")
    mon = subprocess.Popen(["ip", "-n", ns, "monitor", "address"], stdout=mon_out,
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(0.3)  # the monitor is subscribed
        conf = c.root / "etc/keepalived/keepalived.conf"
        conf.write_text(CONF % f"{VIP}/32\n        {VIP2}/32")
        c.ctl("reload", unit)
        c.wait_for(f"{VIP2} after reload", lambda: has(ns, VIP2))
        c.wait_for("active after reload",
                   lambda: c.show(unit, "ActiveState")["ActiveState"] == "active")
        time.sleep(1.5)  # an address flap would show up by now
    finally:
        mon.send_signal(signal.SIGTERM)
        mon.wait(10)
        mon_out.close()
    events = (tmp_path / "monitor.txt").read_text()
    assert f"inet {VIP2}/32" in events, events  # the monitor saw the reload's change
    assert "Deleted" not in events, events
    st = c.show(unit, *props)
    assert st["MainPID"] == pid and st["ActiveState"] == "active", st
    assert has(ns, VIP)

    # a killed daemon comes back (Restart=on-failure) and takes the VIPs again
    c.sh("kill", "-KILL", pid)
    c.wait_for("a restarted daemon", lambda: (
        (s := c.show(unit, "ActiveState", "NRestarts", "MainPID"))["ActiveState"] == "active"
        and s["NRestarts"] == "1" and s["MainPID"] not in (pid, "0")), timeout=45)
    c.wait_for(f"{VIP} and {VIP2} after the restart", lambda: has(ns, VIP) and has(ns, VIP2))

    # an upgrade (here: the same package again) restarts the running daemon from postinst
    # (deb-systemd-invoke try-restart, under the real systemd)
    pid = c.show(unit, "MainPID")["MainPID"]
    c.sh("dpkg", "-i", f"/var/tmp/{deb.name}", timeout=120)
    c.wait_for("a new daemon after the upgrade", lambda: (
        (s := c.show(unit, "ActiveState", "MainPID"))["ActiveState"] == "active"
        and s["MainPID"] not in (pid, "0")), timeout=45)
    c.wait_for(f"{VIP} after the upgrade", lambda: has(ns, VIP))

    # stop releases them
    c.ctl("stop", unit, timeout=60)
    st = c.show(unit, *props)
    assert st["ActiveState"] == "inactive" and st["Result"] == "success", st
    assert VIP not in addrs(ns) and VIP2 not in addrs(ns), addrs(ns)
    log = c.sh("cat", "/tmp/pyk-notify.log").stdout
    assert "nobody INSTANCE VI_1 MASTER" in log, log  # scripts ran as script_user

    # the hardened unit: VRRP, setuid scripts, track script failure and recovery
    hard = "pykeepalived-hardened.service"
    c.sh("rm", "-f", "/tmp/pyk-notify.log")
    c.ctl("start", hard)
    st = c.show(hard, *props)
    assert st["ActiveState"] == "active" and st["StatusText"].startswith("running: vrrp"), st
    c.wait_for(f"{VIP} under the hardened unit", lambda: has(ns, VIP))
    # the sandbox is really applied to the daemon (not silently ignored by this systemd)
    status = c.sh("cat", f"/proc/{st['MainPID']}/status").stdout
    fields = dict(ln.split(":\t", 1) for ln in status.splitlines() if ":\t" in ln)
    assert int(fields["CapBnd"], 16) == HARDENED_CAPS, fields["CapBnd"]
    assert fields["NoNewPrivs"].strip() == "1" and fields["Seccomp"].strip() == "2", fields
    mounts = c.sh("cat", f"/proc/{st['MainPID']}/mounts").stdout
    opts = {ln.split()[1]: ln.split()[3].split(",") for ln in mounts.splitlines()}  # last wins
    assert "ro" in opts["/"], mounts  # ProtectSystem=strict
    assert "ro" in opts["/home"] and "rw" in opts["/run"] and "rw" in opts["/tmp"]
    c.sh("touch", "/tmp/pyk-down")
    c.wait_for("FAULT: VIP released on a failing track script", lambda: not has(ns, VIP))
    c.sh("rm", "/tmp/pyk-down")
    c.wait_for(f"{VIP} back after the script recovered", lambda: has(ns, VIP))
    log = c.sh("cat", "/tmp/pyk-notify.log").stdout
    for state in ("MASTER", "FAULT"):
        assert f"nobody INSTANCE VI_1 {state}" in log, log
    c.ctl("stop", hard, timeout=60)
    assert c.show(hard, "Result")["Result"] == "success"
    assert VIP not in addrs(ns)
    # maintainer scripts under the running systemd: a fresh install enables and starts the
    # unit (its config exists), removing the package stops it, purging forgets it
    c.sh("dpkg", "--purge", "pykeepalived", timeout=120)
    assert c.show(unit, "LoadState")["LoadState"] == "not-found"
    c.sh("dpkg", "-i", f"/var/tmp/{deb.name}", timeout=120)
    st = c.show(unit, *props)
    assert st["ActiveState"] == "active" and st["UnitFileState"] == "enabled", st
    c.wait_for(f"{VIP} after a fresh install", lambda: has(ns, VIP))
    c.sh("dpkg", "-r", "pykeepalived", timeout=120)
    assert c.show(unit, "ActiveState")["ActiveState"] in ("inactive", "unknown")
    assert VIP not in addrs(ns), addrs(ns)

    # nothing went wrong on the way that only the journal would show
    journal = c.journal(tail=10**7)
    for bad in ("Traceback", "Logging error", "Operation not permitted", "Permission denied"):
        assert bad not in journal, journal
