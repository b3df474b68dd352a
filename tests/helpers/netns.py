"""Network namespaces for tests: created per test, always removed, documentation addresses."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def can_netns() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


def netns_skip_reason() -> str | None:
    """Why the namespace rigs cannot run here (None: they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, raw sockets)"
    for tool in ("ip", "tcpdump"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


requires_netns = pytest.mark.skipif(not can_netns(), reason="needs root and iproute2 (ip netns)")


def sh(*cmd: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


@contextmanager
def netns(prefix: str = "pyk") -> Iterator[str]:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


def add_veth_pair(ns: str, a: str, b: str, addr_a: str | None = None) -> None:
    """Both ends inside `ns` (this kernel has no dummy links): gives the names configs use."""
    sh("ip", "-n", ns, "link", "add", a, "type", "veth", "peer", "name", b)
    for dev in (a, b):
        sh("ip", "-n", ns, "link", "set", dev, "up")
    if addr_a:
        sh("ip", "-n", ns, "addr", "add", addr_a, "dev", a)
