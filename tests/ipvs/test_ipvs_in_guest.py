"""Host side: boot the IPVS guest once and run every ``ipvs``-marked test inside it."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ipvsvm.guest import GUEST_OUTDIR, run_in_guest, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_ipvs_suite_in_guest() -> None:
    if os.environ.get("IPVSVM_GUEST") == "1":
        pytest.skip("already inside the guest")
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"IPVS guest unavailable: {reason}")
    argv = [
        sys.executable, "-m", "pytest", "-m", "ipvs", "tests/ipvs", "tests/e2e",
        "-p", "no:cacheprovider", "-q", "-rA", "--durations=0",
        f"--junitxml={GUEST_OUTDIR}/junit.xml",
    ]  # fmt: skip
    res = run_in_guest(argv, cwd=ROOT, timeout=900)
    print(res.output)  # visible with -s / on failure
    print(f"[ipvsvm] boot {res.boot_seconds}s, total {res.duration:.1f}s")
    assert res.returncode == 0, res.report()
    xml = res.files.get("junit.xml")
    assert xml, "the guest wrote no junit.xml\n" + res.report()
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    fails = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    assert tests > 0 and fails == 0, res.report()
    # inside the guest nothing may skip: a skip there would be a test that silently did not run
    assert skipped == 0, f"{skipped} ipvs tests skipped inside the guest\n" + res.report()
