"""ipvsvm.keepalived.stop_session on the host (its callers run only in the IPVS guest)."""

from __future__ import annotations

import subprocess
import sys
import time

from ipvsvm.keepalived import stop_session

# a parent that ignores SIGTERM with a child of its own in the same session
STUBBORN = ("import signal, subprocess, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "print(c.pid, flush=True)\n"
            "time.sleep(60)\n")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_then_sigkill_for_the_whole_group() -> None:
    p = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE,
                         start_new_session=True)
    assert p.stdout is not None
    child = int(p.stdout.readline())
    t0 = time.monotonic()
    stop_session(p, grace=0.5)
    assert p.returncode == -9 and 0.5 <= time.monotonic() - t0 < 5
    end = time.monotonic() + 5
    while _alive(child) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_daemon_that_stops_on_sigterm_and_one_already_gone() -> None:
    p = subprocess.Popen(["sleep", "60"], start_new_session=True)
    stop_session(p, grace=5)
    assert p.returncode == -15
    stop_session(p, grace=5)  # already reaped: nothing to signal
