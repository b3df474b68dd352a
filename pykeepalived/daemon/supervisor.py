"""The parent process: starts the VRRP and checker children, respawns them, relays signals.

keepalived's reason for this split is timing: a slow health check or script must never delay
a VRRP advert, so each subsystem has its own process. The parent does little else, so it
cannot get stuck. Unlike keepalived 2.2.7, a reload whose config does not load keeps the
running config (and says why) instead of going ahead with a broken one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.config.diagnostics import Rc
from pykeepalived.config.model import Config
from pykeepalived.daemon import channel, loader, loglines, sdnotify, signals
from pykeepalived.daemon.files import remove_pidfile, write_pidfile
from pykeepalived.daemon.forked import ForkedProcess
from pykeepalived.loglevels import ALERT, DETAIL

log = logging.getLogger("pykeepalived.daemon")

CHILD_WAIT = 5.0  # seconds a child gets to stop before SIGKILL (keepalived's child_wait_time)
# respawn at once, then 0.5, 1, 2, 4, 5 s while the child keeps dying young (a crash loop);
# the soak: a 30 s cap kept nodes out for too long, and while one node's child waits the
# other node is the only one left, so the wait is outage time under a second fault
BACKOFF_MIN, BACKOFF_MAX = 0.5, 5.0
STABLE_AFTER = 10.0  # a child that ran this long gets its back-off reset
EXIT_CONFIG = 2  # a child's permanent config error: stop everything, as keepalived does
# a child's permanent run-time error (keepalived's FATAL, e.g. no IPVS in the kernel): stop
# everything and exit 1, as keepalived 2.2.7 does; a director without its IPVS table must not
# take the VIP (it would black-hole every virtual_server while the peer could serve them)
EXIT_FATAL = 3


def runnable(rc: Rc) -> bool:
    """keepalived runs with config errors (5) and script-security findings (6), not after a
    fatal parse error (2) or when it cannot run (4)."""
    return rc in (Rc.OK, Rc.CONFIG, Rc.SECURITY)


def wanted_children(cfg: Config, args: argparse.Namespace) -> list[str]:
    kinds = []
    if cfg.has_vrrp and not args.check_only:
        kinds.append("vrrp")
    if cfg.has_checker and not args.vrrp_only:
        kinds.append("checker")
    return kinds


@dataclass
class Child:
    kind: str
    proc: ForkedProcess | None = None
    started: float = 0.0
    backoff: float = 0.0
    restarts: int = 0
    watcher: asyncio.Task[None] | None = None
    channel: channel.Endpoint | None = None
    last_exit: dict[str, Any] | None = None  # time, pid, status, reason (status, /metrics)

    def record(self, wanted: bool) -> dict[str, Any]:
        running = self.proc is not None and self.proc.returncode is None
        return {"wanted": wanted, "pid": self.proc.pid if running and self.proc else None,
                "running": running, "restarts": self.restarts, "last_exit": self.last_exit}


@dataclass
class Supervisor:
    args: argparse.Namespace
    argv: list[str]  # the command line, passed on to the children
    config: Config
    children: dict[str, Child] = field(default_factory=dict)
    exit_code: int = 0
    # the checker's last results by (vs key, rs key), pushed over its channel: a respawned
    # checker starts from them
    known: dict[tuple[str, channel.RsKey], bool] = field(default_factory=dict)
    vrrp_states: dict[str, str] = field(default_factory=dict)  # relayed to a new checker
    ipvs_synced: bool = False  # the checker's IpvsSynced, relayed to a VRRP child started later
    stop_reason: str | None = None  # a child's permanent error, kept in parent.json
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _reloading: asyncio.Lock = field(default_factory=asyncio.Lock)
    _reload_queued: bool = False  # a reload waits for the running one: later SIGHUPs join it
    _stopping: bool = False

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        for sig in signals.DUMPS:
            loop.add_signal_handler(sig, self.forward, sig)
        loop.add_signal_handler(signal.SIGXCPU, log.warning,
                                "parent process has used too much CPU time")
        # held since daemon/main.py's first line: what arrived meanwhile is handled now
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals.HANDLED)
        kinds = wanted_children(self.config, self.args)
        if not kinds:
            log.info("Warning - keepalived has no configuration to run")  # at info there
        for kind in kinds:
            await self.spawn(kind)
        if kinds:
            log.info("Startup complete")
        self.publish()
        sdnotify.notify("READY=1", f"STATUS=running: {', '.join(kinds) or 'nothing'}")
        metrics = await self._start_metrics()
        wd = sdnotify.watchdog_interval()
        wd_task = loop.create_task(self._watchdog(wd)) if wd else None
        await self._stop.wait()
        if wd_task is not None:
            wd_task.cancel()
        if metrics is not None:
            metrics.close()
        await self.stop_children()
        await self.withdraw_announcements()  # a checker killed after CHILD_WAIT did not
        self.publish(final=True)
        return self.exit_code

    def record(self) -> dict[str, Any]:
        """What `status` and /metrics show about the children (restarts, last exit)."""
        wanted = set(wanted_children(self.config, self.args))
        kids = {k: ch.record(k in wanted) for k, ch in self.children.items()}
        for k in wanted - kids.keys():
            kids[k] = Child(k).record(True)
        return {"pid": os.getpid(), "time": time.time(), "children": kids,
                "stopped": self.stop_reason}

    def publish(self, final: bool = False) -> None:
        """parent.json beside the children's state files; removed on a clean stop, kept
        (with the reason) when a permanent error stopped us."""
        from pykeepalived.daemon import paths
        from pykeepalived.daemon.files import write_atomic

        path = paths.state_file(self.args, "parent")
        try:
            if final and self.stop_reason is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                return
            os.makedirs(paths.state_dir(self.args), mode=0o755, exist_ok=True)
            write_atomic(path, json.dumps(self.record(), default=str), 0o644)
        except OSError as e:
            log.debug("cannot write %s: %s", path, e)

    async def _start_metrics(self) -> asyncio.base_events.Server | None:
        """The endpoint reads what the children publish: the parent never blocks on them."""
        if not self.args.metrics:
            return None
        from pykeepalived.daemon import metrics, paths
        from pykeepalived.daemon.status import read_state

        host, _, port = self.args.metrics.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"

        def snap() -> metrics.Snapshot:
            d = paths.state_dir(self.args)
            v, c = read_state(d, "vrrp"), read_state(d, "checker")
            return (v.data if v.problem is None else None,
                    c.data if c.problem is None else None, self.record())

        try:
            srv = await metrics.serve(host, int(port), snap, config_fn=lambda: self.config)
        except (OSError, ValueError) as e:
            log.error("metrics endpoint %s: %s", self.args.metrics, e)
            return None
        log.info("Serving metrics on http://%s:%s/metrics", host, port)
        return srv

    async def _watchdog(self, every: float) -> None:
        while not self._stopping:
            sdnotify.notify("WATCHDOG=1")
            await asyncio.sleep(every)

    # -- children ------------------------------------------------------------------------
    async def spawn(self, kind: str) -> None:
        """Fork the child from this process: it starts from the model in memory (the current
        one: a respawn after a reload gets the reloaded model), imports nothing again and
        shares our pages until it writes them (daemon/forked.py says what it closes)."""
        from pykeepalived.daemon.child import run_child
        from pykeepalived.daemon.forked import ForkedProcess, fork_child

        ch = self.children.setdefault(kind, Child(kind))
        env = {"PYKEEPALIVED_PARENT": str(os.getpid())}
        if kind == "vrrp" and "checker" in wanted_children(self.config, self.args) and \
                not self.children.get("vrrp", Child("vrrp")).restarts:
            env["PYKEEPALIVED_WAIT_IPVS"] = "1"  # first start only: a respawn has its table
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env[channel.ENV_FD] = str(theirs.fileno())
        fds = [theirs.fileno()]
        known_fd = -1
        if kind == "checker" and ch.restarts:
            known_fd = channel.write_known(self.known)
            env[channel.ENV_KNOWN_FD] = str(known_fd)
            fds.append(known_fd)
        model = self.model_for(kind)
        args = argparse.Namespace(**{**vars(self.args), "child": kind})

        def run() -> int:
            os.environ.update(env)
            if os.path.basename(sys.argv[0]) in ("pykeepalived", "__main__.py"):
                # the parent took keepalived's names (daemon/main.py); the child's command
                # line says which child it is, as a re-executed child's did
                from pykeepalived.daemon.proctitle import name_process

                name_process(["--child", kind, *self.argv])
            return run_child(kind, args, model)

        try:
            with signals.held():  # the child starts with them held, until its handlers exist
                pid = fork_child(run, fds)
        finally:
            theirs.close()
            if known_fd >= 0:
                os.close(known_fd)
        ch.proc = ForkedProcess(pid)
        if ch.channel is not None:
            ch.channel.close()
        ch.channel = channel.Endpoint(ours, lambda m, _b, kind=kind: self.on_message(kind, m))
        await ch.channel.start()
        if kind == "checker":  # the VRRP states so far (lvs_sync_daemon follows one)
            for inst, state in self.vrrp_states.items():
                ch.channel.send(channel.VrrpState(inst, state))
        if kind == "checker" and "vrrp" in self.children:
            vrrp = self.children["vrrp"]
            ch.channel.send(channel.VrrpChild(vrrp.proc is not None))
        if kind == "vrrp":
            self.tell_vrrp_child(True)
            if self.ipvs_synced:  # wait_for_ipvs: the table is there already
                ch.channel.send(channel.IpvsSynced())
        ch.started = time.monotonic()
        log.info("Starting %s child process, pid=%d",
                 "VRRP" if kind == "vrrp" else "Healthcheck", ch.proc.pid)
        ch.watcher = asyncio.get_running_loop().create_task(self._watch(ch, ch.proc))
        self.publish()

    def _exit_reason(self, kind: str, pid: int) -> str | None:
        """The one-line reason a child left in <state dir>/<kind>.exit before exiting."""
        from pykeepalived.daemon import paths

        path = paths.state_file(self.args, kind)[:-len(".json")] + ".exit"
        try:
            with open(path, encoding="utf-8") as fh:
                d = json.load(fh)
            os.unlink(path)
        except (OSError, ValueError):
            return None
        return str(d.get("reason")) if isinstance(d, dict) and d.get("pid") == pid else None

    async def _watch(self, ch: Child, proc: ForkedProcess) -> None:
        rc = await proc.wait()
        if self._stopping or ch.proc is not proc:
            return
        ch.proc = None
        status = f"exit status {rc}" if rc >= 0 else f"signal {-rc} ({_signame(-rc)})"
        ch.last_exit = {"time": time.time(), "pid": proc.pid, "status": status,
                        "reason": self._exit_reason(ch.kind, proc.pid) or status}
        if rc == EXIT_FATAL:
            log.error("pid %d exited with permanent error FATAL. Terminating", proc.pid)
            self.stop_reason = f"{ch.kind} child: {ch.last_exit['reason']}"
            self.exit_code = 1
            self.publish()
            self.request_stop()
            return
        if rc == EXIT_CONFIG:
            log.error("pid %d exited with permanent error CONFIG. Terminating", proc.pid)
            self.exit_code = EXIT_CONFIG
            self.request_stop()
            return
        if rc < 0:
            log.info("pid %d exited due to signal %d (%s)", proc.pid, -rc,
                     signal.strsignal(-rc) or "unknown")
        else:
            log.info("pid %d exited with status %d", proc.pid, rc)
        name = "VRRP" if ch.kind == "vrrp" else "Healthcheck"
        log.log(ALERT, "%s child process(%d) died: %s", name, proc.pid,
                "Exiting" if self.args.dont_respawn else "Respawning")
        if ch.kind == "vrrp":
            self.tell_vrrp_child(False)
        if ch.kind == "vrrp" and not self.args.dont_release_vrrp:
            self.demote_dead_vrrp()
            await self.release_vips()
        if ch.kind == "checker":
            await self.withdraw_announcements()
        if self.args.dont_respawn:
            self.exit_code = rc if rc > 0 else 1
            self.request_stop()
            return
        if time.monotonic() - ch.started > STABLE_AFTER:
            ch.backoff = 0.0
        delay, ch.backoff = ch.backoff, min(max(ch.backoff * 2, BACKOFF_MIN), BACKOFF_MAX)
        ch.restarts += 1
        self.publish()
        log.info("Restart of %s process delayed %g seconds to limit respawn rate", name, delay)
        await asyncio.sleep(delay)
        if not self._stopping and ch.proc is None:
            await self.spawn(ch.kind)

    def model_for(self, kind: str) -> Config:
        """What a child needs of the model: the VRRP child no virtual servers (a 10,000-real-
        server model unpickles in ~50 ms, too long for a loop sending 0.1 s adverts)."""
        if kind == "vrrp":
            return dataclasses.replace(self.config, virtual_servers=(),
                                       virtual_server_groups=())
        return self.config

    def on_message(self, kind: str, msg: channel.Message) -> None:
        """A child's push: hold the checker's results, relay what the other child needs."""
        match msg:
            case channel.RsState(removed=True):
                self.known.pop((msg.vs, msg.rs), None)
            case channel.RsState():
                self.known[(msg.vs, msg.rs)] = msg.alive
            case channel.ReloadRequest():
                log.info("%s child asked for a reload (SIGHUP sent to it)", kind)
                self.reload()
            case channel.VrrpState() | channel.IpvsSynced():
                if isinstance(msg, channel.VrrpState):
                    self.vrrp_states[msg.instance] = msg.state
                else:
                    self.ipvs_synced = True
                other = self.children.get("checker" if kind == "vrrp" else "vrrp")
                if other is not None and other.channel is not None:
                    other.channel.send(msg)

    def tell_vrrp_child(self, alive: bool) -> None:
        """The checker's announce_only_if_master hears the VRRP child's liveness from us (a
        dead VRRP child is MASTER of nothing, whatever it pushed last)."""
        chk = self.children.get("checker")
        if chk is not None and chk.channel is not None:
            chk.channel.send(channel.VrrpChild(alive))

    def demote_dead_vrrp(self) -> None:
        """A dead VRRP child's instances are MASTER no more (their VIPs go next): the checker
        hears it now, so lvs_sync_daemon leaves the master role before the peer takes over
        (two master sync daemons, and nobody receiving the peer's connections, otherwise)
        and announce_only_if_master withdraws. The respawned child pushes its own state."""
        chk = self.children.get("checker")
        for inst, state in list(self.vrrp_states.items()):
            if state != "MASTER":
                continue
            self.vrrp_states[inst] = "BACKUP"
            if chk is not None and chk.channel is not None:
                chk.channel.send(channel.VrrpState(inst, "BACKUP"))

    async def release_vips(self) -> None:
        """A dead VRRP child cannot be MASTER: its VIPs left on the interface would answer
        beside the peer's (a split brain the soak measured at up to 25 s). Drop them now."""
        for inst in self.config.vrrp_instances:
            for vip in (*inst.virtual_ipaddress, *inst.virtual_ipaddress_excluded):
                dev = vip.dev or inst.use_vmac or inst.interface
                if not dev:
                    continue
                p = await asyncio.create_subprocess_exec(
                    "ip", "addr", "del", vip.address.with_prefixlen, "dev", dev,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
                await p.wait()
        log.info("Released the VIPs of the dead VRRP child")

    async def withdraw_announcements(self) -> None:
        """A dead checker child cannot vouch for its quorum: withdraw what it announced
        (announce_* lines), so the router stops sending it traffic; a respawned child
        announces again once it has quorum."""
        from pykeepalived.announce.core import possible

        anns = possible(self.config)
        if not anns:
            return
        from pykeepalived.announce.netlink import withdraw

        try:
            rep = await asyncio.to_thread(withdraw, anns)
        except Exception as e:  # no netlink at all: say so, keep supervising
            log.error("Checker child gone: cannot withdraw its announcements: %s", e)
            return
        if rep.removed or rep.errors:
            log.info("Checker child gone: %s", rep)

    def signal_children(self, sig: int) -> None:
        for ch in self.children.values():
            if ch.proc is not None and ch.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    ch.proc.send_signal(sig)

    async def stop_child(self, ch: Child) -> None:
        proc = ch.proc
        ch.proc = None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), CHILD_WAIT)
        except TimeoutError:
            log.error("%s child (pid %d) did not stop in %.0fs - killing it", ch.kind, proc.pid,
                      CHILD_WAIT)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def stop_children(self) -> None:
        await asyncio.gather(*(self.stop_child(ch) for ch in self.children.values()))

    # -- signals ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info("Stopping")
        sdnotify.notify("STOPPING=1")
        self._stop.set()

    def forward(self, sig: int) -> None:
        """keepalived's rule: DATA to every child; STATS, STATS_CLEAR and JSON to the VRRP
        child only (the checker has no such output; it would ignore them anyway)."""
        if sig == signal.SIGUSR1:
            self.dump_parent_data()
        if sig in signals.VRRP_ONLY:
            ch = self.children.get("vrrp")
            if ch is not None and ch.proc is not None and ch.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    ch.proc.send_signal(sig)
            return
        self.signal_children(sig)

    def dump_parent_data(self) -> None:
        """keepalived's parent answers DATA with /tmp/keepalived_parent.data too."""
        from pykeepalived.daemon import dumps, paths
        from pykeepalived.daemon.files import write_atomic

        try:
            write_atomic(paths.dump_file(self.args, "parent_data", self.config.global_defs),
                         dumps.parent_data(self.config))
        except OSError as e:
            log.error("cannot write dump file: %s", e)
            return
        log.info("Printing parent data for process(%d) on signal", os.getpid())

    def reload(self) -> None:
        asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        if self._stopping or self._reload_queued:
            return  # a queued reload reads the file after this SIGHUP too: one is enough
        # a SIGHUP during a reload queues one more behind it (the file may have changed after
        # the loader read it); a storm of them, not one loader each
        self._reload_queued = True
        async with self._reloading:
            self._reload_queued = False
            try:
                await self._reload_locked()
            except Exception:  # a task's exception reaches no log of ours: say it here
                log.exception("Reload failed")
                sdnotify.notify("READY=1", "STATUS=reload failed")

    async def _reload_locked(self) -> None:
        if self._stopping:
            return
        log.info("Reloading ...")
        sdnotify.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        # in a forked loader (daemon/loader.py): a 90k-line file takes seconds on a busy host,
        # and the parent must keep forwarding signals and watching its children meanwhile; nor
        # does the parser stay in the parent (and in every child forked after) once it is done
        try:
            res = await loader.load(self.args.conf, self.args.config_id, self.args.all_config)
        except loader.LoadFailed as e:
            log.error("Reload aborted: %s; keeping the running configuration", e)
            sdnotify.notify("READY=1", "STATUS=reload failed: keeping the running config")
            return
        if self._stopping:  # stopped while the loader parsed: spawn and signal nothing more
            return
        log_config_files(self.args.conf, res.config.files)
        rc = res.exit_code()
        if not runnable(rc):
            for d in res.diagnostics.errors:
                log.error("%s", d.format())
            log.error("Reload aborted: %s does not load (exit class %d); keeping the running "
                      "configuration", self.args.conf, int(rc))
            sdnotify.notify("READY=1", "STATUS=reload failed: keeping the running config")
            return
        old = set(wanted_children(self.config, self.args))
        self.config = res.config
        self.known = channel.prune(self.known, ((vs.key, rs.key) for vs in
                                                self.config.virtual_servers
                                                for rs in vs.real_servers))
        new = set(wanted_children(self.config, self.args))
        for kind in old - new:
            await self.stop_child(self.children[kind])
        for kind in old & new:
            ch = self.children.get(kind)
            if ch and ch.proc and ch.proc.returncode is None:
                if ch.channel is not None and ch.channel.open:
                    # the model the parent validated: children never parse on a reload
                    ch.channel.send_model(self.model_for(kind))
                else:
                    ch.proc.send_signal(signal.SIGHUP)
        for kind in new - old:
            await self.spawn(kind)
        log.info("Reload complete")
        self.publish()
        sdnotify.notify("READY=1", f"STATUS=running: {', '.join(sorted(new)) or 'nothing'}")


def _signame(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def daemonize() -> None:
    """Classic double fork: detach from the terminal and the session, as keepalived does."""
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    os.chdir("/")
    fd = os.open(os.devnull, os.O_RDWR)
    for n in (0, 1, 2):
        os.dup2(fd, n)
    if fd > 2:
        os.close(fd)


def log_config_files(conf: str, files: tuple[str, ...]) -> None:
    """keepalived's lines as it reads the config: each file with -D, then the main one."""
    for f in files:
        log.log(DETAIL, "Opening file '%s'.", f)
    log.info("Configuration file %s", conf)


def run_parent(args: argparse.Namespace, argv: list[str], pidfile: str,
               job: loader.Job | None = None) -> int:
    """JOB: the config loader daemon/main.py started (None: load it here)."""
    log.info("%s", loglines.banner("Starting"))
    log.info("%s", loglines.running_on())
    prog = sys.argv[0] if os.path.basename(sys.argv[0]) == "pykeepalived" else "pykeepalived"
    for line in loglines.command_line([prog, *argv]):
        log.info("%s", line)
    if job is None:
        job = loader.start(args.conf, args.config_id, args.all_config)
    res = job.result()
    log_config_files(args.conf, res.config.files)
    for d in res.diagnostics.items:
        log.log(logging.ERROR if d.severity >= 2 else logging.WARNING, "%s", d.format())
    rc = res.exit_code()
    if not runnable(rc):
        log.error("Configuration %s cannot run (exit class %d)", args.conf, int(rc))
        return int(rc) if rc != Rc.OK else 1
    if not args.dont_fork:
        daemonize()
    write_pidfile(pidfile)
    # the modules and the model are kept for good: out of the collector's scans, so they are
    # not rewritten (un-shared from the forked children) by a collection here
    gc.freeze()
    try:
        return asyncio.run(Supervisor(args, argv, res.config).run())
    finally:
        remove_pidfile(pidfile)
        if log.isEnabledFor(DETAIL):
            log.log(DETAIL, "%s", loglines.cpu_usage())
        log.info("%s", loglines.banner("Stopped"))
