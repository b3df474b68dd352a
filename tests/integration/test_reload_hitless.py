"""Hitless reload of the real daemon (parent + VRRP child) in a namespace.

`ip monitor address`, run in the node's namespace, is the observer: an unchanged VIP on the
MASTER must see no Deleted event across reloads after a comment edit, a line shift and an
unrelated instance added; a FAULTed instance stays FAULT for the whole reload (no
notify_backup); a reload with a file that does not load changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nsrig import PYTHON, Proc, Rig, vrrp_conf, wait_for

pytestmark = [pytest.mark.netns]

VIP = "192.0.2.100"
SECOND = """
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 200
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.150/24
    }
}
"""


def start_daemon(rig: Rig, conf: Path) -> Proc:
    tmp = rig.tmp
    # -D: "removing VIPs." / "setting VIPs." are detail lines (as keepalived's)
    argv = ["ip", "netns", "exec", rig.ns("a"), PYTHON, "-m", "pykeepalived", "-n", "-l", "-D",
            "-G", "-P", "-f", str(conf), "-p", str(tmp / "p.pid"), "-r", str(tmp / "v.pid"),
            "-c", str(tmp / "c.pid"), "--state-dir", str(tmp / "state"),
            "--dump-dir", str(tmp)]
    return rig._spawn("a", "py", argv, tmp / "a.daemon.log")


@contextlib.contextmanager
def ip_monitor(rig: Rig, name: str) -> Iterator[Path]:
    """`ip monitor address` in node a's namespace, its output in a file."""
    out = rig.tmp / name
    f = open(out, "wb")  # noqa: SIM115 - the monitor owns it until it stops
    mon = subprocess.Popen(["ip", "netns", "exec", rig.ns("a"), "ip", "-o", "monitor",
                            "address"], stdout=f, stderr=subprocess.STDOUT)
    f.close()
    try:
        time.sleep(0.3)  # subscribed before the test acts
        yield out
    finally:
        time.sleep(0.3)
        mon.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            mon.wait(5)
        if mon.poll() is None:
            mon.kill()
            mon.wait(5)


def engine_reloads(d: Proc) -> int:
    """The VRRP engine's own "Reloading" lines (the parent's reads "Reloading ...")."""
    return len(re.findall(r": Reloading$", d.text(), re.M))


def reload_and_wait(rig: Rig, d: Proc, conf: Path, text: str) -> None:
    n = engine_reloads(d)
    conf.write_text(text)
    os.kill(d.pid, signal.SIGHUP)
    assert wait_for(lambda: engine_reloads(d) > n, 10), d.text()[-3000:]
    time.sleep(0.3)  # the engine applies the plan in milliseconds; VIP work in its worker


def test_reload_after_comment_shift_and_unrelated_change_keeps_vip(rig: Rig) -> None:
    base = vrrp_conf(state="MASTER", priority=200, version=3, advert_int=0.1)
    conf = rig.write_conf("a", base)
    d = start_daemon(rig, conf)
    assert rig.wait_vip("a", VIP, 10) is not None, d.text()[-3000:]
    assert rig.wait_log(d, "Entering MASTER STATE", 5) is not None
    before = d.text()
    with ip_monitor(rig, "mon.txt") as mon:
        reload_and_wait(rig, d, conf, "# edited by config management\n" + base)
        reload_and_wait(rig, d, conf, "\n\n\n! shifted\n" + base.replace(
            "    virtual_ipaddress", "    # the VIPs\n\n    virtual_ipaddress"))
        reload_and_wait(rig, d, conf, "# edited\n" + base + SECOND)
        assert rig.wait_vip("a", "192.0.2.150", 5) is not None
        # renamed and moved below the other: keepalived matches by VRID/interface, not name
        top, _, inst = base.partition("vrrp_instance VI_1")
        reload_and_wait(rig, d, conf, top + SECOND + "vrrp_instance WEB" + inst)
    events = mon.read_text()
    during = d.text()[len(before):]
    assert "Deleted" not in " ".join(ln for ln in events.splitlines() if f" {VIP}/" in ln), \
        events
    assert "192.0.2.150" in events  # the monitor did see the added instance's VIP
    for name in ("VI_1", "WEB"):
        for line in ("Entering", "removing VIPs", "setting VIPs", "sent 0 priority"):
            assert f"({name}) {line}" not in during, during[-3000:]
    state = json.loads((rig.tmp / "state" / "vrrp.json").read_text())
    assert state["instances"]["WEB"]["state"] == "MASTER" and "VI_1" not in state["instances"]
    assert rig.has_vip("a", VIP)


def test_faulted_instance_stays_fault_across_reload(rig: Rig) -> None:
    notes = rig.tmp / "notify.log"
    script = rig.tmp / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$1 $2 $3" >> {notes}\n')
    script.chmod(0o755)
    top = ("vrrp_script chk {\n    script \"/bin/false\"\n    interval 0.5\n    weight 0\n}\n")
    extra = f"    track_script {{\n        chk\n    }}\n    notify {script}\n"
    base = vrrp_conf(state="MASTER", priority=200, version=3, advert_int=0.1, top=top,
                     extra=extra, globals_extra="    enable_script_security\n"
                                                "    script_user root\n")
    conf = rig.write_conf("a", base)
    d = start_daemon(rig, conf)
    assert rig.wait_log(d, "Entering FAULT STATE", 10) is not None, d.text()[-3000:]
    assert wait_for(lambda: notes.exists() and "FAULT" in notes.read_text(), 5)
    time.sleep(1.0)  # a couple of script runs: the result is settled as failed
    before_log, before_notes = d.text(), notes.read_text()
    reload_and_wait(rig, d, conf, "# edited\n" + base)
    reload_and_wait(rig, d, conf, "\n\n" + base + SECOND)
    time.sleep(1.5)  # the whole reload, and longer than the script's interval
    during, notes_during = d.text()[len(before_log):], notes.read_text()[len(before_notes):]
    assert "(VI_1) Entering BACKUP STATE" not in during, during[-3000:]
    assert "(VI_1) Entering MASTER STATE" not in during, during[-3000:]
    assert "VI_1 BACKUP" not in notes_during and "VI_1 MASTER" not in notes_during, \
        notes_during
    assert not rig.has_vip("a", VIP)


def test_reload_with_broken_file_changes_nothing(rig: Rig) -> None:
    base = vrrp_conf(state="MASTER", priority=200, version=3, advert_int=0.1)
    conf = rig.write_conf("a", base)
    d = start_daemon(rig, conf)
    assert rig.wait_vip("a", VIP, 10) is not None, d.text()[-3000:]
    assert rig.wait_log(d, "Entering MASTER STATE", 5) is not None
    vpid = (rig.tmp / "v.pid").read_text().strip()
    before = d.text()
    with ip_monitor(rig, "mon.txt") as mon:
        # a keyword without its value: keepalived -t exits 2 on it (a fatal parse error)
        conf.write_text(base.replace("virtual_router_id 51", "virtual_router_id"))
        os.kill(d.pid, signal.SIGHUP)
        assert rig.wait_log(d, "Reload aborted", 10) is not None, d.text()[-3000:]
        time.sleep(1.0)
    during = d.text()[len(before):]
    assert engine_reloads(d) == 0 and "Entering" not in during, during
    assert VIP not in mon.read_text(), mon.read_text()
    assert (rig.tmp / "v.pid").read_text().strip() == vpid
    assert rig.has_vip("a", VIP) and d.alive()


def test_sighup_to_the_vrrp_child_reloads_through_the_parent(rig: Rig) -> None:
    """Children never parse: a HUP sent to the VRRP child itself asks the parent, which
    parses once and hands the model over the channel (a changed VIP shows it arrived)."""
    base = vrrp_conf(state="MASTER", priority=200, version=3, advert_int=0.1)
    conf = rig.write_conf("a", base)
    d = start_daemon(rig, conf)
    assert rig.wait_vip("a", VIP, 10) is not None, d.text()[-3000:]
    vpid = int((rig.tmp / "v.pid").read_text())
    conf.write_text(base.replace("192.0.2.100/24", "192.0.2.100/24\n        192.0.2.101/24"))
    os.kill(vpid, signal.SIGHUP)
    assert rig.wait_vip("a", "192.0.2.101", 10) is not None, d.text()[-3000:]
    text = d.text()
    assert "vrrp child asked for a reload" in text and "Reloading ..." in text, text[-3000:]
    assert rig.has_vip("a", VIP) and int((rig.tmp / "v.pid").read_text()) == vpid
