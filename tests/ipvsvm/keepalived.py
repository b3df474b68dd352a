"""Run the real keepalived 2.2.7 (checker process only) inside the guest and dump the IPVS
table it builds: the oracle path for differential IPVS tests.

    from ipvsvm.keepalived import keepalived_table
    text, log = keepalived_table(conf_text)   # `ipvsadm -S -n` while keepalived runs
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ipvsvm.oracle import ipvsadm

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"


def stop_session(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Stop a daemon started with start_new_session=True and every process of its group:
    SIGTERM, then SIGKILL when it has not exited within GRACE seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def keepalived_table(
    conf: str,
    *,
    expect_lines: int = 1,
    timeout: float = 30.0,
    settle: float = 1.0,
    until: Callable[[str], bool] | None = None,
) -> tuple[str, str]:
    """Start ``keepalived -C -n -l`` on CONF, wait (bounded) until ``ipvsadm -S -n`` has at
    least EXPECT_LINES lines (and satisfies UNTIL, when given: e.g. the table after the health
    checks have failed) and is stable for SETTLE seconds, stop keepalived, and return
    (the dump, keepalived's log). Raises RuntimeError with the log when it does not get there.
    """
    with tempfile.TemporaryDirectory(prefix="kad-") as d:
        cfg = Path(d) / "keepalived.conf"
        cfg.write_text(conf)
        cmd = [
            KEEPALIVED, "-C", "-n", "-l", "-D", "-f", str(cfg),
            "-p", f"{d}/keepalived.pid", "-c", f"{d}/checkers.pid", "-r", f"{d}/vrrp.pid",
        ]  # fmt: skip
        log = Path(d) / "log"
        with open(log, "wb") as lf:
            proc = subprocess.Popen(
                cmd, stdout=lf, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            deadline = time.monotonic() + timeout
            last, since = None, time.monotonic()
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"keepalived exited {proc.returncode}:\n{log.read_text()}")
                dump = ipvsadm("-S", "-n")
                if dump != last:
                    last, since = dump, time.monotonic()
                elif (
                    len(dump.splitlines()) >= expect_lines
                    and (until is None or until(dump))
                    and time.monotonic() - since >= settle
                ):
                    return dump, log.read_text()
                time.sleep(0.2)
            raise RuntimeError(
                f"keepalived built no stable table in {timeout}s:\n{last}\n{log.read_text()}"
            )
        finally:
            stop_session(proc, grace=10)
