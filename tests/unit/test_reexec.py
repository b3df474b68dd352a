"""reexec.self_command: a re-executed pykeepalived runs its parent's code, never the cwd's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pykeepalived
from pykeepalived.reexec import self_command


def test_runs_the_parents_pykeepalived_not_one_planted_in_the_cwd(tmp_path: Path) -> None:
    planted = tmp_path / "pykeepalived"
    planted.mkdir()
    marker = tmp_path / "planted-ran"
    (planted / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (planted / "cli.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    argv = self_command("-v")
    assert argv[4] == str(Path(pykeepalived.__file__).absolute().parent.parent)
    r = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert "(pykeepalived " in r.stderr
    assert not marker.exists()


def test_arguments_reach_the_cli_unchanged(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("vrrp_instance VI_1 {\n    bogus_keyword 1\n}\n")
    r = subprocess.run(self_command("-t", "-f", str(conf), "--no-host-checks"),
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "bogus_keyword" in r.stdout + r.stderr, r
