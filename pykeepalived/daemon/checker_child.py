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

from pykeepalived.config.model import Config
from pykeepalived.daemon import paths
from pykeepalived.daemon.child import ChildBase
from pykeepalived.daemon.files import write_atomic

log = logging.getLogger("pykeepalived.check")

T = TypeVar("T")
DEBOUNCE = 0.05
RESYNC = 10.0


class CheckerChild(ChildBase):
    role = "checker"

    def __init__(self, args: argparse.Namespace, config: Config) -> None:
        super().__init__(args, config)
        from pykeepalived.check.pool import CheckerPool
        from pykeepalived.ipvs.desired import Health

        self.pool = CheckerPool(config, on_event=self._on_event)
        self.health = Health()
        self.syncer: Any = None
        self.dirty = asyncio.Event()
        self.pending: list[Any] = []
        self.last_report: str = ""
        self.sync_state: str | None = None
        self.synced = False  # the first reconcile is done: the VRRP child may take the VIP
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
            table = desired_table(self.config, self.health)
            rep = await self.ipvs(lambda t=table: self.syncer.reconcile(t))
            for err in rep.errors:
                log.error("%s", err)
            if rep.writes:
                log.info("IPVS: %s", rep)
            self.last_report = str(rep)
            if not self.synced:
                self.synced = True
                self.write_state()  # publish at once: the VRRP child is waiting for it
            await self._follow_sync_daemon()

    async def _follow_sync_daemon(self) -> None:
        """lvs_sync_daemon follows its VRRP instance: read the VRRP child's published state."""
        spec = self.config.global_defs.lvs_sync_daemon
        if spec is None:
            return
        state = "BACKUP"
        try:
            with open(paths.state_file(self.args, "vrrp"), encoding="utf-8") as fh:
                snap = json.load(fh)
            if spec.instance:
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
        await self.pool.reload(cfg)
        self.dirty.set()

    def snapshot(self) -> dict[str, Any]:
        # status reads the pool snapshot's own keys (virtual_servers, real_servers, ...)
        return {"role": "checker", **_plain(self.pool.snapshot()), "ipvs": self.last_report,
                "ipvs_synced": self.synced}

    def dump(self) -> None:
        from pykeepalived.daemon import dumps

        write_atomic(paths.dump_file(self.args, "check_data"),
                     dumps.checker_data(self.pool.snapshot(), self.config))
        log.info("Printing checker data for process(%d) on signal", os.getpid())

    def signal_handlers(self) -> dict[int, Callable[[], None]]:
        """DATA writes keepalived.check_data; STATS, JSON and STATS_CLEAR are the VRRP
        child's (keepalived's parent does not forward them here): handled, ignored."""
        return {signal.SIGUSR1: self.dump}

    async def main(self) -> int:
        from pykeepalived.ipvs.syncer import IpvsSyncer, apply_timeouts

        self.loop = asyncio.get_running_loop()
        self.install_signals(self.signal_handlers())
        self.syncer = IpvsSyncer()
        try:
            k = await self.ipvs(lambda: self.syncer.kernel)
            if self.config.global_defs.lvs_flush:
                await self.ipvs(self.syncer.flush)
            gd = self.config.global_defs
            await self.ipvs(lambda: apply_timeouts(k, gd))
        except Exception as e:
            # keepalived: "IPVS: Can't initialize ipvs" and the checker exits FATAL
            log.error("IPVS: Can't initialize ipvs: %s", e)
            return 1
        await self.pool.start()
        self.dirty.set()
        self.spawn(self._sync_loop())
        self.spawn(self.state_loop())
        await self.stopping.wait()
        await self.pool.stop()
        if not self.args.dont_release_ipvs:
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
        await self.ipvs(self.syncer.close)
        self.ipvs_thread.shutdown(wait=True)
        return 0


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
