"""Running checker scripts (MISC_CHECK, notify_up/down, quorum_up/down) safely.

No shell: argv is exec'd directly as keepalived does. Each script gets its own session so a
timeout can kill the whole process group (a script's own children included), and when we
run as root the child drops to the script user/group before exec.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import signal
from dataclasses import dataclass

from pykeepalived.config.scripts import script_env

KILL_GRACE = 0.5  # seconds between SIGTERM and SIGKILL of a timed-out script


@dataclass(frozen=True, slots=True)
class ScriptOutcome:
    status: int | None = None  # exit status when it exited
    signal: int | None = None  # terminating signal when killed
    timed_out: bool = False
    error: str | None = None  # could not start at all
    pid: int | None = None


def resolve_ids(user: str | None, group: str | None) -> tuple[int | None, int | None]:
    """uid/gid to switch to, or (None, None) when not root or no user given."""
    if os.geteuid() != 0 or not user:
        return None, None
    pw = pwd.getpwnam(user) if not user.isdigit() else pwd.getpwuid(int(user))
    gid = pw.pw_gid
    if group:
        gid = grp.getgrnam(group).gr_gid if not group.isdigit() else int(group)
    return pw.pw_uid, gid


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def run_script(argv: tuple[str, ...], timeout: float | None, user: str | None = None,
                     group: str | None = None) -> ScriptOutcome:
    """Run argv to completion or timeout; never raises for script failures."""
    try:
        uid, gid = resolve_ids(user, group)
    except (KeyError, ValueError) as e:
        return ScriptOutcome(error=f"unknown user/group {user}:{group} ({e})")
    kw: dict[str, object] = {}
    if uid is not None:
        kw.update(user=uid, group=gid, extra_groups=[])
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True, close_fds=True,
            env=script_env(), **kw)
    except OSError as e:
        return ScriptOutcome(error=f"{argv[0]}: {e.strerror or e}")
    try:
        async with asyncio.timeout(timeout):
            rc = await proc.wait()
    except TimeoutError:
        _kill_group(proc.pid, signal.SIGTERM)
        try:
            async with asyncio.timeout(KILL_GRACE):
                rc = await proc.wait()
        except TimeoutError:
            _kill_group(proc.pid, signal.SIGKILL)
            rc = await proc.wait()
        _kill_group(proc.pid, signal.SIGKILL)  # stragglers the script left behind
        return ScriptOutcome(signal=-rc if rc < 0 else None, timed_out=True, pid=proc.pid)
    except asyncio.CancelledError:
        _kill_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            await asyncio.shield(proc.wait())
        raise
    if rc < 0:
        return ScriptOutcome(signal=-rc, pid=proc.pid)
    return ScriptOutcome(status=rc, pid=proc.pid)
