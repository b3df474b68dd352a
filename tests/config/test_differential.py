"""Differential test: `pykeepalived -t` against the real `keepalived -t` 2.2.7, same files.

Both run inside one namespace that has the interfaces the configs name (eth0, eth1). The
exit-code class must match, except where every message keepalived gave is an intended
difference (pykeepalived/config/compat.py) or one keepalived only logs; every line keepalived
flags must be flagged by us too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.netns import add_veth_pair, netns, requires_netns
from helpers.paths import DATA

from pykeepalived.config.compat import is_intended, is_log_only

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path("/usr/share/doc/keepalived/samples")
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"

pytestmark = [
    requires_netns,
    pytest.mark.netns,
    pytest.mark.keepalived,
    pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 not installed"),
]


def corpus() -> list[Path]:
    files = sorted(p for p in SAMPLES.glob("keepalived.conf.*") if not p.name.endswith(".gz"))
    files += sorted((DATA / "kad-t" / "research" / "kad-t").glob("t*.conf"))
    files += sorted((ROOT / "conf.d").glob("lvs-dr-*.conf"))
    files += sorted((DATA / "diff").glob("d*.conf"))
    return files


@pytest.fixture(scope="module")
def ns() -> Iterator[str]:
    with netns("pyk-diff") as name:
        add_veth_pair(name, "eth0", "eth1", "192.0.2.11/24")
        yield name


LINE = re.compile(r"^\((?:(?P<file>[^)]*): )?Line (?P<line>\d+)\) (?P<msg>.*)$")


def run_keepalived(ns: str, path: Path) -> tuple[int, list[tuple[int | None, str]]]:
    # PID 1 of its own PID namespace: 2.2.7's -t otherwise SIGTERMs itself when it checks
    # scripts (acassen/keepalived#2617)
    p = subprocess.run(["ip", "netns", "exec", ns, "unshare", "--pid", "--fork", "--kill-child",
                        KEEPALIVED, "-t", "-f", str(path)],
                       capture_output=True, text=True, timeout=60,
                       cwd=path.parent.parent.parent if "kad-t" in str(path) else path.parent)
    out = []
    for raw in (p.stdout + p.stderr).splitlines():
        m = LINE.match(raw.strip())
        if m:
            out.append((int(m.group("line")), m.group("msg")))
        elif raw.strip():
            out.append((None, raw.strip()))
    return p.returncode, out


def run_ours(ns: str, path: Path) -> tuple[int, list[dict]]:
    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "pykeepalived", "-t",
                        "--json", "-f", str(path)], capture_output=True, text=True, timeout=60,
                       cwd=path.parent.parent.parent if "kad-t" in str(path) else path.parent)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, json.loads(p.stdout or "[]")


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_same_verdict_as_keepalived(ns: str, path: Path, tmp_path: Path) -> None:
    if path.name.startswith("t32"):
        work = tmp_path / "kad"
        shutil.copytree(DATA / "kad-t", work)
        (work / "research/kad-t/inc/ww.sh").chmod(0o777)
        path = work / "research/kad-t" / path.name
    krc, kmsgs = run_keepalived(ns, path)
    orc, ours = run_ours(ns, path)
    residual = [(ln, m) for ln, m in kmsgs if not is_intended(m) and not is_log_only(m)]
    expected = krc if residual or krc not in (0, 5) else 0
    theirs = "\n  ".join(f"{ln}: {m}" for ln, m in kmsgs)
    mine = "\n  ".join(f"{d['line']}: {d['severity']}: {d['message']}" for d in ours)
    report = f"keepalived rc={krc}:\n  {theirs}\nours rc={orc}:\n  {mine}"
    assert orc == expected, report
    covered = {n for d in ours if d["line"]
               for n in range(d["line"], (d["end_line"] or d["line"]) + 1)}
    flagged = {ln for ln, m in residual if ln is not None}
    assert flagged <= covered, report
