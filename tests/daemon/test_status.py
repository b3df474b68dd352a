"""`pykeepalived status` against fake state files written the way child.py writes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from kad_snapshots import backup_b, pool

from pykeepalived.daemon import status


def _write(d: str, role: str, snap: dict[str, Any], *, pid: int | None = None,
           age: float = 0.0) -> None:
    doc = {"role": role, **snap, "pid": pid or os.getpid(), "time": time.time() - age,
           "config": "/etc/keepalived/keepalived.conf"}
    with open(os.path.join(d, f"{role}.json"), "w", encoding="utf-8") as fh:
        json.dump(doc, fh, default=str)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_text_output(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    snap = backup_b()
    snap["instances"]["VI_1"]["last_advert"]["time"] = time.time() - 0.4
    _write(str(tmp_path), "vrrp", snap)
    _write(str(tmp_path), "checker", pool())
    assert status.main(["--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "VI_1: BACKUP  vrid 51 v2 on eth0  priority 90" in out
    assert "master: 192.0.2.11" in out
    assert "last advert: from 192.0.2.11 priority 100, 0.4s ago" in out
    assert "vip 192.0.2.100/24 dev eth0 scope global" in out
    assert "counters: advert_rcvd=8, drop_wrong_vrid=2" in out  # non-zero only
    assert "[192.0.2.100]:tcp:80: quorum up (weight 1, need 1)" in out
    assert "198.51.100.10:80: UP  weight 1" in out
    assert "198.51.100.11:80: DOWN  weight 0" in out
    assert "TCP_CHECK: connection refused" in out


def test_json_output(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    _write(str(tmp_path), "vrrp", backup_b())
    assert status.main(["--json", "--state-dir", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["running"] is True and doc["checker"] is None
    i = doc["vrrp"]["instances"][0]
    assert (i["name"], i["state"], i["effective_priority"], i["master_address"]) == \
        ("VI_1", "BACKUP", 90, "192.0.2.11")
    assert i["counters"] == {"advert_rcvd": 8, "drop_wrong_vrid": 2}
    assert i["last_advert_source"] == "192.0.2.11"


@pytest.mark.parametrize("case", ["missing", "stale", "dead"])
def test_not_running(tmp_path, capsys, case) -> None:  # type: ignore[no-untyped-def]
    if case == "stale":
        _write(str(tmp_path), "vrrp", backup_b(), age=10)
    elif case == "dead":
        _write(str(tmp_path), "vrrp", backup_b(), pid=_dead_pid())
    assert status.main(["--state-dir", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "pykeepalived is not running" in err
    assert {"missing": "no state file", "stale": "s old",
            "dead": "is not running"}[case] in err


def test_not_running_json(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert status.main(["--json", "--state-dir", str(tmp_path / "nope")]) == 3
    assert json.loads(capsys.readouterr().out)["running"] is False


def test_one_child_down_is_a_warning(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    _write(str(tmp_path), "vrrp", backup_b())
    _write(str(tmp_path), "checker", pool(), age=30)
    assert status.main(["--state-dir", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    assert "Checker" not in cap.out and "warning: checker child: state is 30 s old" in cap.err


def test_cli_dispatch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = subprocess.run([sys.executable, "-m", "pykeepalived", "status", "--state-dir",
                        str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 3 and "not running" in r.stderr


def _parent(d: str, checker_running: bool, restarts: int, stopped: str | None = None) -> None:
    last = {"time": time.time() - 2, "pid": 4242, "status": "exit status 1",
            "reason": "IPVS: Can't initialize ipvs"} if restarts else None
    doc = {"pid": os.getpid(), "time": time.time(), "stopped": stopped, "children": {
        "vrrp": {"wanted": True, "pid": os.getpid(), "running": True, "restarts": 0,
                 "last_exit": None},
        "checker": {"wanted": True, "pid": None, "running": checker_running,
                    "restarts": restarts, "last_exit": last}}}
    with open(os.path.join(d, "parent.json"), "w", encoding="utf-8") as fh:
        json.dump(doc, fh)


def test_a_wanted_child_that_keeps_dying_is_a_problem(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Before: `checker: null, problems: {}` while the checker was in a restart loop."""
    _write(str(tmp_path), "vrrp", backup_b())
    _parent(str(tmp_path), checker_running=False, restarts=7)
    assert status.main(["--json", "--state-dir", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["checker"] is None
    assert "no state file" in doc["problems"]["checker"]
    assert "restarted 7 times" in doc["problems"]["checker"]
    assert "IPVS: Can't initialize ipvs" in doc["problems"]["checker"]
    assert doc["children"]["checker"]["restarts"] == 7
    assert status.main(["--state-dir", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    assert "checker child: NOT RUNNING, 7 restarts, last exit" in cap.out
    assert "warning: checker child:" in cap.err


def test_a_child_not_wanted_is_no_problem(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    _write(str(tmp_path), "vrrp", backup_b())
    assert status.main(["--json", "--state-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["problems"] == {}


def test_stopped_after_a_permanent_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    _parent(str(tmp_path), checker_running=False, restarts=0,
            stopped="checker child: IPVS: Can't initialize ipvs")
    assert status.main(["--json", "--state-dir", str(tmp_path)]) == status.EXIT_NOT_RUNNING
    doc = json.loads(capsys.readouterr().out)
    assert doc["running"] is False and "permanent error" in doc["reason"]
