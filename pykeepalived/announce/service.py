"""Runs the announcer in the checker child: decide on every health change, apply in a thread.

Why the checker child: the quorum is computed there, so a withdrawal follows a lost quorum
without a hop between processes. The VRRP states announce_only_if_master needs are pushed by
the parent at each transition (PUSHED, the checker child's dict), and so is the VRRP child's
liveness (vrrp_child(): a dead VRRP child is MASTER of nothing, whatever it last pushed).
Only with -C beside a separate -P process, where no parent of ours runs a VRRP child and no
channel reaches it, is the VRRP child's state file polled (liveness and states).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from pykeepalived.announce.core import Announcement, Decision, decide, instances, possible
from pykeepalived.announce.netlink import Kernel, Report
from pykeepalived.config.model import Config

log = logging.getLogger("pykeepalived.announce")

VRRP_POLL = 0.25  # seconds between reads of the VRRP child's state file


class AnnounceService:
    def __init__(self, cfg: Config, vrrp_state_dir: str | None = None,
                 pushed: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.applied: frozenset[Announcement] = frozenset()
        self.decisions: tuple[Decision, ...] = ()
        self._pushed: Mapping[str, str] = pushed if pushed is not None else {}
        self._vrrp_alive = False
        self._file_states: dict[str, str] = {}
        self.parent_runs_vrrp = False  # told by the channel: the state file is not read
        self.last_report = ""
        self._state_dir = vrrp_state_dir
        self._kernel = Kernel()
        self._errors: set[str] = set()
        self._thread: ThreadPoolExecutor | None = None

    @property
    def active(self) -> bool:
        """Anything to do: the config announces, or something is still announced."""
        return bool(possible(self.cfg) or self.applied)

    async def _run(self, fn: Callable[[], Report]) -> Report:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="announce")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    async def update(self, cfg: Config, quorum: Mapping[str, bool]) -> None:
        """Make the kernel hold exactly what CFG and QUORUM (and the VRRP states) want."""
        self.cfg = cfg
        if not self.active:
            return
        wanted, decisions = decide(cfg, quorum, self.vrrp())
        withdrawn = (possible(cfg) | self.applied) - wanted
        old = {d.vs: d for d in self.decisions}
        for d in decisions:
            o = old.get(d.vs)
            if o is None or (o.announced, o.reason) != (d.announced, d.reason):
                log.info("VS %s: VIP %s %s (%s)", d.vs, d.vip,
                         "announced" if d.announced else "withdrawn", d.reason)
        self.decisions = decisions
        rep = await self._run(lambda: self._kernel.apply(wanted, withdrawn))
        self.applied = wanted
        self._log(rep)

    def _log(self, rep: Report) -> None:
        # a lasting refusal (a missing interface) is logged when it starts, not every resync
        for e in rep.errors:
            if e not in self._errors:
                log.error("announce: %s", e)
        self._errors = set(rep.errors)
        if rep.added or rep.removed:
            log.info("announce: %s", rep)
        self.last_report = str(rep)

    async def stop(self) -> None:
        """Withdraw everything this config could have announced (stop, reload, shutdown)."""
        if self.active:
            anns = possible(self.cfg) | self.applied
            rep = await self._run(lambda: self._kernel.apply((), anns))
            self.applied = frozenset()
            self._log(rep)
            log.info("announce: withdrew every VIP on stop")
        if self._thread is not None:
            # the socket belongs to the worker thread (pyroute2 keeps per-thread state)
            await asyncio.get_running_loop().run_in_executor(self._thread, self._kernel.close)
            self._thread.shutdown(wait=True)
            self._thread = None

    def vrrp(self) -> dict[str, str]:
        """The VRRP states the decision uses: none while the VRRP child is not running."""
        return {**self._file_states, **self._pushed} if self._vrrp_alive else {}

    def vrrp_child(self, alive: bool) -> None:
        """The parent's word on its VRRP child (started, or died): polling ends for good."""
        self.parent_runs_vrrp = True
        self._vrrp_alive = alive
        self._file_states = {}

    async def follow_vrrp(self, stopping: asyncio.Event, on_change: Callable[[], None]) -> None:
        """-C only: poll the VRRP child's state file (liveness, and states nobody pushes)
        while some virtual server names an instance in announce_only_if_master. Returns as
        soon as the parent says it runs the VRRP child (vrrp_child())."""
        from pykeepalived.daemon.status import read_state

        while not stopping.is_set() and not self.parent_runs_vrrp:
            if instances(self.cfg) and self._state_dir:
                before = self.vrrp()
                st = read_state(self._state_dir, "vrrp")
                self._vrrp_alive = st.problem is None
                insts = (st.data or {}).get("instances") or {} if st.problem is None else {}
                self._file_states = {str(n): str((i or {}).get("state") or "")
                                     for n, i in insts.items()}
                if self.vrrp() != before:
                    on_change()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), VRRP_POLL)

    def snapshot(self) -> list[dict[str, object]]:
        from pykeepalived.announce.core import summary

        return summary(self.decisions)
