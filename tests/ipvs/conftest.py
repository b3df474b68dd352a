"""IPVS tests: those marked ``ipvs`` need kernel IPVS and run inside the UML guest
(test_ipvs_in_guest.py boots it once and runs them there); on the host they skip."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from ipvsvm.plugin import ipvs_guest  # noqa: F401  (fixture for host-side tests)

IN_GUEST = os.environ.get("IPVSVM_GUEST") == "1"


@pytest.fixture(autouse=True)
def _needs_ipvs(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("ipvs") and not os.path.exists("/proc/net/ip_vs"):
        pytest.skip("needs kernel IPVS: runs in the UML guest via tests/ipvs/test_ipvs_in_guest.py")


@pytest.fixture
def kernel() -> Iterator[object]:
    """An IPVSKernel on an empty table, flushed again afterwards."""
    from pykeepalived.ipvs.kernel import IPVSKernel

    with IPVSKernel() as k:
        k.flush()
        yield k
        k.flush()
