"""keepalived_check.data: ours against keepalived 2.2.7's own file, both checker processes
(-C) run on the same config in the IPVS guest and signalled with USR1 once their checks have
settled. Only live values are masked."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ipvsvm.keepalived import KEEPALIVED, stop_session

pytestmark = [pytest.mark.ipvs, pytest.mark.keepalived]

CONF = """
global_defs {
    router_id chk_a
}
virtual_server 192.0.2.100 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum 1
    real_server 198.51.100.11 80 {
        weight 3
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
    real_server 198.51.100.12 80 {
        weight 1
        MISC_CHECK {
            misc_path "/bin/false"
        }
    }
    real_server 127.0.0.1 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""
SETTLE = 6.0  # warmup + a failure and its retry: every checker has its verdict


def _run(cmd: list[str], dump: Path, d: Path) -> tuple[str, str]:
    """(the dump file, the checker state file if the daemon writes one) after SETTLE."""
    log = open(d / "log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(SETTLE)
        assert proc.poll() is None, (d / "log").read_text()
        os.kill(proc.pid, signal.SIGUSR1)
        end = time.monotonic() + 10
        while time.monotonic() < end and not (dump.exists() and dump.stat().st_size):
            time.sleep(0.1)
        time.sleep(0.3)
        state = d / "state" / "checker.json"
        return dump.read_text(), state.read_text() if state.exists() else ""
    finally:
        stop_session(proc, grace=15)
        log.close()


def mask(text: str) -> list[str]:
    out = []
    for ln in text.splitlines():
        ln = re.sub(r"^(   Retries iterations = )\d+", r"\1<n>", ln)
        ln = re.sub(r"^(   Last ran = ).*", r"\1<ts>", ln)
        out.append(ln)
    return out


def test_check_data_matches_keepalived(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONF)
    kd = tmp_path / "kad"
    kd.mkdir()
    kad_dump = Path("/tmp/keepalived_check.data")  # keepalived's fixed path (guest's own /tmp)
    kad_dump.unlink(missing_ok=True)
    theirs, _ = _run([KEEPALIVED, "-C", "-n", "-l", "-D", "-f", str(conf), "-p", f"{kd}/k.pid",
                   "-c", f"{kd}/c.pid", "-r", f"{kd}/v.pid"], kad_dump, kd)
    od = tmp_path / "ours"
    od.mkdir()
    cmd = [sys.executable, "-m", "pykeepalived", "-C", "-n", "-l", "-G", "-f", str(conf),
           "-p", f"{od}/p.pid", "-c", f"{od}/c.pid", "-r", f"{od}/v.pid",
           "--state-dir", f"{od}/state", "--dump-dir", str(od)]
    ours, state = _run(cmd, od / "keepalived_check.data", od)
    keep = os.environ.get("PYK_KEEP_DUMPS")
    if keep:
        Path(keep, "kad.keepalived_check.data").write_text(theirs)
        Path(keep, "ours.keepalived_check.data").write_text(ours)
    assert mask(ours) == mask(theirs)
    # the same run feeds gen2brain's keepalived_lvs_* from the kernel's counters
    lvs = json.loads(state)["lvs_stats"]
    assert [(s["addr"], s["proto"]) for s in lvs] == [("192.0.2.100:80", 6)]
    # read at most every 5 s (at the first sync every real server was still in the table)
    dests = {d["addr"] for d in lvs[0]["dests"]}
    assert "198.51.100.11:80" in dests
    assert dests <= {"198.51.100.11:80", "198.51.100.12:80", "127.0.0.1:80"}
