"""Hardening tests: fuzzing, hostile network, faults, security.

The namespace rig of tests/integration (nsrig.Rig) is reused so every netns test tears down
what it made; this conftest only makes it importable and provides the fixtures.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.netns import netns_skip_reason

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "integration"))

from nsrig import Rig, running_rig  # noqa: E402


@pytest.fixture
def rig3(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    """Nodes a, b (daemons) and c (attacker); the bridge namespace is the observer."""
    reason = netns_skip_reason()
    if reason:
        pytest.skip(reason)
    with running_rig(tmp_path, ("a", "b", "c"), request.node) as r:
        yield r


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    reason = netns_skip_reason()
    if reason:
        pytest.skip(reason)
    with running_rig(tmp_path, ("a", "b"), request.node) as r:
        yield r


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
