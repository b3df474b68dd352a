"""The conformance runner over the real-world corpus (../shared/corpus/wild-dev), when present.

It runs `bench/conformance.py` (its own private mount, network and UTS namespaces, with the
corpus's interfaces and net_namespaces) and holds the figures reached so far: no traceback or
hang, and agreement with keepalived 2.2.7's recorded verdicts and first error lines at least
as high as measured (a ratchet: raise the floors as fixes land, never lower them).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.netns import requires_netns
from helpers.paths import ROOT

CORPUS = ROOT.parent / "shared" / "corpus" / "wild-dev"
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"

# measured on this corpus (416 entry points, 413 with a keepalived verdict)
AGREEMENT_FLOOR = 99.52 - 0.1  # % of entry points with keepalived 2.2.7's exit code
LINE_FLOOR = 99.44 - 0.1  # % where both fail with keepalived's first error line first

pytestmark = [
    requires_netns,
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(not (CORPUS / "EXPECTED-keepalived-2.2.7.tsv").is_file(),
                       reason=f"no corpus at {CORPUS}"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)"),
]


def _namespaces_usable() -> str | None:
    p = subprocess.run(["unshare", "--mount", "--net", "--uts", "true"], capture_output=True,
                       text=True, timeout=30)
    return None if p.returncode == 0 else f"cannot make namespaces here: {p.stderr.strip()}"


def test_corpus_conformance(tmp_path: Path) -> None:
    why = _namespaces_usable()
    if why:
        pytest.skip(why)
    out = tmp_path / "report.json"
    cmd = [sys.executable, str(ROOT / "bench" / "conformance.py"), "--corpus", str(CORPUS),
           "--json", str(out)]
    if Path(KEEPALIVED).exists():
        cmd.append("--live")  # every keepalived message, to judge the compat.py differences
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["tracebacks"] == {}, p.stdout[:3000]
    assert report["hangs"] == [], p.stdout[:3000]
    recorded = report["oracles"][0]
    assert recorded["oracle"] == "keepalived-2.2.7 (recorded)"
    assert recorded["compared"] >= 400
    assert recorded["agreement"] >= AGREEMENT_FLOOR, p.stdout
    assert recorded["line_rate"] >= LINE_FLOOR, p.stdout
