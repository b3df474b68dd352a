"""Children forked from the parent after the config is loaded, as keepalived forks its own.

Why not a fresh interpreter per child: it re-imports everything (~150 ms) and unpickles the
model the parent already holds, so a node started beside its peer lost the first election;
and each child then owned a private copy of every module. A forked child starts from the
parent's memory (copy-on-write) with the current model already in it: a respawn after a
reload gets the reloaded model without any hand-off.

The parent forks from inside its asyncio loop, so the child must never go back into that
loop: it runs its own `asyncio.run()` (asyncio ties the running loop to the pid) and leaves
with `os._exit`. Everything else it inherited and does not need is closed (the parent's epoll
and self-pipe, the other child's channel, the metrics listener), and the objects inherited
are frozen out of the cyclic GC, so no finaliser of the parent's closes a reused fd number.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterable

from pykeepalived.daemon.fds import close_fds_except

log = logging.getLogger("pykeepalived.daemon")


def fork_child(run: Callable[[], int], keep: Iterable[int]) -> int:
    """Fork; in the child run RUN with only KEEP (and 0-2, stdin from /dev/null) open and
    exit with its code. Returns the child's pid. Call with the handled signals held
    (signals.held): the child unblocks them once its own handlers exist."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    keep = tuple(keep)
    pid = os.fork()
    if pid:
        return pid
    rc = 1
    try:  # the child: never returns into the parent's frames
        gc.freeze()  # the parent's objects: shared pages stay shared, never finalised here
        close_fds_except(keep)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        if null != 0:
            os.close(null)
        # the parent's loop set its self-pipe as wakeup fd; the child's loop sets its own
        signal.set_wakeup_fd(-1)
        rc = run()
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException:
        with contextlib.suppress(Exception):
            sys.stderr.write(traceback.format_exc())
    finally:
        logging.shutdown()  # flush the child's handlers (os._exit runs no atexit)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(rc)


class ForkedProcess:
    """The parent's handle on a forked child, with the part of asyncio.subprocess.Process
    the supervisor uses (pid, returncode, wait, send_signal, kill). Its exit is seen through
    a pidfd in the loop: no SIGCHLD handler, no waitpid(-1) taking another's child."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._done = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._pidfd = os.pidfd_open(pid)
        self._loop.add_reader(self._pidfd, self._reap)

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: its status is lost
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self.returncode = os.waitstatus_to_exitcode(status)  # -N: killed by signal N
        self._done.set()

    async def wait(self) -> int:
        await self._done.wait()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is not None:
            raise ProcessLookupError(self.pid)
        os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
