"""MISC_CHECK with real scripts: exit codes, misc_dynamic weights, timeout kills the group,
setuid to the script user."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from checkutil import Recorder, chk, down, messages, one, run, up, write_script

from pykeepalived.check.pool import CheckerPool
from pykeepalived.check.results import RsChange
from pykeepalived.config.model import Script

TOL = 0.3


def misc(path: Path, *args: str, **kw: object) -> object:
    return chk("MISC_CHECK", misc_path=Script((str(path), *args)), **kw)


def test_exit_codes_drive_state(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    code = tmp_path / "code"
    code.write_text("0")
    s = write_script(tmp_path / "m.sh", f"exit $(cat {code})\n")
    dl = 0.3
    cfg = one(misc(s, delay_loop=dl, retry=0), 8080)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        loop = asyncio.get_running_loop()
        await pool.start()
        await asyncio.sleep(0.2)
        t0 = loop.time()
        code.write_text("1")
        ev = await rec.wait(down, 2.0)
        assert ev.at - t0 <= dl + TOL  # retry 0 (MISC default): first failure is enough
        n = len(rec.events)
        code.write_text("0")
        await rec.wait(up, 2.0, start=n)
        await pool.stop()

    run(main())
    head = f"Misc check for [[127.0.0.1]:tcp:8080 VS [192.0.2.100]:tcp:80] by [{s}]"
    assert f"{head} failed (exited with status 1)." in messages(caplog)
    assert f"{head} succeeded." in messages(caplog)


def test_misc_dynamic_weight(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    code = tmp_path / "code"
    code.write_text("12")
    s = write_script(tmp_path / "m.sh", f"exit $(cat {code})\n")
    cfg = one(misc(s, misc_dynamic=True), 8080, weight=3)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        ev = await rec.wait(lambda e: isinstance(e, RsChange) and e.weight == 10, 1.0)
        assert isinstance(ev, RsChange) and ev.alive
        code.write_text("0")  # back to the configured weight
        await rec.wait(lambda e: isinstance(e, RsChange) and e.weight == 3 and not e.initial,
                       1.0)
        code.write_text("1")
        await rec.wait(down, 1.0)
        n = len(rec.events)
        code.write_text("2")  # up with weight 0
        ev = await rec.wait(up, 1.0, start=n)
        assert isinstance(ev, RsChange) and ev.weight == 0
        await pool.stop()

    run(main())
    assert ("Changing weight from 3 to 10 for active service [127.0.0.1]:tcp:8080 of VS "
            "[192.0.2.100]:tcp:80") in messages(caplog)


def test_timeout_kills_process_group(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    pidfile = tmp_path / "child.pid"
    # the script starts a grandchild that would outlive a plain kill of the script
    s = write_script(tmp_path / "slow.sh", f"sleep 30 & echo $! > {pidfile}\nwait\n")
    to = 0.3
    cfg = one(misc(s, misc_timeout=to, delay_loop=5), 8080)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await pool.start()
        ev = await rec.wait(down, 3.0)
        assert to - 0.02 <= ev.at - t0 <= to + 0.5 + TOL  # + SIGTERM grace
        await pool.stop()

    run(main())
    pid = int(pidfile.read_text())
    for _ in range(100):
        if not alive(pid):
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"grandchild {pid} survived the timeout")
    head = "Misc check for [[127.0.0.1]:tcp:8080 VS [192.0.2.100]:tcp:80]"
    assert f"{head} by [{s}] timed out." in messages(caplog)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a non-reaping init counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_retry_spacing(tmp_path: Path) -> None:
    stamps = tmp_path / "stamps"
    s = write_script(tmp_path / "f.sh", f"date +%s.%N >> {stamps}\nexit 1\n")
    dbr = 0.2
    cfg = one(misc(s, retry=2, delay_before_retry=dbr, delay_loop=5), 8080)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await rec.wait(down, 3.0)
        await pool.stop()

    run(main())
    t = [float(x) for x in stamps.read_text().split()]
    assert len(t) == 3  # first attempt + 2 retries, then down (next only after delay_loop)
    gaps = [b - a for a, b in itertools.pairwise(t)]
    assert all(dbr - 0.02 <= g <= dbr + 0.15 for g in gaps), gaps


def test_missing_script_is_a_failure() -> None:
    cfg = one(chk("MISC_CHECK", misc_path=Script(("/nonexistent/x",))), 8080)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await rec.wait(down, 1.0)
        await pool.stop()

    run(main())


@pytest.mark.skipif(os.geteuid() != 0, reason="setuid needs root")
def test_runs_as_script_user(tmp_path: Path) -> None:
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user nobody")
    d = Path(tempfile.mkdtemp(prefix="pyka-misc-"))  # pytest's tmp dirs are 0700 to root
    os.chmod(d, 0o755)
    out = d / "id"
    out.write_text("")
    os.chmod(out, 0o666)
    s = write_script(d / "id.sh", f"id -u > {out}\n")
    cfg = one(chk("MISC_CHECK", misc_path=Script((str(s),), user="nobody"), delay_loop=5),
              8080)

    async def main() -> None:
        pool = CheckerPool(cfg)
        await pool.start()
        for _ in range(100):
            if out.exists() and out.read_text().strip():
                break
            await asyncio.sleep(0.02)
        await pool.stop()

    try:
        run(main())
        assert int(out.read_text()) == nobody.pw_uid
    finally:
        shutil.rmtree(d)
