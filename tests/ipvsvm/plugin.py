"""pytest fixtures for the IPVS guest; import them into a conftest.py:

    from ipvsvm.plugin import ipvs_guest  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ipvsvm.guest import GuestResult, run_in_guest, unavailable_reason


@pytest.fixture
def ipvs_guest() -> Callable[..., GuestResult]:
    """``ipvs_guest(argv, **kw)`` boots a fresh guest and runs ARGV (see run_in_guest);
    skips with the reason when UML cannot run here (not root, not installed ...)."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"IPVS guest unavailable: {reason}")
    return run_in_guest
