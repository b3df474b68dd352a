"""track_interface and track_file change priority or put the instance in FAULT."""

from __future__ import annotations

from pathlib import Path

import pytest
from nsrig import Rig, vrrp_conf

pytestmark = pytest.mark.netns
VIP = "192.0.2.100"


def test_track_interface_weight(rig: Rig) -> None:
    ns = rig.ns("a")
    rig.exec("a", "ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p",
             check=True)
    for dev in ("eth1", "eth1p"):
        rig.exec("a", "ip", "link", "set", dev, "up", check=True)
    assert ns
    extra = "    track_interface {\n        eth1 weight -20\n    }\n"
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100, extra=extra))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    b = rig.start_py("b", vrrp_conf(priority=90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    rig.exec("a", "ip", "link", "set", "eth1", "down", check=True)
    assert rig.wait_log(a, "Changing effective priority from 100 to 80", 2), a.text()
    assert rig.wait_vip("b", VIP, 2), b.text()
    assert rig.wait_vip("a", VIP, 1, present=False)
    assert "Entering FAULT" not in a.text()
    rig.exec("a", "ip", "link", "set", "eth1", "up", check=True)
    assert rig.wait_vip("a", VIP, 3), a.text()


def test_track_file_weight_zero_faults(rig: Rig, tmp_path: Path) -> None:
    f = tmp_path / "state"
    f.write_text("0\n")
    top = f"vrrp_track_file tf {{\n    file {f}\n    weight 0\n}}\n"
    extra = "    track_file {\n        tf\n    }\n"
    a = rig.start_py("a", vrrp_conf(state="MASTER", priority=100, top=top, extra=extra))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    f.write_text("1\n")
    assert rig.wait_log(a, "(VI_1) Entering FAULT STATE", 3), a.text()
    assert rig.wait_vip("a", VIP, 1, present=False)
    f.write_text("0\n")
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 3, count=2), a.text()
