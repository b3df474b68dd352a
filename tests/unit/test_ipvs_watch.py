"""tests/helpers/ipvs_watch.py on the host: the guest tests (tests/ipvs, tests/e2e) spawn it by
path and cannot run here, so its argument parsing, output lines and no-IPVS exit are checked
here without a kernel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import ipvs_watch

SCRIPT = Path(ipvs_watch.__file__)


def test_mode_defaults_and_overrides() -> None:
    a = ipvs_watch.parse(["daemons", "out"])
    assert (a.mode, a.out, a.duration, a.poll) == ("daemons", "out", 600.0, 0.003)
    a = ipvs_watch.parse(["table", "out", "--duration", "120"])
    assert (a.mode, a.duration, a.poll) == ("table", 120.0, 0.005)
    with pytest.raises(SystemExit):
        ipvs_watch.parse(["out", "--duration", "120"])  # the mode is required


def test_lines_per_mode() -> None:
    k = SimpleNamespace(
        daemons=lambda: [SimpleNamespace(state="master"), SimpleNamespace(state="backup")],
        table=lambda: {"vs1": [SimpleNamespace(addr="192.0.2.2", port=80, weight=1),
                               SimpleNamespace(addr="192.0.2.1", port=80, weight=0)]})
    read = {m: f for m, (f, _, _) in ipvs_watch.MODES.items()}
    assert ipvs_watch.line(1.5, read["daemons"](k)) == "1.5000 backup,master\n"
    assert ipvs_watch.line(2.0, read["table"](k)) == "2.0000 192.0.2.1:80=0,192.0.2.2:80=1\n"
    assert ipvs_watch.line(3.0, []) == "3.0000 -\n"


@pytest.mark.skipif(Path("/proc/net/ip_vs").exists(), reason="this kernel has IPVS loaded")
def test_run_by_path_without_ipvs_says_so(tmp_path: Path) -> None:
    out = tmp_path / "w"
    p = subprocess.run([sys.executable, str(SCRIPT), "table", str(out), "--duration", "1"],
                       capture_output=True, text=True, timeout=30)
    # no module to load either (a kernel that could load ip_vs would make this a live run)
    if p.returncode == 0:
        pytest.skip("IPVS was loadable here")
    assert p.returncode == 2 and "no IPVS here" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and not out.exists()
