"""Fixtures for the namespace tests: a fresh rig per test, always torn down."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from nsrig import KEEPALIVED, Rig


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, raw sockets)"
    for tool in ("ip", "tcpdump"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    if request.node.get_closest_marker("keepalived") and not os.access(KEEPALIVED, os.X_OK):
        pytest.skip("needs keepalived 2.2.7")
    nodes = ("a", "b", "c") if request.node.get_closest_marker("three_nodes") else ("a", "b")
    r = Rig(tmp_path, nodes)
    try:
        r.up()
        yield r
    finally:
        r.down()
        # keep the daemon logs visible on failure
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            for p in r.procs:
                print(f"----- {p.node} ({p.kind}) log -----\n{p.text()[-4000:]}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "three_nodes: the rig gets a third node c")
