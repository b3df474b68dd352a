"""Host side: the guest harness itself (exit codes, output, environment, timeout, cleanup)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from ipvsvm.guest import RC_TIMEOUT, GuestResult

pytestmark = pytest.mark.slow


def _uml_pids() -> set[str]:
    out = subprocess.run(["pgrep", "-f", "umid=ipvsvm-"], capture_output=True, text=True)
    return set(out.stdout.split())


def test_command_status_output_env(ipvs_guest: Callable[..., GuestResult]) -> None:
    before = set(Path(tempfile.gettempdir()).glob("ipvsvm-run-*"))
    res = ipvs_guest(
        [
            "sh",
            "-c",
            'test -e /proc/net/ip_vs && echo "in=$IPVSVM_GUEST x=$X cwd=$PWD"; '
            "touch /etc/ipvsvm-probe && echo wrote; exit 7",
        ],
        env={**os.environ, "X": "a b'c"},
        cwd="/",
        timeout=120,
    )
    assert res.returncode == 7, res.report()
    assert "in=1 x=a b'c cwd=/" in res.output, res.report()
    assert "wrote" in res.output  # the overlay is writable ...
    assert not Path("/etc/ipvsvm-probe").exists()  # ... and thrown away
    assert res.boot_seconds is not None and res.boot_seconds < 30
    assert set(Path(tempfile.gettempdir()).glob("ipvsvm-run-*")) == before


def test_timeout_kills_everything(ipvs_guest: Callable[..., GuestResult]) -> None:
    res = ipvs_guest(["sleep", "600"], timeout=10)
    assert res.timed_out and res.returncode == RC_TIMEOUT
    assert res.duration < 30
    assert not _uml_pids(), "UML processes survived the run"
