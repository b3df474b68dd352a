"""Differential test against the second oracle, keepalived 2.3.3 (Debian 13), same corpora.

keepalived 2.3.3 runs from a debootstrap'd trixie root (tests/helpers/kad233.py) in the same
kind of namespace as the 2.2.7 test (tests/config/test_differential.py). For every file:
- where 2.2.7 and 2.3.3 disagree, the difference must be one recorded in
  pykeepalived/config/compat.py (VERSION_DIFFERENCES), so a new one cannot slip by;
- `pykeepalived -t` must give 2.3.3's verdict, except for the intended differences and the
  version differences where we keep 2.2.7's verdict (listed with their reason).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import kad233
from helpers.netns import add_veth_pair, netns, requires_netns
from helpers.paths import DATA

from pykeepalived.config.compat import (
    is_intended,
    is_intended_for,
    is_log_only,
    version_difference,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path("/usr/share/doc/keepalived/samples")
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
# 2.3.3 never finishes on this sample (SMTP_CHECK host blocks): checked on its own below
HANGS_233 = {"keepalived.conf.SMTP_CHECK"}

pytestmark = [requires_netns, pytest.mark.netns, pytest.mark.keepalived]


@pytest.fixture(scope="module")
def oracle() -> None:
    reason = kad233.skip_reason()
    if reason:
        pytest.skip(reason)


def corpus() -> list[Path]:
    files = sorted(p for p in SAMPLES.glob("keepalived.conf.*")
                   if not p.name.endswith(".gz") and p.name not in HANGS_233)
    files += sorted((DATA / "kad-t" / "research" / "kad-t").glob("t*.conf"))
    files += sorted((ROOT / "conf.d").glob("lvs-dr-*.conf"))
    files += sorted((DATA / "diff").glob("d*.conf"))
    return files


@pytest.fixture(scope="module")
def ns(oracle: None) -> Iterator[str]:
    with netns("pyk-d233") as name:
        add_veth_pair(name, "eth0", "eth1", "192.0.2.11/24")
        yield name


def workdir(path: Path) -> Path:
    return path.parent.parent.parent if "kad-t" in str(path) else path.parent


def run_227(ns: str, path: Path) -> tuple[int, list[tuple[int | None, str]]]:
    if not Path(KEEPALIVED).exists():
        pytest.skip("keepalived 2.2.7 not installed")
    p = subprocess.run(["ip", "netns", "exec", ns, "unshare", "--pid", "--fork", "--kill-child",
                        KEEPALIVED, "-t", "-f", str(path)], capture_output=True, text=True,
                       timeout=60, cwd=workdir(path), stdin=subprocess.DEVNULL)
    lines = [ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    return p.returncode, kad233.parse(lines)


def run_233(ns: str, path: Path) -> tuple[int, list[tuple[int | None, str]]]:
    rc, lines = kad233.run(path, workdir(path), ns)
    return rc, kad233.parse(lines)


def run_ours(ns: str, path: Path) -> tuple[int, list[dict]]:
    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "pykeepalived", "-t",
                        "--json", "-f", str(path)], capture_output=True, text=True, timeout=60,
                       cwd=workdir(path), stdin=subprocess.DEVNULL)
    assert "Traceback" not in p.stderr, p.stderr
    return p.returncode, json.loads(p.stdout or "[]")


def unrecorded(only: set[tuple[int | None, str]], version: str) -> list[str]:
    return [f"{ln}: {m}" for ln, m in sorted(only, key=str) if not version_difference(m, version)]


def prepare(path: Path, tmp_path: Path) -> Path:
    if path.name.startswith("t32"):
        work = tmp_path / "kad"
        shutil.copytree(DATA / "kad-t", work)
        (work / "research/kad-t/inc/ww.sh").chmod(0o777)
        return work / "research/kad-t" / path.name
    return path


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.name)
def test_same_verdict_as_keepalived_233(ns: str, path: Path, tmp_path: Path) -> None:
    path = prepare(path, tmp_path)
    rc7, m7 = run_227(ns, path)
    rc3, m3 = run_233(ns, path)
    s7, s3 = set(m7), set(m3)
    report = (f"keepalived 2.2.7 rc={rc7}:\n  " + "\n  ".join(f"{ln}: {m}" for ln, m in m7)
              + f"\nkeepalived 2.3.3 rc={rc3}:\n  " + "\n  ".join(f"{ln}: {m}" for ln, m in m3))
    # 1. the two oracles differ only where compat.py says so
    new = unrecorded(s7 - s3, "2.2.7") + unrecorded(s3 - s7, "2.3.3")
    assert not new, f"unrecorded 2.2.7/2.3.3 difference: {new}\n{report}"
    if rc7 != rc3:
        changed = [d for _, m in (s7 ^ s3) for d in (version_difference(m, "2.2.7"),
                                                     version_difference(m, "2.3.3"))
                   if d is not None and d.rc_changes]
        assert changed, f"exit codes differ without a recorded reason\n{report}"
    # 2. ours gives 2.3.3's verdict, but for intended differences
    orc, ours = run_ours(ns, path)
    # a version difference only excuses a message the other version does not print
    residual = [(ln, m) for ln, m in m3 if not is_log_only(m) and not is_intended(m)
                and not ((ln, m) in s3 - s7 and is_intended_for(m, "2.3.3"))]
    expected = rc3 if residual or rc3 not in (0, 5) else 0
    mine = "\n  ".join(f"{d['line']}: {d['severity']}: {d['message']}" for d in ours)
    assert orc == expected, f"{report}\nours rc={orc}:\n  {mine}"
    covered = {n for d in ours if d["line"]
               for n in range(d["line"], (d["end_line"] or d["line"]) + 1)}
    flagged = {ln for ln, m in residual if ln is not None}
    assert flagged <= covered, f"{report}\nours rc={orc}:\n  {mine}"


def test_233_hangs_on_smtp_check_host_blocks(ns: str, tmp_path: Path) -> None:
    """2.3.3 loops on SMTP_CHECK `host {}` (recorded in compat.py); 2.2.7 and we accept it."""
    conf = tmp_path / "smtp.conf"
    conf.write_text("virtual_server 192.0.2.100 25 {\n  lb_algo rr\n  lb_kind NAT\n"
                    "  protocol TCP\n  real_server 192.0.2.12 25 {\n    SMTP_CHECK {\n"
                    "      host {\n        connect_ip 192.0.2.12\n      }\n    }\n  }\n}\n")
    rc3, m3 = kad233.run(conf, tmp_path, ns, timeout=3)
    assert rc3 == kad233.TIMEOUT_RC, m3
    d = version_difference(m3[0], "2.3.3")
    assert d is not None and d.follow == "2.2.7"
    rc7, _ = run_227(ns, conf)
    orc, ours = run_ours(ns, conf)
    assert rc7 == 0 and orc == 0, ours
    assert any(re.search(r"legacy", o["message"]) for o in ours), ours


def test_233_rejects_scripts_under_a_symlinked_directory(ns: str, tmp_path: Path) -> None:
    """/bin -> usr/bin: 2.3.3 disables `script /bin/true` as insecure, 2.2.7 and we run it."""
    conf = tmp_path / "sym.conf"
    conf.write_text("global_defs {\n  enable_script_security\n  script_user root\n}\n"
                    "vrrp_script chk {\n  script /bin/true\n}\n"
                    "vrrp_instance VI {\n  interface eth0\n  virtual_router_id 1\n"
                    "  priority 100\n  virtual_ipaddress {\n    192.0.2.1/24\n  }\n"
                    "  track_script {\n    chk\n  }\n}\n")
    if not Path("/bin").is_symlink():
        pytest.skip("/bin is not a symlink on this host")
    rc3, m3 = run_233(ns, conf)
    assert rc3 == 5 and any("due to insecure" in m for _, m in m3), m3
    d = version_difference(next(m for _, m in m3 if "due to insecure" in m), "2.3.3")
    assert d is not None and d.follow == "2.2.7"
    rc7, _ = run_227(ns, conf)
    orc, ours = run_ours(ns, conf)
    assert rc7 == 0 and orc == 0, ours


def test_root_script_reuses_a_complete_root(oracle: None) -> None:
    """scripts/kad233-root.sh answers 0 at once for a complete root (test.sh relies on it)."""
    t0 = time.monotonic()
    p = subprocess.run(["bash", str(kad233.BUILD_SCRIPT), str(kad233.ROOT)], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert time.monotonic() - t0 < 5
    assert kad233.version().startswith("Keepalived v2.3.")
