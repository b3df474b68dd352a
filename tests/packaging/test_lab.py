"""`pykeepalived lab` end to end: real namespaces, real daemons, real fail-over.

The take-over time is measured from the SIGKILL to the VIP on the backup. The backup's
master-down timer started at the last advert it heard, 0..advert_int before the kill, so the
figure lies in [mdi - advert_int, mdi] plus polling and netlink latency, where
mdi = 3 x advert_int + skew (skew = (256 - priority) / 256 x advert_int; 3.648 s for the
shipped LVS-DR pair, backup priority 90).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from helpers.netns import requires_netns
from helpers.paths import ROOT

from pykeepalived import lab
from pykeepalived.vrrp.fsm import master_down_interval

LAB = [sys.executable, "-m", "pykeepalived.lab"]
ENV = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return {ln.split()[0] for ln in out.stdout.splitlines() if ln.strip()}


def lab_namespaces(text: str) -> set[str]:
    return set(re.findall(r"namespace (pykl\S+?),", text))


def test_refuses_when_not_root(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert lab.main([]) == 1
    assert "must run as root" in capsys.readouterr().err


def test_rewrite_touches_only_the_interface() -> None:
    src = (ROOT / "conf.d" / "lvs-dr-master.conf").read_text()
    out = lab.rewrite(src)
    diff = [(a, b) for a, b in zip(src.splitlines(), out.splitlines(), strict=True) if a != b]
    assert diff == [("        interface eth0", f"        interface {lab.IFNAME}")]


def test_refuses_non_documentation_vip(tmp_path: object) -> None:
    from pathlib import Path

    d = Path(str(tmp_path))
    for n in ("a", "b"):
        (d / f"{n}.conf").write_text((ROOT / "conf.d" / "lvs-dr-master.conf").read_text()
                                     .replace("192.0.2.100", "10.1.2.3"))
    with pytest.raises(lab.LabError, match="not a documentation address"):
        lab.plan_for([d / "a.conf", d / "b.conf"])


def test_wait_master_skips_a_transient_master(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: object) -> None:
    """The lower-priority director can win the first election for a moment (it started
    first); the lab must report the master the pair settles on (CI once saw the other)."""
    from pathlib import Path

    lb = lab.Lab(prefix="t", workdir=Path(str(tmp_path)))
    d1 = lab.Director("director1", "ns1", Path("a"), "192.0.2.11", 100)
    d2 = lab.Director("director2", "ns2", Path("b"), "192.0.2.12", 90)
    lb.directors = [d1, d2]
    clock = [0.0]
    # director2 alone for 0.3 s, both for 0.1 s, then director1 alone
    timeline = [(0.3, {"director2"}), (0.4, {"director1", "director2"}), (99.0, {"director1"})]

    def has_vip(d: lab.Director, vip: str) -> bool:
        return d.name in next(h for t, h in timeline if clock[0] < t)

    def sleep(s: float) -> None:
        clock[0] += s

    monkeypatch.setattr(lb, "has_vip", has_vip)
    monkeypatch.setattr(lab.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(lab.time, "sleep", sleep)
    assert lb.wait_master("192.0.2.100", timeout=10, settle=2.0) is d1
    assert 2.4 <= clock[0] <= 2.6
    timeline[:] = [(99.0, set())]
    clock[0] = 0.0
    with pytest.raises(lab.LabError, match="no single director"):
        lb.wait_master("192.0.2.100", timeout=3, settle=2.0)


@pytest.mark.slow
@pytest.mark.netns
@requires_netns
def test_lab_measures_takeover() -> None:
    before = namespaces()
    r = subprocess.run(LAB, capture_output=True, text=True, timeout=90, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    # anchored: "NEW MASTER: director1 ..." must not pass for the first master's line
    assert re.search(r"^MASTER: director1 holds 192\.0\.2\.100", r.stdout, re.M), r.stdout
    assert re.search(r"^NEW MASTER: director2 holds 192\.0\.2\.100", r.stdout, re.M), r.stdout
    took = float(re.search(r"take-over time: ([\d.]+) s", r.stdout).group(1))  # type: ignore[union-attr]
    advert, mdi = 1.0, master_down_interval(90, 2, 1.0)
    assert mdi - advert - 0.05 <= took <= mdi + 0.5, r.stdout
    made = lab_namespaces(r.stdout)
    assert len(made) == 4 and not made & namespaces()  # all removed
    assert not made & before


@pytest.mark.slow
@pytest.mark.netns
@requires_netns
def test_lab_cleans_up_on_ctrl_c() -> None:
    p = subprocess.Popen(LAB, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=ENV, start_new_session=True)
    lines: list[str] = []
    try:
        end = time.monotonic() + 30
        assert p.stdout is not None
        while time.monotonic() < end:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("MASTER:"):
                break
        assert any(ln.startswith("MASTER:") for ln in lines), "".join(lines)
        pids = subprocess.run(["pgrep", "-f", "pykeepalived -n -l -P -G"], capture_output=True,
                              text=True, timeout=10).stdout.split()
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
    assert p.returncode == 130, err
    assert "interrupted; cleaned up" in err
    assert not lab_namespaces("".join(lines)) & namespaces()
    for pid in pids:  # the daemons the lab started are gone
        assert not os.path.exists(f"/proc/{pid}") or int(pid) == p.pid
