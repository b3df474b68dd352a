"""The children: one runs the VRRP engine, the other the checker pool and the IPVS syncer.

Each child starts from the model the parent validated (forked with it: daemon/forked.py),
answers HUP with a reload that keeps the running config when the new one does not load,
TERM/INT with a graceful stop, and USR1/USR2/JSON with keepalived's dump files. A state
file (for `pykeepalived status`) is refreshed every second and on every change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pykeepalived.config.model import Config
from pykeepalived.daemon import channel, paths, signals
from pykeepalived.daemon.files import remove_pidfile, write_atomic, write_pidfile
from pykeepalived.daemon.signals import HANDLED
from pykeepalived.daemon.supervisor import EXIT_CONFIG, runnable

if TYPE_CHECKING:
    from pykeepalived.config.load import LoadOptions

log = logging.getLogger("pykeepalived.daemon")

STATE_EVERY = 1.0
IPVS_WAIT = 15.0


class ChildBase:
    """Signal plumbing and state-file writing shared by both children."""

    role = ""

    def __init__(self, args: argparse.Namespace, config: Config) -> None:
        self.args = args
        self.config = config
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stopping = asyncio.Event()
        self.channel = channel.child_endpoint(self._channel_message)
        self.reloading = asyncio.Lock()
        self.exit_reason: str | None = None  # told to the parent when we exit non-zero

    def opts(self) -> LoadOptions:
        from pykeepalived.config.load import LoadOptions

        return LoadOptions(config_id=self.args.config_id, all_config=self.args.all_config)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        assert self.loop is not None
        t = self.loop.create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)

    def install_signals(self, dumps: dict[int, Callable[[], None]]) -> None:
        assert self.loop is not None
        self.loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        for sig in sorted(HANDLED - {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}):
            fn = dumps.get(sig)
            self.loop.add_signal_handler(sig, self._safe(fn) if fn is not None else
                                         lambda sig=sig: self._unused(sig))
        # signals that came while starting were held (run_child blocked them): deliver now
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)

    def _unused(self, sig: int) -> None:
        """A keepalived signal this process has nothing to do for: never its default action
        (which would terminate it)."""
        if sig == signal.SIGXCPU:
            log.warning("%s process has used too much CPU time", self.role)
        else:
            log.debug("%s process: signal %d ignored", self.role, sig)

    @staticmethod
    def _safe(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except OSError as e:  # disk full, read-only /tmp: log, never die for a dump
                log.error("cannot write dump file: %s", e)

        return run

    async def start_channel(self) -> None:
        if self.channel is not None:
            await self.channel.start()

    def _on_hup(self) -> None:
        """SIGHUP sent to the child itself: the parent reloads everyone (it parses, once);
        only a child without a parent parses the file."""
        if self.channel is not None and self.channel.open:
            self.channel.send(channel.ReloadRequest())
        else:
            self.spawn(self._reload())

    def _channel_message(self, msg: channel.Message, blob: bytes | None) -> None:
        if isinstance(msg, channel.Reload) and blob is not None:
            self.spawn(self._reload_model(blob))
        else:
            self.on_channel(msg)

    def on_channel(self, msg: channel.Message) -> None:
        """A message from the parent for this kind of child."""

    async def _reload_model(self, blob: bytes) -> None:
        """The model the parent validated: no parse, no file read, one unpickle (the VRRP
        child's model has no virtual servers, so it is small)."""
        import pickle

        t0 = time.perf_counter()
        try:
            cfg = pickle.loads(blob)
        except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as e:
            log.error("Reload aborted: the model from the parent does not load (%s)", e)
            return
        if not isinstance(cfg, Config):
            log.error("Reload aborted: the parent sent no model")
            return
        log.debug("model from the parent: %d bytes, unpickled in %.1f ms", len(blob),
                  (time.perf_counter() - t0) * 1000)
        async with self.reloading:
            self.config = cfg
            await self.apply_reload(cfg)
            self.write_state()

    async def _reload(self) -> None:
        """Only a child without a parent (`--child` by hand) parses the file itself."""
        from pykeepalived.config.load import load_config

        res = load_config(self.args.conf, self.opts())
        if not runnable(res.exit_code()):
            for d in res.diagnostics.errors:
                log.error("%s", d.format())
            log.error("Reload aborted: the new configuration does not load; keeping the "
                      "running one")
            return
        self.config = res.config
        await self.apply_reload(res.config)
        self.write_state()

    async def apply_reload(self, cfg: Config) -> None:
        raise NotImplementedError

    def signal_handlers(self) -> dict[int, Callable[[], None]]:
        """What each keepalived signal does here; install_signals handles the rest."""
        return {}

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    def write_state(self) -> None:
        snap = self.snapshot()
        snap["pid"] = os.getpid()
        snap["time"] = time.time()
        snap["config"] = self.args.conf
        try:
            os.makedirs(paths.state_dir(self.args), mode=0o755, exist_ok=True)
            write_atomic(paths.state_file(self.args, self.role), json.dumps(snap, default=str),
                         0o644)
        except OSError as e:
            log.debug("cannot write state file: %s", e)

    async def state_loop(self) -> None:
        while not self.stopping.is_set():
            self.write_state()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), STATE_EVERY)


class VrrpChild(ChildBase):
    role = "vrrp"

    def __init__(self, args: argparse.Namespace, config: Config) -> None:
        super().__init__(args, config)
        from pykeepalived.vrrp.engine import EngineOptions, VrrpEngine

        self.engine = VrrpEngine(config, EngineOptions(
            release_vips_on_exit=not args.dont_release_vrrp))
        self.ipvs_synced = asyncio.Event()
        self.engine.on_state = self._push_state

    def _push_state(self, instance: str, state: str) -> None:
        """At the transition, to the parent (which relays it to the checker child)."""
        if self.channel is not None:
            self.channel.send(channel.VrrpState(instance, state))

    def on_channel(self, msg: channel.Message) -> None:
        if isinstance(msg, channel.IpvsSynced):
            self.ipvs_synced.set()

    async def apply_reload(self, cfg: Config) -> None:
        await self.engine.reload(cfg)
        for name, rt in self.engine.rts.items():  # renamed instances: their new names
            self._push_state(name, rt.st.state.value)

    def snapshot(self) -> dict[str, Any]:
        return {"role": "vrrp", **self.engine.snapshot()}

    async def wait_for_ipvs(self) -> None:
        """A director must not take the VIP before its IPVS table exists (keepalived races
        here; a slow checker start shows it): when the checker child runs too, wait for its
        first sync, bounded, then start VRRP regardless."""
        if os.environ.pop("PYKEEPALIVED_WAIT_IPVS", "") != "1":
            return
        t0 = time.monotonic()
        log.info("Waiting for the IPVS table before starting VRRP (at most %.0fs)", IPVS_WAIT)
        # the checker's IpvsSynced comes through the parent (who set the variable, and replays
        # it to a VRRP child started after the checker's first sync)
        waits = [asyncio.ensure_future(self.ipvs_synced.wait()),
                 asyncio.ensure_future(self.stopping.wait())]
        await asyncio.wait(waits, timeout=IPVS_WAIT, return_when=asyncio.FIRST_COMPLETED)
        for w in waits:
            w.cancel()
        if self.ipvs_synced.is_set():
            log.info("IPVS table ready after %.1fs", time.monotonic() - t0)
            return
        if self.stopping.is_set():  # stopped while waiting (e.g. the checker hit FATAL)
            return
        log.warning("IPVS table not ready after %.0fs - starting VRRP anyway", IPVS_WAIT)

    def dump(self, kind: str) -> None:
        from pykeepalived.daemon import dumps

        snap = self.engine.typed_snapshot()
        gd = self.config.global_defs  # state/stats/json_dump_file
        if kind == "data":
            from pykeepalived.daemon import ifinfo

            write_atomic(paths.dump_file(self.args, "data", gd),
                         dumps.vrrp_data(snap, self.config, ifaces=ifinfo.collect()))
        elif kind in ("stats", "stats_clear"):
            write_atomic(paths.dump_file(self.args, "stats", gd), dumps.vrrp_stats(snap))
            if kind == "stats_clear":
                self.engine.clear_stats()
        else:
            write_atomic(paths.dump_file(self.args, "json", gd), dumps.vrrp_json(snap, self.config))
        what = {"data": "VRRP data", "stats": "VRRP stats", "stats_clear":
                "and clearing VRRP stats", "json": "VRRP as json"}.get(kind, kind)
        log.info("Printing %s for process(%d) on signal", what, os.getpid())

    def signal_handlers(self) -> dict[int, Callable[[], None]]:
        return {
            signal.SIGUSR1: lambda: self.dump("data"),
            signal.SIGUSR2: lambda: self.dump("stats"),
            signals.JSON: lambda: self.dump("json"),
            signals.STATS_CLEAR: lambda: self.dump("stats_clear"),
        }

    async def main(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.install_signals(self.signal_handlers())
        await self.start_channel()
        await self.wait_for_ipvs()
        # started even when stopping: its start removes VIPs a killed predecessor left, and
        # its stop then sends nothing as it never was MASTER (keepalived's init does the same)
        await self.engine.start()
        self.spawn(self.state_loop())
        await self.stopping.wait()
        await self.engine.stop()
        log_stopped()
        return 0


def log_stopped(with_children: bool = False) -> None:
    """A child's last line, as keepalived's: "Stopped", with its CPU time under -D."""
    from pykeepalived.daemon.loglines import child_stopped
    from pykeepalived.loglevels import DETAIL

    log.info("%s", child_stopped(with_children) if log.isEnabledFor(DETAIL) else "Stopped")


def tell_exit_reason(args: argparse.Namespace, kind: str, reason: str) -> None:
    """One line for the parent's restart record (status, /metrics): why we are leaving."""
    path = paths.state_file(args, kind)[:-len(".json")] + ".exit"
    with contextlib.suppress(OSError):
        os.makedirs(paths.state_dir(args), mode=0o755, exist_ok=True)
        write_atomic(path, json.dumps({"pid": os.getpid(), "reason": reason}), 0o644)


def die_with_parent(parent: int) -> None:
    """A child must not outlive its parent: an orphan would fight the next pykeepalived."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: TERM us (a graceful stop) when it dies
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def run_child(kind: str, args: argparse.Namespace, config: Config | None = None) -> int:
    """One child: forked by the parent with its model (CONFIG), or started by hand with
    `--child KIND` (then it parses the file itself)."""
    # a TERM that arrives before the handlers exist must not kill us half-started (VIPs of a
    # crashed predecessor would stay): hold signals until install_signals() takes them
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    die_with_parent(int(os.environ.pop("PYKEEPALIVED_PARENT", os.getppid())))
    from pykeepalived.daemon.logsetup import setup_logging

    setup_logging(kind, args.log_console, args.log_detail, args.log_facility,
                  not args.no_syslog, args.namespace)
    pidfile = paths.pidfile(args, kind)
    write_pidfile(pidfile)
    with contextlib.suppress(OSError):  # a crashed predecessor's state is not ours
        os.unlink(paths.state_file(args, kind))
    try:
        if config is None:  # started by hand: the config machinery is imported only here
            from pykeepalived.config.load import LoadOptions, load_config

            res = load_config(args.conf, LoadOptions(config_id=args.config_id,
                                                     all_config=args.all_config))
            if not runnable(res.exit_code()):
                for d in res.diagnostics.errors:
                    log.error("%s", d.format())
                return EXIT_CONFIG
            config = res.config
        child: ChildBase
        if kind == "vrrp":
            child = VrrpChild(args, config)
        else:
            from pykeepalived.daemon.checker_child import CheckerChild, tls_if_needed

            tls_if_needed(config)  # SSL_GET: the parent imported asyncio without ssl (aio.py)

            child = CheckerChild(args, config)
        try:
            rc: int = asyncio.run(child.main())  # type: ignore[attr-defined]
        except RuntimeError as e:  # e.g. a VRRP socket cannot be opened: keepalived exits too
            log.error("%s child cannot run: %s", kind, e)
            child.exit_reason, rc = f"{kind} child cannot run: {e}", 1
        if rc and child.exit_reason:
            tell_exit_reason(args, kind, child.exit_reason)
        return rc
    finally:
        remove_pidfile(pidfile)
        with contextlib.suppress(OSError):
            os.unlink(paths.state_file(args, kind))
