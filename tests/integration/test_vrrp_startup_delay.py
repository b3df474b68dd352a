"""vrrp_startup_delay: VRRP instances stay silent in INIT until the delay has passed, as in
keepalived 2.2.7 (the same config, run in the same rig, is the reference)."""

from __future__ import annotations

import os
import time

import pytest
from nsrig import KEEPALIVED, Rig, vrrp_conf

pytestmark = pytest.mark.netns

DELAY = 1.5


@pytest.mark.parametrize("kind", ["py", "kad"])
def test_instances_start_after_the_delay(rig: Rig, kind: str) -> None:
    if kind == "kad" and not os.access(KEEPALIVED, os.X_OK):
        pytest.skip("needs keepalived 2.2.7")
    conf = vrrp_conf(state="MASTER", priority=100,
                     globals_extra=f"    vrrp_startup_delay {DELAY}\n")
    t0 = time.monotonic()
    p = rig.start_py("a", conf) if kind == "py" else rig.start_kad("a", conf)
    # advert_int 0.1 (v3): without the delay MASTER comes within a few hundred ms
    assert rig.wait_log(p, "(VI_1) Entering MASTER STATE", DELAY + 5), p.text()
    took = time.monotonic() - t0
    print(f"[{kind}] MASTER after {took:.2f} s with vrrp_startup_delay {DELAY}")
    assert took >= DELAY, p.text()
    assert "Delaying startup for" in p.text(), p.text()
