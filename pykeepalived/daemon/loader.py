"""The daemon's config load runs in a short-lived forked process; the result (model and
diagnostics) comes back pickled through a pipe.

Why: building the model imports Lark, builds its parser, reads the keyword tables and pulls in
hashlib/OpenSSL, bz2, tempfile ... (8 MB RSS, ~35 ms). Loaded in the parent, all of that stayed
in the parent for good and was inherited by every child it forked (each child's RSS counts it
again), for a parser no child uses: children get the model from the parent. A loader process
takes those pages away with it when it exits; the parent keeps the model only.

And it starts early (daemon/main.py forks it once the config package, which the parent needs
for the model anyway, is imported, and before asyncio and the supervisor are), so on a host
with a free core the parent's own imports overlap the parse.

Same result as load_config in-process: the loader runs that very function, with the same
options, in the same namespace, as the same user. If the loader fails (it crashed, or its
result does not unpickle), the parent says why and, at the start, loads in-process, as before;
on a reload (the event loop running) it keeps the running configuration instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pykeepalived.config.diagnostics import Diagnostics, Rc
    from pykeepalived.config.model import Config

MAX_RESULT = 1 << 30  # bytes: a bound on what the parent reads back
# seconds a reload waits for its loader (a 90k-line file takes a few on a busy host): one
# stuck on an include that never ends (a FIFO, a hung NFS mount) is killed and the reload
# aborted, so later SIGHUPs are not queued behind it for good
RELOAD_TIMEOUT = 300.0
_FAILED = b"failed: "  # what a loader sends instead of a pickle: the exception's line


class LoadFailed(Exception):
    """A reload's loader gave no result (it crashed, was killed, or sent a foreign blob): the
    parent does not parse in its event loop instead (seconds without signals or children)."""


class Loaded:
    """What the daemon uses of a LoadResult. The loader sends the model and the diagnostics
    (not a LoadResult, whose class lives with the loading machinery in config.load), so the
    parent needs only the model's and the diagnostics' modules to take them in."""

    def __init__(self, config: Config, diagnostics: Diagnostics) -> None:
        self.config = config
        self.diagnostics = diagnostics

    def exit_code(self, strict: bool = False) -> Rc:
        return self.diagnostics.exit_code(strict)


class Job:
    """One forked load: its pid and the read end of its pipe."""

    def __init__(self, path: str, config_id: str | None, all_config: bool) -> None:
        self.path, self.config_id, self.all_config = path, config_id, all_config
        self.pid, self.fd = -1, -1
        self.problem: str | None = None
        try:
            r, w = os.pipe2(os.O_CLOEXEC)
        except OSError as e:
            self.problem = f"no pipe: {e}"
            return
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            # the handled signals wait until the loader has dropped the parent's handlers
            # (_detach unblocks them): one in between would be written to the parent's loop
            from pykeepalived.daemon.signals import held

            with held():
                pid = os.fork()
        except OSError as e:
            os.close(r)
            os.close(w)
            self.problem = f"cannot fork: {e}"
            return
        if pid == 0:  # the loader: never returns
            os.close(r)
            _loader_main(w, path, config_id, all_config)
        os.close(w)
        self.pid, self.fd = pid, r

    def result(self) -> Loaded:
        """What load_config found (blocking): the loader's, or an in-process load's when the
        loader has none."""
        data = b""
        if self.fd >= 0:
            chunks: list[bytes] = []
            size = 0
            try:
                while size < MAX_RESULT:
                    chunk = os.read(self.fd, 1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            finally:
                os.close(self.fd)
                self.fd = -1
            data = b"".join(chunks)
        return self._finish(data)

    def _finish(self, data: bytes, in_process: bool = True) -> Loaded:
        """The loader's result; when it has none, an in-process load (IN_PROCESS, the start:
        nothing else runs yet) or LoadFailed (a reload, inside the event loop)."""
        from pykeepalived.config.diagnostics import Diagnostics
        from pykeepalived.config.model import Config

        pid = self.pid
        status = self._reap()
        if self.problem is None:
            if status != 0:
                self.problem = f"the config loader (pid {pid}) exited with {status}"
                if data.startswith(_FAILED):  # its traceback went to a stderr no log holds
                    why = data[len(_FAILED):][:500].decode(errors="replace")
                    self.problem += f" ({why})"
            else:
                try:
                    import pickle

                    cfg, diag = pickle.loads(data)
                    if isinstance(cfg, Config) and isinstance(diag, Diagnostics):
                        return Loaded(cfg, diag)
                    self.problem = "the config loader sent no model"
                except Exception as e:  # a truncated or foreign blob: load here instead
                    self.problem = f"the config loader's result does not load ({e})"
        if not in_process:
            raise LoadFailed(self.problem)
        import logging

        from pykeepalived.config.load import LoadOptions, load_config

        logging.getLogger("pykeepalived.daemon").warning(
            "%s; loading %s in this process", self.problem, self.path)
        res = load_config(self.path, LoadOptions(config_id=self.config_id,
                                                 all_config=self.all_config))
        return Loaded(res.config, res.diagnostics)

    def _reap(self) -> int | None:
        if self.pid <= 0:
            return None
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return None
        finally:
            self.pid = -1
        return os.waitstatus_to_exitcode(status)

    def cancel(self) -> None:
        """The result is not wanted (we are stopping): end the loader, reap it."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)
            self._reap()


def _loader_main(w: int, path: str, config_id: str | None, all_config: bool) -> None:
    rc, sent = 1, False
    try:
        _detach(w)
        import gc
        import pickle

        gc.freeze()  # what it inherited is not garbage; as -t, collect only what loading makes
        gc.enable()  # (the parent forks it with the collector off while it imports)

        from pykeepalived.config.load import LoadOptions, load_config

        res = load_config(path, LoadOptions(config_id=config_id, all_config=all_config))
        data = pickle.dumps((res.config, res.diagnostics), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
            sent = True
        rc = 0
    except BaseException as e:
        with contextlib.suppress(Exception):
            sys.stderr.write(traceback.format_exc())
        if not sent:  # the parent's log line says why, daemonized (stderr /dev/null) or not
            with contextlib.suppress(Exception):
                os.write(w, _FAILED + f"{type(e).__name__}: {e}".encode(errors="replace"))
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(rc)


def _detach(keep: int) -> None:
    """Forked from a running parent (a reload): none of its handlers, fds or wakeup pipe.
    TERM/INT end the loader (the parent then loads in-process); the other keepalived
    signals are the parent's business."""
    import signal

    from pykeepalived.daemon.signals import HANDLED

    signal.set_wakeup_fd(-1)  # else a signal here would be written into the parent's loop
    for sig in HANDLED:
        stop = sig in (signal.SIGTERM, signal.SIGINT)
        signal.signal(sig, signal.SIG_DFL if stop else signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    from pykeepalived.daemon.fds import close_fds_except

    close_fds_except((keep,))
    # the parent's log handlers held some of those fds (the syslog socket): a handler must not
    # write to, or close, a number the loader reuses for a file; loading logs nothing anyway
    import logging

    logging.getLogger("pykeepalived").handlers.clear()


def start(path: str, config_id: str | None = None, all_config: bool = False) -> Job:
    """Fork a loader for PATH now; Job.result() gives what load_config would have."""
    return Job(path, config_id, all_config)


async def load(path: str, config_id: str | None = None, all_config: bool = False,
               timeout: float = RELOAD_TIMEOUT) -> Loaded:
    """The same from inside the event loop (a reload): the loop keeps running meanwhile.
    Raises LoadFailed when the loader gives no result, or none within TIMEOUT seconds."""
    import asyncio

    job = start(path, config_id, all_config)
    if job.fd < 0:
        return job._finish(b"", in_process=False)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    chunks: list[bytes] = []
    fd = job.fd

    def readable() -> None:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk and sum(map(len, chunks)) < MAX_RESULT:
            chunks.append(chunk)
            return
        loop.remove_reader(fd)
        if not done.done():
            done.set_result(None)

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)
    try:
        await asyncio.wait_for(done, timeout)
    except BaseException as e:
        pid = job.pid
        loop.remove_reader(fd)
        job.cancel()
        if isinstance(e, TimeoutError):
            raise LoadFailed(f"the config loader (pid {pid}) did not finish in {timeout:g} s; "
                             "killed it") from None
        raise
    os.close(fd)
    job.fd = -1
    # the loader has closed its end: it is exiting, so the wait in _reap is short
    return job._finish(b"".join(chunks), in_process=False)
