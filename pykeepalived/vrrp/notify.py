"""Notify scripts and notify FIFOs for VRRP state changes (keepalived's conventions).

* ``notify_master`` / ``notify_backup`` / ``notify_fault`` / ``notify_stop`` run with their own
  configured arguments; ``notify`` runs afterwards with four more: TYPE NAME STATE PRIORITY
  (TYPE is INSTANCE or GROUP). Groups pass the same four (priority 0).
* FIFO lines: ``INSTANCE "VI_1" MASTER 100`` / ``GROUP "G1" MASTER 0``, newline-terminated.
* Scripts are started as asyncio subprocesses and never awaited on the advert path; each has a
  timeout after which it is killed; failures are logged with the exit status.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import stat
from dataclasses import dataclass

from pykeepalived.config.model import Config, Script, VrrpInstance, VrrpSyncGroup
from pykeepalived.config.scripts import needs_shell, script_env

log = logging.getLogger("pykeepalived.vrrp")

NOTIFY_TIMEOUT = 30.0  # seconds a notify script may run before it is killed


@dataclass(frozen=True, slots=True)
class ScriptResult:
    status: int | None  # exit status; None = killed on timeout / could not start
    timed_out: bool = False
    error: str | None = None


def _ids(script: Script, cfg: Config | None) -> tuple[int | None, int | None]:
    """uid/gid to run as: the script's user, else script_user, else keepalived_script or us."""
    user = script.user or (cfg.global_defs.script_user if cfg else None)
    group = script.group or (cfg.global_defs.script_group if cfg and not script.user else None)
    if user is None:
        try:
            pw = pwd.getpwnam("keepalived_script")
        except KeyError:
            return None, None
        return pw.pw_uid, pw.pw_gid
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return None, None
    gid = pw.pw_gid
    if group:
        import grp

        with contextlib.suppress(KeyError):
            gid = grp.getgrnam(group).gr_gid
    if pw.pw_uid == os.geteuid():
        return None, None
    return pw.pw_uid, gid


def command_argv(script: Script, extra: tuple[str, ...] = ()) -> list[str]:
    """argv to exec: direct, or through /bin/sh when the command uses shell syntax."""
    argv = list(script.argv) + list(extra)
    if needs_shell(script.argv):
        import shlex

        return ["/bin/sh", "-c", " ".join(script.argv + tuple(shlex.quote(a) for a in extra))]
    return argv


async def run_script(
    script: Script,
    extra: tuple[str, ...] = (),
    *,
    timeout: float = NOTIFY_TIMEOUT,
    cfg: Config | None = None,
) -> ScriptResult:
    """Run one script to completion (or kill it at ``timeout``); never raises."""
    argv = command_argv(script, extra)
    uid, gid = _ids(script, cfg)
    kw: dict[str, object] = {}
    if uid is not None and os.geteuid() == 0:
        kw["user"] = uid
        kw["group"] = gid
        kw["extra_groups"] = []
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            env=script_env(),
            **kw,  # type: ignore[arg-type]
        )
    except OSError as e:
        return ScriptResult(None, error=str(e))
    try:
        status = await asyncio.wait_for(proc.wait(), timeout if timeout > 0 else None)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)
        return ScriptResult(None, timed_out=True)
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        raise
    return ScriptResult(status)


class Notifier:
    """Fires notify scripts and FIFO lines for instance and group state changes."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.tasks: set[asyncio.Task[None]] = set()
        self._fifo_fd: int | None = None
        self._fifo_path: str | None = None
        self.runs: int = 0
        self.failures: int = 0
        # scripts of one instance run in order (keepalived forks them in order too)
        self._chains: dict[str, asyncio.Task[None]] = {}

    def update_config(self, cfg: Config) -> None:
        self.cfg = cfg

    # -- FIFO ----------------------------------------------------------------------------
    def _fifo(self) -> int | None:
        g = self.cfg.global_defs
        fifo = g.vrrp_notify_fifo or g.notify_fifo
        if fifo is None or not fifo.argv:
            return None
        path = fifo.argv[0]
        if self._fifo_fd is not None and self._fifo_path == path:
            return self._fifo_fd
        try:
            if not os.path.lexists(path):
                os.mkfifo(path, 0o600)
            # O_RDWR keeps the FIFO writable even while no reader is attached; O_NOFOLLOW and
            # the FIFO check: a link or regular file planted at the path (say in /tmp) must
            # not be written through as root
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(f"{path} is not a FIFO")
            self._fifo_fd = fd
            self._fifo_path = path
        except OSError as e:
            log.warning("Unable to open notify FIFO %s: %s", path, e)
            self._fifo_fd = None
        return self._fifo_fd

    def write_fifo(self, line: str) -> None:
        fd = self._fifo()
        if fd is None:
            return
        try:
            os.write(fd, (line + "\n").encode())
        except OSError as e:
            log.warning("Write to notify FIFO failed: %s", e)

    # -- scripts -------------------------------------------------------------------------
    def _spawn(self, key: str, jobs: list[tuple[str, Script, tuple[str, ...]]]) -> None:
        if not jobs:
            return
        prev = self._chains.get(key)

        async def chain() -> None:
            if prev is not None and not prev.done():
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await prev
            for what, script, extra in jobs:
                self.runs += 1
                res = await run_script(script, extra, cfg=self.cfg)
                if res.status != 0:
                    self.failures += 1
                    if res.timed_out:
                        log.warning("%s script %s timed out - killed", what, script.command)
                    elif res.error:
                        log.warning("%s script %s failed to start: %s", what, script.command,
                                    res.error)
                    else:
                        log.warning("%s script %s exited with status %s", what,
                                    script.command, res.status)

        task = asyncio.get_running_loop().create_task(chain())
        self._chains[key] = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def instance(self, inst: VrrpInstance, state: str, priority: int) -> None:
        """keepalived's notify_<state> then notify, and the FIFO line."""
        self.write_fifo(f'INSTANCE "{inst.name}" {state} {priority}')
        self._spawn(f"i:{inst.name}", self._jobs(inst, inst.name, "INSTANCE", state, priority))

    def group(self, grp: VrrpSyncGroup, state: str) -> None:
        self.write_fifo(f'GROUP "{grp.name}" {state} 0')
        self._spawn(f"g:{grp.name}", self._jobs(grp, grp.name, "GROUP", state, 0))

    def master_rx_lower_pri(self, inst: VrrpInstance, priority: int) -> None:
        self.write_fifo(f'INSTANCE "{inst.name}" MASTER_RX_LOWER_PRI {priority}')
        if inst.notify_master_rx_lower_pri is not None:
            self._spawn(f"i:{inst.name}",
                        [("notify_master_rx_lower_pri", inst.notify_master_rx_lower_pri, ())])

    @staticmethod
    def _jobs(obj: VrrpInstance | VrrpSyncGroup, name: str, kind: str, state: str,
              priority: int) -> list[tuple[str, Script, tuple[str, ...]]]:
        jobs: list[tuple[str, Script, tuple[str, ...]]] = []
        specific = {"MASTER": obj.notify_master, "BACKUP": obj.notify_backup,
                    "FAULT": obj.notify_fault, "STOP": obj.notify_stop}.get(state)
        if specific is not None:
            jobs.append((f"notify_{state.lower()}", specific, ()))
        if obj.notify is not None:
            jobs.append(("notify", obj.notify, (kind, name, state, str(priority))))
        return jobs

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for running scripts, e.g. notify_stop at shutdown."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)

    def close(self) -> None:
        if self._fifo_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fifo_fd)
            self._fifo_fd = None
