"""The checker child: health checks feed the IPVS table, as keepalived's healthcheckers do.

Every pool event updates the health view; a reconcile follows shortly after (events that come
together are applied together) and once every RESYNC seconds anyway, so an external
`ipvsadm -C` or edit is repaired. netlink calls are blocking, so they run in one worker
thread, never in the event loop that schedules the checks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pykeepalived.check.results import RsChange
from pykeepalived.config.model import Config
from pykeepalived.daemon import paths
from pykeepalived.daemon.channel import IpvsSynced, RsState, VrrpChild, VrrpState
from pykeepalived.daemon.child import ChildBase
from pykeepalived.daemon.files import write_atomic
from pykeepalived.daemon.supervisor import EXIT_FATAL

log = logging.getLogger("pykeepalived.check")

T = TypeVar("T")
DEBOUNCE = 0.05
RESYNC = 10.0
STATS_EVERY = 5.0  # IPVS traffic counters for /metrics: one dump per service at most this often


class CheckerChild(ChildBase):
    role = "checker"

    def __init__(self, args: argparse.Namespace, config: Config) -> None:
        super().__init__(args, config)
        from pykeepalived.announce.service import AnnounceService
        from pykeepalived.check.pool import CheckerPool
        from pykeepalived.daemon import channel
        from pykeepalived.ipvs.desired import Health

        # a respawn starts from the parent's last known results, never all up unchecked
        self.pool = CheckerPool(config, on_event=self._on_event, known=channel.read_known())
        self.health = Health()
        self.syncer: Any = None
        self.dirty = asyncio.Event()
        self.pending: list[Any] = []
        self.last_report: str = ""
        self.sync_state: str | None = None
        self.vrrp_states: dict[str, str] = {}  # pushed over the channel (VrrpState)
        self.sync_lock = asyncio.Lock()
        self.synced = False  # the first reconcile is done: the VRRP child may take the VIP
        self.ipvs_open = False  # IPVS initialised
        self.ipvs_unused = False  # every virtual_server is announce_without_ipvs: no IPVS
        self.ipvs_missing_warned = False
        self.announce = AnnounceService(config, paths.state_dir(args), self.vrrp_states)
        self.lvs_stats: list[dict[str, Any]] = []
        self.stats_at = 0.0
        # every netlink call on one thread: pyroute2 keeps per-thread state, and calls must
        # not overlap anyway
        self.ipvs_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipvs")

    async def ipvs(self, fn: Callable[[], T]) -> T:
        assert self.loop is not None
        return await self.loop.run_in_executor(self.ipvs_thread, fn)

    def _on_event(self, ev: Any) -> None:
        # applied in batches by the sync loop: Health.apply copies its mapping, so one call
        # per event would be quadratic over the 10k events of a large pool's start
        self.pending.append(ev)
        self.dirty.set()
        if self.channel is not None and isinstance(ev, RsChange):
            self.channel.send(RsState(ev.vs, ev.rs, ev.alive, ev.removed))

    def on_channel(self, msg: Any) -> None:
        """The VRRP child's state, pushed by the parent at the transition: the sync daemon
        follows it now, not at the next sync-loop round."""
        if isinstance(msg, VrrpChild):
            self.announce.vrrp_child(msg.alive)
            self.dirty.set()
        if isinstance(msg, VrrpState):
            self.vrrp_states[msg.instance] = msg.state
            self.dirty.set()  # announce_only_if_master follows now
            spec = self.config.global_defs.lvs_sync_daemon
            if spec is not None and spec.instance == msg.instance and self.ipvs_open:
                self.spawn(self._follow_sync_daemon())

    async def _sync_loop(self) -> None:
        from pykeepalived.ipvs.desired import desired_table

        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.dirty.wait(), RESYNC)
            if self.stopping.is_set():
                break
            await asyncio.sleep(DEBOUNCE)
            self.dirty.clear()
            if self.pending:
                events, self.pending = self.pending, []
                self.health = self.health.apply(*events)
            if not self.ipvs_unused:
                table = desired_table(ipvs_config(self.config), self.health)
                # the syncer logs what it changed and each error, once
                rep = await self.ipvs(lambda t=table: self.syncer.reconcile(t))
                self.last_report = str(rep)
            elif ipvs_config(self.config).virtual_servers and not self.ipvs_missing_warned:
                self.ipvs_missing_warned = True
                log.error("IPVS: a reload added virtual servers that need IPVS; restart "
                          "pykeepalived to open IPVS")
            await self.announce.update(self.config, self.health.quorum)
            if not self.synced:
                self.synced = True
                self.write_state()  # publish at once: the VRRP child is waiting for it
                if self.channel is not None:
                    self.channel.send(IpvsSynced())
            await self._follow_sync_daemon()
            await self._read_stats()

    async def _read_stats(self) -> None:
        """gen2brain's keepalived_lvs_* come from the kernel's counters, not from us."""
        assert self.loop is not None
        if self.loop.time() - self.stats_at < STATS_EVERY:
            return
        self.stats_at = self.loop.time()
        from pykeepalived.daemon.metrics import lvs_stats_plain

        try:
            self.lvs_stats = lvs_stats_plain(await self.ipvs(lambda: self.syncer.kernel.stats()))
        except Exception as e:  # counters are a nicety: never stop syncing for them
            log.debug("IPVS stats: %s", e)

    async def _follow_sync_daemon(self) -> None:
        """lvs_sync_daemon follows its VRRP instance, whose state the parent pushes."""
        async with self.sync_lock:  # the sync loop and a pushed transition, one at a time
            await self._follow_sync_daemon_locked()

    async def _follow_sync_daemon_locked(self) -> None:
        spec = self.config.global_defs.lvs_sync_daemon
        if spec is None or self.ipvs_unused:
            return
        state = "BACKUP"
        if spec.instance and spec.instance in self.vrrp_states:
            state = self.vrrp_states[spec.instance]
        elif spec.instance and not self.announce.parent_runs_vrrp:
            # -C: no VRRP child under our parent, nothing is pushed: its state file
            try:
                with open(paths.state_file(self.args, "vrrp"), encoding="utf-8") as fh:
                    snap = json.load(fh)
                state = snap["instances"].get(spec.instance, {}).get("state", "BACKUP")
            except (OSError, ValueError, KeyError):
                pass
        if state == self.sync_state:
            return
        from pykeepalived.ipvs.syncer import follow_vrrp_state

        try:
            await self.ipvs(lambda: follow_vrrp_state(self.syncer.kernel, spec, state))
            self.sync_state = state
        except Exception as e:  # a kernel refusal must not stop the health checks
            log.error("lvs_sync_daemon on %s: %s", spec.interface, e)

    async def apply_reload(self, cfg: Config) -> None:
        log.info("Reloading")  # keepalived's checker child says it too
        tls_if_needed(cfg)  # a reload may bring the first SSL_GET
        await self.pool.reload(cfg)
        self.dirty.set()

    def snapshot(self) -> dict[str, Any]:
        # status reads the pool snapshot's own keys (virtual_servers, real_servers, ...)
        return {"role": "checker", **_plain(self.pool.snapshot()), "ipvs": self.last_report,
                "ipvs_synced": self.synced, "lvs_stats": self.lvs_stats,
                "announce": self.announce.snapshot()}

    def dump(self) -> None:
        from pykeepalived.announce.core import dump_lines
        from pykeepalived.daemon import dumps

        write_atomic(paths.dump_file(self.args, "check_data", self.config.global_defs),
                     dumps.checker_data(self.pool.snapshot(), self.config)
                     + dump_lines(self.announce.decisions))
        log.info("Printing checker data for process(%d) on signal", os.getpid())

    def signal_handlers(self) -> dict[int, Callable[[], None]]:
        """DATA writes keepalived.check_data; STATS, JSON and STATS_CLEAR are the VRRP
        child's (keepalived's parent does not forward them here): handled, ignored."""
        return {signal.SIGUSR1: self.dump}

    async def main(self) -> int:
        from pykeepalived.ipvs.syncer import IpvsSyncer, apply_timeouts

        self.loop = asyncio.get_running_loop()
        self.install_signals(self.signal_handlers())
        await self.start_channel()
        self.syncer = IpvsSyncer()
        if not ipvs_config(self.config).virtual_servers:
            log.info("IPVS: not used (every virtual_server is announce_without_ipvs)")
            self.ipvs_unused = True
        elif not await self._open_ipvs(apply_timeouts):
            return EXIT_FATAL
        else:
            # the sync daemon follows the VRRP state from now, not from the first table sync:
            # keepalived's VRRP process starts it at its first transition
            await self._follow_sync_daemon()
        await self.pool.start()
        self.dirty.set()
        self.spawn(self._sync_loop())
        self.spawn(self.state_loop())
        self.spawn(self.announce.follow_vrrp(self.stopping, self.dirty.set))
        await self.stopping.wait()
        await self.announce.stop()  # traffic leaves this director before the checks stop
        await self.pool.stop()
        if self.ipvs_open and not self.args.dont_release_ipvs:
            flush = self.config.global_defs.lvs_flush_on_stop
            rep = await self.ipvs(lambda: self.syncer.release(flush))
            log.info("IPVS released: %s", rep)
        if self.sync_state is not None:
            # keepalived's vrrp_terminate_phase1 stops the sync daemon it controls (even -I)
            from pykeepalived.ipvs.syncer import stop_sync_daemons

            try:
                await self.ipvs(lambda: stop_sync_daemons(self.syncer.kernel))
            except Exception as e:
                log.error("lvs_sync_daemon: stop: %s", e)
        if self.ipvs_open:
            await self.ipvs(self.syncer.close)
        self.ipvs_thread.shutdown(wait=True)
        from pykeepalived.daemon.child import log_stopped

        log_stopped(with_children=True)
        return 0

    async def _open_ipvs(self, apply_timeouts: Callable[..., Any]) -> bool:
        log.info("Initializing ipvs")  # keepalived's line, before it opens IPVS
        try:
            k = await self.ipvs(lambda: self.syncer.kernel)
            if self.config.global_defs.lvs_flush:
                await self.ipvs(self.syncer.flush)
            gd = self.config.global_defs
            await self.ipvs(lambda: apply_timeouts(k, gd))
        except Exception as e:
            # keepalived: "IPVS: Can't initialize ipvs" and the checker exits FATAL, which
            # stops the whole daemon (supervisor.EXIT_FATAL says why we do the same)
            log.error("IPVS: Can't initialize ipvs: %s", e)
            self.exit_reason = f"IPVS: Can't initialize ipvs: {e}"
            return False
        self.ipvs_open = True
        return True


def ipvs_config(cfg: Config) -> Config:
    """CFG without the virtual servers IPVS must not carry (announce_without_ipvs)."""
    from dataclasses import replace

    from pykeepalived.announce.core import ipvs_servers

    vss = ipvs_servers(cfg)
    return cfg if len(vss) == len(cfg.virtual_servers) else replace(cfg, virtual_servers=vss)


def uses_tls(cfg: Config) -> bool:
    """Whether any checker speaks TLS (SSL_GET)."""
    return any(c.kind == "SSL_GET" for vs in cfg.virtual_servers for rs in vs.real_servers
               for c in rs.checkers)


def tls_if_needed(cfg: Config) -> None:
    """Give asyncio its TLS back (daemon/aio.py) when the config has an SSL_GET checker; only
    then: importing ssl loads OpenSSL, which delays the first IPVS sync and the sync daemon
    (~0.1 s in the IPVS guest) and costs every checker child's memory for nothing."""
    if uses_tls(cfg):
        from pykeepalived.daemon.aio import restore_tls

        restore_tls()


def _plain(obj: Any) -> Any:
    """Dataclass snapshots to JSON-able data."""
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj
