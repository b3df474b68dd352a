"""The health-checker pool: one asyncio task per (real_server, checker), keepalived semantics.

Runs in the checker child process only (slow checks must never delay a VRRP advert).

Public API
----------
``pool = CheckerPool(config, on_event=None, seed=None, max_concurrent=1024)``
    ``config`` is a completed :class:`~pykeepalived.config.model.Config` (its virtual_servers,
    track_files and global_defs are used).
``await pool.start()``
    Reports the initial state of every real server (``RsChange(initial=True)``) and every
    virtual server's quorum (``QuorumChange(initial=True)``), then starts the checks.
``async for ev in pool.events(): ...``
    The change stream the IPVS syncer consumes (``RsChange`` | ``QuorumChange``, see
    results.py); it ends after ``stop()``. Alternatively pass ``on_event`` (a plain callable,
    called synchronously in the loop) and the stream is not used.
``await pool.reload(new_config)``
    Unchanged (vs, rs, checker) keep their state and schedule, new ones start (reported
    with ``initial=True``), removed real servers are reported with ``removed=True``.
``pool.snapshot() -> PoolSnapshot``
    Per virtual server quorum state, per real server state/weights and per checker last
    check time, failures and last result: what the data/stats/json dumps print.
``await pool.stop()``
    Cancels every check; with ``omega`` on a virtual server runs its notify_down /
    quorum_down scripts as keepalived does at shutdown.

Semantics (keepalived 2.2.7): a checker starts up, or down with ``alpha``; its first check
comes after a random delay in [0, warmup] (warmup defaults to delay_loop). A failed attempt
is retried ``retry`` times, each after ``delay_before_retry``; only when the retries are used
up does the checker go down (so ``retry 3`` means 4 failed attempts). One success brings it
up again. A real server is alive only when all its checkers are up (no checker: always up).
``inhibit_on_failure`` keeps a dead server in IPVS with weight 0 (``inhibited=True``).
misc_dynamic and FILE_CHECK weights change the effective weight. Quorum: the sum of the
effective weights of alive servers against quorum ± hysteresis.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pykeepalived.check.base import Probe, ProbeContext
from pykeepalived.check.proc import run_script
from pykeepalived.check.results import (
    CheckerSnapshot,
    CheckResult,
    Event,
    PoolSnapshot,
    QuorumChange,
    RsChange,
    RsKey,
    RsSnapshot,
    VsSnapshot,
    fmt_rs,
)
from pykeepalived.config.identity import rs_key, vs_key
from pykeepalived.config.model import Checker, Config, RealServer, Script, VirtualServer

log = logging.getLogger("pykeepalived.check")

NOTIFY_TIMEOUT = 30.0  # notify/quorum scripts are killed after this long


def probe_class(kind: str) -> type[Probe] | None:
    """The probe implementing a checker kind (imported lazily: no cost for unused kinds)."""
    if kind == "TCP_CHECK":
        from pykeepalived.check.tcp import TcpProbe

        return TcpProbe
    if kind in ("HTTP_GET", "SSL_GET"):
        from pykeepalived.check.http import HttpProbe, SslProbe

        return HttpProbe if kind == "HTTP_GET" else SslProbe
    if kind == "SMTP_CHECK":
        from pykeepalived.check.smtp import SmtpProbe

        return SmtpProbe
    if kind == "DNS_CHECK":
        from pykeepalived.check.dns import DnsProbe

        return DnsProbe
    if kind == "UDP_CHECK":
        from pykeepalived.check.udp import UdpProbe

        return UdpProbe
    if kind == "PING_CHECK":
        from pykeepalived.check.ping import PingProbe

        return PingProbe
    if kind == "MISC_CHECK":
        from pykeepalived.check.misc import MiscProbe

        return MiscProbe
    if kind == "FILE_CHECK":
        from pykeepalived.check.file import FileProbe

        return FileProbe
    return None  # BFD_CHECK: needs the BFD process; treated as an always-up checker


@dataclass(eq=False, slots=True)
class _Run:
    """One checker of one real server: its probe, keepalived's state fields, counters."""

    checker: Checker
    probe: Probe | None
    rs: _Rs
    ident: Checker  # what it checks: equal across a reload unless the checker changed
    is_up: bool = True
    has_run: bool = False
    retry_it: int = 0
    consecutive: int = 0
    checks: int = 0
    failures: int = 0
    weight: int | None = None  # misc_dynamic absolute weight
    delta: int = 0  # FILE_CHECK additive weight
    last_wall: float | None = None
    last_duration: float | None = None
    last_ok: bool | None = None
    last_detail: str = ""
    last_code: int | None = None
    task: asyncio.Task[None] | None = None


@dataclass(eq=False, slots=True)
class _Rs:
    rs: RealServer
    vs: _Vs
    runs: list[_Run] = field(default_factory=list)
    alive: bool = True
    last_change: float | None = None

    @property
    def name(self) -> str:
        return fmt_rs(self.rs, self.vs.vs)

    def effective_weight(self) -> int:
        base = self.rs.weight
        for r in self.runs:
            if r.weight is not None:
                base = r.weight
                break
        return max(0, base + sum(r.delta for r in self.runs))


@dataclass(eq=False, slots=True)
class _Vs:
    vs: VirtualServer
    rss: dict[RsKey, _Rs] = field(default_factory=dict)
    quorum_up: bool = True

    def weight_sum(self) -> int:
        return sum(r.effective_weight() for r in self.rss.values() if r.alive)


class _Gate:
    """Bounded concurrency without an await on the fast path (asyncio.Semaphore always
    goes through a coroutine, which costs more than a loopback TCP check)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inside = 0
        self.waiters: list[asyncio.Future[None]] = []

    def try_enter(self) -> bool:
        if self.inside < self.limit and not self.waiters:
            self.inside += 1
            return True
        return False

    async def enter(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut  # leave() hands its slot over: inside stays counted for us
        except asyncio.CancelledError:
            if fut in self.waiters:
                self.waiters.remove(fut)
            elif fut.done() and not fut.cancelled():
                self.leave()
            raise

    def leave(self) -> None:
        while self.waiters:
            fut = self.waiters.pop(0)
            if not fut.done():
                fut.set_result(None)
                return
        self.inside -= 1


class CheckerPool:
    """See the module docstring."""

    def __init__(self, config: Config, *, on_event: Callable[[Event], None] | None = None,
                 seed: int | None = None, max_concurrent: int = 1024,
                 run_scripts: bool = True, logger: logging.Logger | None = None,
                 trace: Callable[[float, float], None] | None = None,
                 known: Mapping[tuple[str, tuple[str, int | None]], bool] | None = None
                 ) -> None:
        self._config = config
        # a respawned checker: the last results the parent holds, by (vs key, rs key); a real
        # server missing from them is down until checked (None: a first start, where
        # keepalived's initial states apply: up, or down with alpha)
        self._known = known
        self._on_event = on_event
        seed = seed if seed is not None else config.global_defs.random_seed
        self._rng = random.Random(seed)
        self._max_concurrent = max_concurrent
        self._gate: _Gate | None = None
        self._run_scripts = run_scripts
        self.log = logger or log
        self._trace = trace  # called with (due, started) loop times for every check
        self._vss: dict[str, _Vs] = {}  # by identity.vs_key
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._scripts: set[asyncio.Task[object]] = set()
        self._started = False
        self._stopped = False
        self.checks = 0  # total attempts
        self.late_max = 0.0  # worst lateness of a check start vs its schedule (s)
        self.late_sum = 0.0

    # ---------------------------------------------------------------- public API
    async def start(self) -> None:
        if self._started:
            raise RuntimeError("pool already started")
        self._started = True
        if self._max_concurrent > 0:
            self._gate = _Gate(self._max_concurrent)
        for vs in self._config.virtual_servers:
            self._add_vs(vs)
        self._known = None  # a reload's additions start as at a first start

    async def reload(self, config: Config) -> None:
        """Replace the configuration, keeping the state of what did not change."""
        old = self._vss
        self._config = config
        self._vss = {}
        new_keys = {vs_key(vs) for vs in config.virtual_servers}
        for key, v in old.items():
            if key not in new_keys:
                self.log.info("Removing Virtual Server %s", v.vs.key)
                for r in v.rss.values():
                    self._drop_rs(r)
        for vs in config.virtual_servers:
            ov = old.get(vs_key(vs))
            if ov is None:
                self._add_vs(vs)
            else:
                self._reload_vs(ov, vs)

    async def stop(self) -> None:
        """Cancel all checks; omega virtual servers run their down notifies."""
        if self._stopped:
            return
        self._stopped = True
        tasks = [r.task for v in self._vss.values() for rs in v.rss.values() for r in rs.runs
                 if r.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        shutdown: list[asyncio.Task[object]] = []
        for v in self._vss.values():
            if not v.vs.omega:
                continue
            for r in v.rss.values():
                if r.alive and r.rs.notify_down is not None:
                    shutdown.append(self._spawn(r.rs.notify_down, "notify_down"))
            if v.quorum_up and v.vs.quorum_down is not None:
                shutdown.append(self._spawn(v.vs.quorum_down, "quorum_down"))
        pending = [t for t in self._scripts if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=NOTIFY_TIMEOUT)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for r in (r for v in self._vss.values() for rs in v.rss.values() for r in rs.runs):
            if r.probe is not None:
                r.probe.close()
        tcp = sys.modules.get("pykeepalived.check.tcp")
        if tcp is not None:
            tcp.close_connector(asyncio.get_running_loop())
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[Event]:
        """The change stream; ends after stop(). Use one consumer."""
        while True:
            ev = await self._queue.get()
            if ev is None:
                self._queue.put_nowait(None)  # let a later call end too
                return
            yield ev

    def drain(self) -> list[Event]:
        """Events queued so far, without waiting (handy for tests and batch syncs)."""
        out: list[Event] = []
        while not self._queue.empty():
            ev = self._queue.get_nowait()
            if ev is None:
                self._queue.put_nowait(None)
                break
            out.append(ev)
        return out

    def snapshot(self) -> PoolSnapshot:
        vss = []
        for v in self._vss.values():
            rss = []
            for r in v.rss.values():
                chs = tuple(CheckerSnapshot(
                    kind=c.checker.kind,
                    target=c.probe.target() if c.probe else r.name,
                    up=c.is_up, has_run=c.has_run,
                    retry=c.probe.retries() if c.probe else c.checker.retry,
                    retry_it=c.retry_it, consecutive_failures=c.consecutive, checks=c.checks,
                    failures=c.failures, last_check=c.last_wall, last_duration=c.last_duration,
                    last_ok=c.last_ok, last_detail=c.last_detail, last_code=c.last_code)
                    for c in r.runs)
                rss.append(RsSnapshot(key=r.rs.key, alive=r.alive, weight=r.rs.weight,
                                      effective_weight=r.effective_weight(),
                                      inhibit_on_failure=r.rs.inhibit_on_failure,
                                      last_change=r.last_change, checkers=chs))
            vss.append(VsSnapshot(key=v.vs.key, quorum=v.vs.quorum, hysteresis=v.vs.hysteresis,
                                  quorum_up=v.quorum_up, weight_sum=v.weight_sum(),
                                  real_servers=tuple(rss)))
        return PoolSnapshot(taken_at=time.time(), checks=self.checks, virtual_servers=tuple(vss))

    async def __aenter__(self) -> CheckerPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- building
    def _ctx(self, ch: Checker, rs: RealServer, vs: VirtualServer) -> ProbeContext:
        files = {t.name: t.file for t in self._config.track_files}
        return ProbeContext(ch, rs, vs, self._config.global_defs, files, self._rng)

    def _new_run(self, ch: Checker, r: _Rs) -> _Run:
        cls = probe_class(ch.kind)
        probe = cls(self._ctx(ch, r.rs, r.vs.vs)) if cls is not None else None
        return _Run(checker=ch, probe=probe, rs=r, ident=ch, is_up=not ch.alpha)

    def _add_vs(self, vs: VirtualServer) -> None:
        v = _Vs(vs)
        self._vss[vs_key(vs)] = v
        for rs in vs.real_servers:
            self._add_rs(v, rs, initial=True)
        total = v.weight_sum()
        v.quorum_up = total >= vs.quorum + vs.hysteresis
        self._emit(QuorumChange(vs.key, v.quorum_up, total, vs.quorum + vs.hysteresis,
                                initial=True, at=self._now()))

    def _add_rs(self, v: _Vs, rs: RealServer, initial: bool) -> _Rs:
        r = _Rs(rs, v)
        v.rss[rs_key(rs)] = r
        r.runs = [self._new_run(ch, r) for ch in rs.checkers]
        if self._known is not None:
            up = self._known.get((v.vs.key, rs.key), False)
            for c in r.runs:
                c.is_up = up
        for _ in r.runs:  # keepalived: one line per checker
            self.log.info("Activating healthchecker for service %s for VS %s", r.name,
                          v.vs.key)
        r.alive = all(c.is_up for c in r.runs)
        r.last_change = time.time()
        self._emit(self._rs_event(r, initial=initial))
        for c in r.runs:
            self._launch(c)
        return r

    def _reload_vs(self, v: _Vs, vs: VirtualServer) -> None:
        v.vs = vs
        self._vss[vs_key(vs)] = v
        keys = {rs_key(rs) for rs in vs.real_servers}
        for key in list(v.rss):
            if key not in keys:
                r = v.rss.pop(key)
                self.log.info("service %s no longer exist", r.name)
                self._drop_rs(r)
        for rs in vs.real_servers:
            r = v.rss.get(rs_key(rs))
            if r is None:
                self._add_rs(v, rs, initial=True)
            else:
                self._reload_rs(r, rs)
        self._update_quorum(v)

    def _reload_rs(self, r: _Rs, rs: RealServer) -> None:
        old_weight, old_alive, old_inhibit = r.effective_weight(), r.alive, \
            r.rs.inhibit_on_failure
        r.rs = rs
        old_runs = list(r.runs)
        runs: list[_Run] = []
        for ch in rs.checkers:
            ident = ch  # model equality ignores loc: a moved checker is the same
            match = next((o for o in old_runs if o.ident == ident), None)
            if match is None:  # same kind and target: migrate the state, not the schedule
                match = next((o for o in old_runs if o.checker.kind == ch.kind and
                              (o.checker.connect_ip, o.checker.connect_port) ==
                              (ch.connect_ip, ch.connect_port)), None)
                if match is not None:
                    old_runs.remove(match)
                    n = self._new_run(ch, r)
                    n.is_up, n.has_run = match.is_up, match.has_run
                    n.weight, n.delta = match.weight, match.delta
                    self._cancel(match)
                    runs.append(n)
                    continue
                n = self._new_run(ch, r)
                if ch.alpha and (not old_alive or any(not o.is_up for o in old_runs)):
                    n.is_up = False
                runs.append(n)
                continue
            old_runs.remove(match)
            match.checker = ch
            if match.probe is not None:
                match.probe.ctx.checker, match.probe.ctx.rs = ch, rs
                match.probe.ctx.vs = r.vs.vs
                match.probe.refresh()
            runs.append(match)
        for o in old_runs:
            self._cancel(o)
        r.runs = runs
        for c in runs:
            if c.task is None:
                self._launch(c)
        alive = all(c.is_up for c in runs)
        if alive != old_alive:
            self._rs_transition(r, alive, quorum=False)
        elif r.effective_weight() != old_weight or rs.inhibit_on_failure != old_inhibit:
            self._emit(self._rs_event(r))

    def _drop_rs(self, r: _Rs) -> None:
        for c in r.runs:
            self._cancel(c)
        if r.alive or r.rs.inhibit_on_failure:
            self.log.info("Removing service %s from VS %s", r.name, r.vs.vs.key)
        self._emit(RsChange(r.vs.vs.key, r.rs.key, False, 0, removed=True, at=self._now()))

    def _cancel(self, c: _Run) -> None:
        if c.task is not None:
            c.task.cancel()
            c.task = None
        if c.probe is not None:
            c.probe.close()

    def _launch(self, c: _Run) -> None:
        if c.probe is None:
            return
        ch = c.checker
        warmup = ch.warmup if ch.warmup is not None else ch.delay_loop
        first = self._rng.uniform(0, warmup) if warmup > 0 else 0.0
        c.task = asyncio.get_running_loop().create_task(self._loop(c, first))

    # ---------------------------------------------------------------- the check loop
    async def _loop(self, c: _Run, first: float) -> None:
        loop = asyncio.get_running_loop()
        probe = c.probe
        assert probe is not None
        due = loop.time() + first
        await asyncio.sleep(first)
        while True:
            start = loop.time()
            late = start - due
            self.late_sum += late
            if late > self.late_max:
                self.late_max = late
            if self._trace is not None:
                self._trace(due, start)
            c.last_wall = time.time()
            gate = self._gate
            if gate is not None and not gate.try_enter():
                await gate.enter()
            try:
                res = await probe.check()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a probe bug must not kill the checker
                self.log.exception("%s on %s: internal error", c.checker.kind, c.rs.name)
                res = CheckResult(False, f"internal error: {e}")
            finally:
                if gate is not None:
                    gate.leave()
            end = loop.time()
            c.last_duration = end - start
            if c.task is None or c.task is not asyncio.current_task():
                return  # replaced on reload while we were checking
            delay = self._apply(c, res)
            due = (start if probe.from_start else end) + delay
            await asyncio.sleep(max(0.0, due - loop.time()))

    def _apply(self, c: _Run, res: CheckResult) -> float:
        """keepalived's epilog: update the checker from one result, return the next delay."""
        probe = c.probe
        assert probe is not None
        self.checks += 1
        c.checks += 1
        c.last_ok, c.last_detail, c.last_code = res.ok, res.detail, res.code
        if res.ok:
            c.consecutive = 0
            c.retry_it = 0
            c.has_run = True
            dynamic = res.weight is not None or res.weight_delta is not None
            if dynamic:
                old_w = c.rs.effective_weight()
                if res.weight is not None:
                    c.weight = res.weight
                if res.weight_delta is not None:
                    c.delta = res.weight_delta
            if not c.is_up:
                msg = probe.up_message(res)
                if msg:
                    self.log.info("%s", msg)
                self._set_checker(c, True)
            if dynamic:
                new_w = c.rs.effective_weight()
                if new_w != old_w:
                    self._weight_changed(c.rs, old_w, new_w)
            return probe.interval()
        c.failures += 1
        c.consecutive += 1
        if not (c.is_up or not c.has_run):
            return probe.interval()  # already known down: no retries, plain delay_loop
        if res.detail and ((probe.log_attempts and c.is_up) or c.checker.log_all_failures
                           or self._config.global_defs.checker_log_all_failures):
            self.log.info("%s", res.detail)
        retries = probe.retries()
        if c.retry_it < retries:
            c.retry_it += 1
            return c.checker.delay_before_retry
        c.retry_it = 0
        first = not c.has_run
        c.has_run = True
        if c.is_up:
            self.log.info("%s", probe.down_message(res, retries))
            self._set_checker(c, False)
        elif first:  # alpha: the first verdict confirms down, keepalived notifies it
            self.log.info("%s", probe.down_message(res, retries))
            if not c.rs.alive and c.rs.rs.notify_down is not None:
                self._spawn(c.rs.rs.notify_down, "notify_down")
        return probe.interval()

    def _set_checker(self, c: _Run, up: bool) -> None:
        r = c.rs
        c.is_up = up
        alive = all(x.is_up for x in r.runs)
        if alive != r.alive:
            self._rs_transition(r, alive)

    def _rs_transition(self, r: _Rs, alive: bool, quorum: bool = True) -> None:
        inhibit = r.rs.inhibit_on_failure
        if alive:
            verb, prep = ("Enabling", "of") if inhibit else ("Adding", "to")
        else:
            verb, prep = ("Disabling", "of") if inhibit else ("Removing", "from")
        self.log.info("%s service %s %s VS %s", verb, r.name, prep, r.vs.vs.key)
        r.alive = alive
        r.last_change = time.time()
        self._emit(self._rs_event(r))
        script = r.rs.notify_up if alive else r.rs.notify_down
        if script is not None:
            self._spawn(script, "notify_up" if alive else "notify_down")
        if quorum:
            self._update_quorum(r.vs)

    def _weight_changed(self, r: _Rs, old: int, new: int) -> None:
        self.log.info("Changing weight from %d to %d for %sactive service %s of VS %s",
                      old, new, "" if r.alive else "in", r.name, r.vs.vs.key)
        if r.alive:
            self._emit(self._rs_event(r))
            self._update_quorum(r.vs)

    def _update_quorum(self, v: _Vs) -> None:
        vs = v.vs
        total = v.weight_sum()
        threshold = vs.quorum + (-1 if v.quorum_up else 1) * vs.hysteresis
        if not v.quorum_up and total >= threshold:
            v.quorum_up = True
            self.log.info("Gained quorum %d+%d=%d <= %d for VS %s", vs.quorum, vs.hysteresis,
                          threshold, total, vs.key)
            script = vs.quorum_up
        elif v.quorum_up and (total == 0 or total < threshold):
            v.quorum_up = False
            self.log.info("Lost quorum %d-%d=%d > %d for VS %s", vs.quorum, vs.hysteresis,
                          threshold, total, vs.key)
            script = vs.quorum_down
        else:
            return
        self._emit(QuorumChange(vs.key, v.quorum_up, total, threshold, at=self._now()))
        if script is not None:
            self._spawn(script, "quorum_up" if v.quorum_up else "quorum_down")

    # ---------------------------------------------------------------- helpers
    def _rs_event(self, r: _Rs, initial: bool = False) -> RsChange:
        inhibit = r.rs.inhibit_on_failure
        return RsChange(r.vs.vs.key, r.rs.key, r.alive,
                        r.effective_weight() if r.alive else 0,
                        inhibited=inhibit and not r.alive, initial=initial, at=self._now())

    def _now(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    def _emit(self, ev: Event) -> None:
        if self._on_event is not None:
            try:
                self._on_event(ev)
            except Exception:
                self.log.exception("checker event consumer failed on %s", ev)
        else:
            self._queue.put_nowait(ev)

    def _spawn(self, script: Script, what: str) -> asyncio.Task[object]:
        async def run() -> object:
            if not self._run_scripts:
                return None
            gd = self._config.global_defs
            user = script.user or gd.script_user
            group = script.group if script.user else gd.script_group
            out = await run_script(script.argv, NOTIFY_TIMEOUT, user, group)
            if out.error or out.timed_out or (out.status or 0) != 0:
                self.log.info("%s script %s failed: %s", what, script.command,
                              out.error or ("timed out" if out.timed_out
                                            else f"exit status {out.status}"))
            return out

        t: asyncio.Task[object] = asyncio.get_running_loop().create_task(run())
        self._scripts.add(t)
        t.add_done_callback(self._scripts.discard)
        return t

    def iter_states(self) -> Iterable[tuple[str, RsKey, bool, int]]:
        """(vs, rs, alive, weight) for every real server now: a cheap full resync source."""
        for v in self._vss.values():
            for r in v.rss.values():
                yield v.vs.key, r.rs.key, r.alive, r.effective_weight() if r.alive else 0

    def quorum_up(self, vs: str) -> bool | None:
        v = self._vss.get(vs)
        return None if v is None else v.quorum_up

