"""Command lines operators already type for keepalived, run through both binaries.

The expected text and exit codes are keepalived 2.2.7's own, taken from the installed binary
in each run (its `-t` runs as PID 1 of a fresh PID namespace, or it SIGTERMs itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
needs_keepalived = pytest.mark.skipif(
    not Path(KEEPALIVED).exists() or os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root, unshare and keepalived 2.2.7 (apt-get install keepalived)")

GOOD = "global_defs {\n  router_id ops1\n}\n"
BAD = "global_defs {\n  router_idd ops1\n}\n"


def ours(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pykeepalived", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def theirs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unshare", "--pid", "--fork", "--kill-child", KEEPALIVED, *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


@needs_keepalived
def test_positional_path_is_reported_never_written(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    other = tmp_path / "other.conf"
    conf.write_text(BAD)
    other.write_text(GOOD)
    before = conf.read_bytes()
    for run in (theirs, ours):
        p = run("-t", str(conf), "-f", str(other), cwd=tmp_path)
        assert conf.read_bytes() == before, run.__name__
        assert p.stdout == f"Unexpected argument(s): {conf} \n", (run.__name__, p.stdout)
        assert p.returncode == 0, (run.__name__, p.stderr)  # other.conf is clean
    k, o = theirs("-t", "-f", str(other), "x", "-S", "7", "y", cwd=tmp_path), \
        ours("-t", "-f", str(other), "x", "-S", "7", "y", cwd=tmp_path)
    assert (o.stdout, o.returncode) == (k.stdout, k.returncode) == \
        ("Unexpected argument(s): x y \n", 0)


@needs_keepalived
def test_attached_log_file_gets_the_findings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text(BAD)
    for run, log in ((theirs, tmp_path / "k.log"), (ours, tmp_path / "o.log")):
        log.write_text("previous\n")
        p = run(f"--config-test={log}", "-f", str(bad), cwd=tmp_path)
        assert p.returncode == 5
        lines = log.read_text().splitlines()
        assert lines[0] == "previous" and "Unknown keyword 'router_idd'" in lines[1], lines
    assert "Unknown keyword 'router_idd'" in (tmp_path / "o.log").read_text()


def test_never_appends_to_a_config_file(tmp_path: Path) -> None:
    """keepalived would append to both (a keepalived.conf given as the log file)."""
    bad = tmp_path / "keepalived.conf"
    bad.write_text(BAD)
    other = tmp_path / "other.conf"
    other.write_text(GOOD)
    for log in (bad, other):
        before = log.read_bytes()
        p = ours(f"--config-test={log}", "-f", str(bad), cwd=tmp_path)
        assert log.read_bytes() == before
        assert p.returncode == 5 and "not appending the findings" in p.stderr
        assert "Unknown keyword 'router_idd'" in p.stderr  # they went to stderr instead


@needs_keepalived
@pytest.mark.parametrize("fac", ["8", "LOCAL7", "-1", "3x"])
def test_invalid_log_facility_like_keepalived(tmp_path: Path, fac: str) -> None:
    (tmp_path / "k.conf").write_text(GOOD)
    k = theirs("-S", fac, "-t", "-f", "k.conf", cwd=tmp_path)
    o = ours("-S", fac, "-t", "-f", "k.conf", cwd=tmp_path)
    assert k.stderr == f"Invalid log facility '{fac}'\n"
    assert (o.stdout, o.stderr, o.returncode) == (k.stdout, k.stderr, k.returncode)


@needs_keepalived
@pytest.mark.parametrize("fac", ["7", "07", "0"])
def test_numeric_log_facility_like_keepalived(tmp_path: Path, fac: str) -> None:
    (tmp_path / "k.conf").write_text(GOOD)
    k = theirs("-S", fac, "-t", "-f", "k.conf", cwd=tmp_path)
    o = ours("-S", fac, "-t", "-f", "k.conf", cwd=tmp_path)
    assert (o.stdout, o.stderr, o.returncode) == (k.stdout, k.stderr, k.returncode) == \
        ("", "", 0)


@needs_keepalived
@pytest.mark.parametrize("fac", ["local7", "user"])
def test_named_log_facility_documented_difference(tmp_path: Path, fac: str) -> None:
    """keepalived 2.2.7 logs "invalid number 'local7'" and `-t` exits 5, then uses the
    facility anyway (its man page lists the names): we accept the documented names."""
    (tmp_path / "k.conf").write_text(GOOD)
    assert theirs("-S", fac, "-t", "-f", "k.conf", cwd=tmp_path).returncode == 5
    o = ours("-S", fac, "-t", "-f", "k.conf", cwd=tmp_path)
    assert (o.stdout, o.stderr, o.returncode) == ("", "", 0)


@needs_keepalived
def test_version_layout_like_keepalived(tmp_path: Path) -> None:
    k = theirs("-v", cwd=tmp_path)
    o = ours("-v", cwd=tmp_path)
    assert k.stdout == o.stdout == "" and k.returncode == o.returncode == 0
    kl, ol = k.stderr.splitlines(), o.stderr.splitlines()
    assert len(ol) > 5 and ol[1] == kl[1] == ""
    # mehdy/keepalived-exporter: first line of stderr, second word, after the 'v'
    assert ol[0].split(" ")[1] == kl[0].split(" ")[1] == "v2.2.7"
    for prefix in ("Distro: ",):
        assert [x for x in ol if x.startswith(prefix)] == [x for x in kl if x.startswith(prefix)]
    # keepalived adds "(built for Linux ...)" only in its start banner
    [krun] = [x for x in kl if x.startswith("Running on ")]
    assert [x for x in ol if x.startswith("Running on ")] == [krun]


def test_no_host_checks_says_what_it_skipped() -> None:
    root = Path(__file__).resolve().parents[2]
    p = ours("-t", "--no-host-checks", "-f", "conf.d/haproxy-master.conf", cwd=root)
    assert p.returncode == 0, p.stderr
    assert "does not exist" not in p.stderr
    assert "host check skipped: user(s) keepalived_script not looked up" in p.stderr
    assert "host check skipped: interface(s) eth0 not looked up" in p.stderr
    assert "script(s) not checked" in p.stderr
