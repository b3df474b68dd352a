"""e2e tests: those marked ``ipvs`` need kernel IPVS (run inside the UML guest, see
tests/ipvs/test_ipvs_in_guest.py); the HAProxy pair (``netns``) runs on the host."""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(autouse=True)
def _needs_rig(request: pytest.FixtureRequest) -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 (network namespaces)")
    if request.node.get_closest_marker("ipvs") and not os.path.exists("/proc/net/ip_vs"):
        pytest.skip("needs kernel IPVS: runs in the UML guest via tests/ipvs/test_ipvs_in_guest.py")
