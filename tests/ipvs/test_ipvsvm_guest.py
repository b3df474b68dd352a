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
    """Live UML guests (zombies of an interrupted run hold nothing and are not ours)."""
    # guests of this test process only: run_in_guest names them ipvsvm-<our pid>-...
    out = subprocess.run(["pgrep", "-f", f"umid=ipvsvm-{os.getpid()}-"], capture_output=True,
                         text=True)
    live = set()
    for pid in out.stdout.split():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] != "Z":
            live.add(pid)
    return live


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
    before = _uml_pids()  # another guest (a parallel run) is not ours to judge
    res = ipvs_guest(["sleep", "600"], timeout=10)
    assert res.timed_out and res.returncode == RC_TIMEOUT
    assert res.duration < 30
    assert not _uml_pids() - before, "UML processes survived the run"
