"""Syslog as syslog(3) does it, and quiet without a syslog daemon.

keepalived 2.2.7 run with a private /dev gives the expectations: its datagrams' layout and
priorities, and its silence when /dev/log is missing.
"""

from __future__ import annotations

import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.devlog import LINE, SyslogSink, can_privdev, wrap
from helpers.netns import add_veth_pair, netns, requires_netns

from pykeepalived.daemon import logsetup
from pykeepalived.loglevels import ALERT, DETAIL

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
needs_privdev = pytest.mark.skipif(can_privdev() is not None, reason=str(can_privdev()))
needs_keepalived = pytest.mark.skipif(not Path(KEEPALIVED).exists(),
                                      reason="keepalived 2.2.7 not installed")
GLOBAL = "global_defs {\n  router_id sys1\n}\n"


def record(level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord("pykeepalived.x", level, __file__, 1, msg, (), None)


def test_datagram_layout_and_priorities(tmp_path: Path) -> None:
    sink = SyslogSink(tmp_path / "log.sock")
    try:
        h = logsetup.Syslog("Keepalived_vrrp", logsetup.facility_code("local7") or 0,
                            str(sink.path))
        h.setFormatter(logging.Formatter("%(message)s"))
        for lvl, msg in ((logging.INFO, "(VI_1) Entering MASTER STATE"), (DETAIL, "detail"),
                         (ALERT, "VRRP child process(7) died: Respawning"),
                         (logging.DEBUG, "debug"), (logging.ERROR, "error")):
            h.handle(record(lvl, msg))
        assert sink.wait_for("error", 5)
        got = sink.drain()
        h.close()
    finally:
        sink.close()
    assert all(LINE.match(d) and not d.endswith(b"\0") for d in got), got
    # local7 = 23: info 190, alert 185, debug 191, err 187 (syslog(3)'s LOG_MAKEPRI)
    assert [int(LINE.match(d)[1]) for d in got] == [190, 190, 185, 191, 187]  # type: ignore[index]
    assert got[0].endswith(b" Keepalived_vrrp[%d]: (VI_1) Entering MASTER STATE"
                           % logsetup.os.getpid())


def test_no_syslog_daemon_then_one_appears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "log.sock"
    h = logsetup.Syslog("Keepalived", 3, str(path))
    h.setFormatter(logging.Formatter("%(message)s"))
    clock = [1000.0]
    monkeypatch.setattr(logsetup.time, "monotonic", lambda: clock[0])
    t0 = time.perf_counter()
    for i in range(200):
        h.handle(record(logging.INFO, f"lost {i}"))
    assert time.perf_counter() - t0 < 0.5  # one connect attempt, then nothing until retry
    assert h.dropped == 200
    assert capsys.readouterr().err == ""  # no "--- Logging error ---"
    sink = SyslogSink(path)
    try:
        h.handle(record(logging.INFO, "still lost"))  # before the retry time
        clock[0] += logsetup.RECONNECT_EVERY
        h.handle(record(logging.INFO, "delivered"))
        assert sink.wait_for("delivered", 5)
        assert not any(b"still lost" in d for d in sink.drain())
        # syslogd restarted: the socket is replaced, the next line reconnects
        sink.close()
        sink = SyslogSink(path)
        h.handle(record(logging.INFO, "after restart"))
        assert sink.wait_for("after restart", 5)
    finally:
        h.close()
        sink.close()


@needs_privdev
@needs_keepalived
def test_same_datagram_layout_as_keepalived(tmp_path: Path) -> None:
    """keepalived's and our datagrams for the same -S local7 start and stop."""
    conf = tmp_path / "k.conf"
    conf.write_text(GLOBAL)
    got = {}
    for name, argv in (("k", [KEEPALIVED]),
                       ("o", [sys.executable, "-m", "pykeepalived"])):
        sink = SyslogSink(tmp_path / f"{name}.sock")
        cmd, env = wrap([*argv, "-n", "-S", "local7", "-f", str(conf),
                         "-p", str(tmp_path / f"{name}.pid")], str(sink.path))
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            assert sink.wait_for("Warning - keepalived has no configuration to run", 15)
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=20)
        assert sink.wait_for("Stopped Keepalived", 5)
        got[name] = [LINE.match(d) for d in sink.drain()]
        sink.close()
        assert err == "" and out == ""
    for name in ("k", "o"):
        assert all(m is not None for m in got[name]), name
    kpri = {m[5]: int(m[1]) for m in got["k"]}  # type: ignore[index]
    opri = {m[5]: int(m[1]) for m in got["o"]}  # type: ignore[index]
    for msg in (b"Stopping", b"Configuration file " + str(conf).encode()):
        assert kpri[msg] == opri[msg] == 190  # local7.info
    # keepalived logs its "Warning - ..." at info, and so do we
    warn = b"Warning - keepalived has no configuration to run"
    assert kpri[warn] == opri[warn] == 190, (kpri, opri)


@needs_privdev
@needs_keepalived
@requires_netns
@pytest.mark.netns
def test_silent_without_dev_log(tmp_path: Path) -> None:
    """No /dev/log (a container): both daemons run, reach MASTER and stop without a word on
    stderr, and ours starts as quickly as with a syslog daemon."""
    conf = tmp_path / "k.conf"
    conf.write_text(GLOBAL + "vrrp_instance VI_S {\n  state MASTER\n  interface slveth0\n"
                    "  virtual_router_id 80\n  priority 255\n  advert_int 1\n"
                    "  virtual_ipaddress {\n    192.0.2.180/24\n  }\n}\n")
    with netns("pyk-sl") as ns:
        add_veth_pair(ns, "slveth0", "slveth1", "192.0.2.14/24")
        for name, argv in (("k", [KEEPALIVED]), ("o", [sys.executable, "-m", "pykeepalived",
                                                        "--state-dir", str(tmp_path / "st")])):
            cmd, env = wrap(["ip", "netns", "exec", ns, *argv, "-n", "-P", "-f", str(conf),
                             "-p", str(tmp_path / f"{name}.pid"),
                             "-r", str(tmp_path / f"{name}-v.pid")], None)
            p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
            try:
                end = time.monotonic() + 15
                while time.monotonic() < end and "192.0.2.180" not in subprocess.run(
                        ["ip", "-n", ns, "-o", "addr"], capture_output=True, text=True).stdout:
                    time.sleep(0.05)
                took = 15 - (end - time.monotonic())
            finally:
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=20)
            assert (out, err, p.returncode) == ("", "", 0), (name, err[-2000:])
            assert took < 10, (name, took)
        # and -t (it writes no syslog at all) stays quiet too
        cmd, env = wrap([sys.executable, "-m", "pykeepalived", "-t", "--no-host-checks",
                         "-f", str(conf)], None)
        p2 = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert p2.returncode == 0 and "Logging error" not in p2.stderr, p2.stderr



@needs_keepalived
def test_console_lines_like_keepalived(tmp_path: Path) -> None:
    """-l: 'Sat Dec  5 21:38:30 2026: text' on stderr (ctime's layout, day padded)."""
    conf = tmp_path / "k.conf"
    conf.write_text(GLOBAL)
    stamp = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}: (.*)$")
    texts = {}
    for name, argv in (("k", [KEEPALIVED]), ("o", [sys.executable, "-m", "pykeepalived"])):
        p = subprocess.Popen([*argv, "-n", "-l", "-G", "-f", str(conf), "-p",
                              str(tmp_path / f"{name}.pid")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 15
        while time.monotonic() < end and not (tmp_path / f"{name}.pid").exists():
            time.sleep(0.05)
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        assert out == ""
        lines = err.splitlines()
        assert lines and all(stamp.match(x) for x in lines), err
        texts[name] = [stamp.match(x)[1] for x in lines]  # type: ignore[index]
    for t in ("Warning - keepalived has no configuration to run", "Stopping"):
        assert t in texts["k"] and t in texts["o"]
    assert texts["o"][0].startswith("Starting Keepalived v2.2.7 (")
    assert texts["k"][0].startswith("Starting Keepalived v2.2.7 (")
    f = logsetup.ConsoleFormatter()
    r = record(logging.INFO, "x")
    assert f.format(r) == f"{time.ctime(r.created)}: x"
