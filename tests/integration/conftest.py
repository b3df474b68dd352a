"""Fixtures for the namespace tests: a fresh rig per test, always torn down."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.netns import netns_skip_reason
from nsrig import KEEPALIVED, Rig, running_rig


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    reason = netns_skip_reason()
    if reason:
        pytest.skip(reason)
    if request.node.get_closest_marker("keepalived") and not os.access(KEEPALIVED, os.X_OK):
        pytest.skip("needs keepalived 2.2.7")
    nodes = ("a", "b", "c") if request.node.get_closest_marker("three_nodes") else ("a", "b")
    with running_rig(tmp_path, nodes, request.node) as r:
        yield r


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "three_nodes: the rig gets a third node c")
