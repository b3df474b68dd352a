"""Tracked objects (vrrp_script, track_file, track_process, track_interface) and the rule that
turns their status into an instance's effective priority and FAULT reasons.

The rule (:func:`effective`) is pure; the pollers below only update :class:`TrackStatus` and
call back so the engine can feed PriorityChanged / FaultSet / FaultCleared to the FSM.
keepalived's rules: for an object that is "up" (script OK, interface up, quorum met) — after
``reverse`` flips the sense — a positive weight is added; for one that is "down" a negative
weight is added; weight 0 means FAULT while down. track_file adds value × weight (weight 0:
a non-zero value is a FAULT; a sum of -254 or less too). The result is clamped to 1..254 by the
FSM and an address owner (255) is never adjusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pykeepalived.config.identity import match, same, script_key
from pykeepalived.config.model import Config, TrackRef, VrrpInstance, VrrpScript
from pykeepalived.vrrp import fsm
from pykeepalived.vrrp.notify import run_script

log = logging.getLogger("pykeepalived.vrrp")

PRIMARY_IF_FAULT = "interface"


@dataclass
class TrackStatus:
    """Latest known state of every tracked object, by name."""

    scripts: dict[str, bool] = field(default_factory=dict)  # True = OK
    files: dict[str, int] = field(default_factory=dict)
    processes: dict[str, bool] = field(default_factory=dict)  # True = quorum met
    interfaces: dict[str, bool] = field(default_factory=dict)  # True = up and running
    running: set[str] = field(default_factory=set)  # vrrp_scripts whose command runs now


def _up_weight(ok: bool, weight: int, reverse: bool, name: str, faults: set[str]) -> int:
    up = ok != reverse
    if weight == 0:
        if not up:
            faults.add(name)
        return 0
    if weight > 0:
        return weight if up else 0
    return weight if not up else 0


def effective(inst: VrrpInstance, cfg: Config, st: TrackStatus) -> tuple[int, frozenset[str]]:
    """(unclamped effective priority, fault reasons) of an instance under ``st``."""
    prio = inst.priority
    faults: set[str] = set()
    if inst.interface and not inst.dont_track_primary and \
            not st.interfaces.get(inst.interface, True):
        faults.add(PRIMARY_IF_FAULT)
    for ref in inst.track_interface:
        ok = st.interfaces.get(ref.name, True)
        prio += _up_weight(ok, ref.weight or 0, ref.reverse, f"if:{ref.name}", faults)
    for ref in inst.track_script:
        sc = cfg.script(ref.name)
        if sc is None or ref.name not in st.scripts:
            continue
        w = ref.weight if ref.weight is not None else sc.weight
        rev = ref.reverse or sc.weight_reverse
        prio += _up_weight(st.scripts[ref.name], w, rev, f"script:{ref.name}", faults)
    for ref in inst.track_file:
        tf = next((f for f in cfg.track_files if f.name == ref.name), None)
        if tf is None:
            continue
        w = ref.weight if ref.weight is not None else tf.weight
        rev = ref.reverse or tf.weight_reverse
        value = st.files.get(ref.name, 0)
        if w == 0:
            if value != 0:
                faults.add(f"file:{ref.name}")
            continue
        adj = value * (-w if rev else w)
        if adj <= -254:
            faults.add(f"file:{ref.name}")
        else:
            prio += adj
    for ref in inst.track_process:
        tp = next((p for p in cfg.track_processes if p.name == ref.name), None)
        if tp is None or ref.name not in st.processes:
            continue
        w = ref.weight if ref.weight is not None else tp.weight
        rev = ref.reverse or tp.weight_reverse
        prio += _up_weight(st.processes[ref.name], w, rev, f"process:{ref.name}", faults)
    return prio, frozenset(faults)


def carried_status(old: Config, new: Config, st: TrackStatus) -> TrackStatus:
    """The tracked results a reload keeps. By name (identity.script_key, as keepalived's
    clear_diff_script), failures too: an instance FAULTed by a failing script stays FAULT
    across a reload instead of leaving FAULT until the script fails again. A script whose
    command changed starts again from its initial result; untracked objects are dropped."""
    scripts, files, procs, _ifs = tracked_names(new)
    kept: dict[str, bool] = {}
    for o, n in match(old.vrrp_scripts, new.vrrp_scripts, script_key):
        if o is not None and n is not None and n.name in scripts and o.name in st.scripts \
                and o.script == n.script:
            kept[n.name] = st.scripts[o.name]
    return TrackStatus(scripts=kept,
                       files={k: v for k, v in st.files.items() if k in files},
                       processes={k: v for k, v in st.processes.items() if k in procs},
                       interfaces=dict(st.interfaces),
                       running={n for n in st.running if n in scripts})


def tracked_view(inst: VrrpInstance, cfg: Config) -> VrrpInstance:
    """Sync-group members also track the group's objects, with weights forced to 0
    (keepalived: a member cannot change priority on its own, it faults the group)."""
    if not inst.sync_group:
        return inst
    g = next((g for g in cfg.sync_groups if g.name == inst.sync_group), None)
    extra: dict[str, tuple[TrackRef, ...]] = {}
    for k in ("track_interface", "track_script", "track_file", "track_process"):
        refs = getattr(inst, k) + (getattr(g, k) if g else ())
        extra[k] = tuple(replace(r, weight=0) for r in refs)
    return replace(inst, **extra)  # type: ignore[arg-type]


def tracking_events(inst: VrrpInstance, cfg: Config, st: TrackStatus,
                    applied_prio: int | None, applied_faults: frozenset[str]
                    ) -> tuple[int, frozenset[str], list[fsm.Event]]:
    """(priority, faults, FSM events) that bring an instance from what was last applied to
    what ``st`` says now: only changes become events, so re-applying after a reload whose
    tracked results carried over feeds nothing."""
    prio, faults = effective(tracked_view(inst, cfg), cfg, st)
    events: list[fsm.Event] = []
    if prio != applied_prio and (applied_prio is not None or prio != inst.priority):
        events.append(fsm.PriorityChanged(prio))
    events += [fsm.FaultSet(r) for r in sorted(faults - applied_faults)]
    events += [fsm.FaultCleared(r) for r in sorted(applied_faults - faults)]
    return prio, faults, events


def tracked_names(cfg: Config) -> tuple[set[str], set[str], set[str], set[str]]:
    """Scripts, files, processes and interfaces some instance (or group) tracks."""
    scripts: set[str] = set()
    files: set[str] = set()
    procs: set[str] = set()
    ifs: set[str] = set()
    refs: list[tuple[tuple[TrackRef, ...], set[str]]] = []
    for i in cfg.vrrp_instances:
        refs += [(i.track_script, scripts), (i.track_file, files), (i.track_process, procs),
                 (i.track_interface, ifs)]
        if i.interface:
            ifs.add(i.interface)
    for g in cfg.sync_groups:
        refs += [(g.track_script, scripts), (g.track_file, files), (g.track_process, procs),
                 (g.track_interface, ifs)]
    for lst, out in refs:
        out.update(r.name for r in lst)
    return scripts, files, procs, ifs


class Tracker:
    """Runs the pollers; ``on_change`` is called (sync, in the loop) after any status change."""

    def __init__(self, cfg: Config, on_change: Callable[[], None]) -> None:
        self.cfg = cfg
        self.status = TrackStatus()
        self.on_change = on_change
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        scripts, files, procs, _ifs = tracked_names(self.cfg)
        loop = asyncio.get_running_loop()
        for name in sorted(scripts):
            sc = self.cfg.script(name)
            if sc is not None and f"script:{name}" not in self.tasks:
                self.status.scripts.setdefault(name, not sc.init_fail)
                self.tasks[f"script:{name}"] = loop.create_task(self._script_loop(sc))
        for name in sorted(files):
            tf = next((f for f in self.cfg.track_files if f.name == name), None)
            if tf is not None and f"file:{name}" not in self.tasks:
                self.status.files[name] = self._read_file(tf.file)
                self.tasks[f"file:{name}"] = loop.create_task(self._file_loop(name, tf.file))
        for name in sorted(procs):
            tp = next((p for p in self.cfg.track_processes if p.name == name), None)
            if tp is not None and f"process:{name}" not in self.tasks:
                self.status.processes[name] = self._process_ok(name)
                self.tasks[f"process:{name}"] = loop.create_task(self._process_loop(name))

    def reload(self, cfg: Config) -> None:
        """Keep pollers whose object is unchanged; restart changed ones, stop removed ones;
        results carry over (carried_status)."""
        old = self.cfg
        self.cfg = cfg
        scripts, files, procs, _ = tracked_names(cfg)
        keep = {f"script:{n}" for n in scripts if same(old.script(n), cfg.script(n))}
        keep |= {f"file:{n}" for n in files}
        keep |= {f"process:{n}" for n in procs}
        for key in list(self.tasks):
            if key not in keep:
                self.tasks.pop(key).cancel()
        self.status = carried_status(old, cfg, self.status)
        self.start()

    async def stop(self) -> None:
        for t in self.tasks.values():
            t.cancel()
        for t in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.tasks.clear()

    def set_interface(self, ifname: str, up: bool) -> None:
        if self.status.interfaces.get(ifname) is not up:
            self.status.interfaces[ifname] = up
            self.on_change()

    # -- vrrp_script ---------------------------------------------------------------------
    async def _script_loop(self, sc: VrrpScript) -> None:
        """keepalived: rise consecutive successes to go OK, fall failures to go KO."""
        good = 0
        bad = 0
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            timeout = sc.timeout if sc.timeout > 0 else sc.interval
            self.status.running.add(sc.name)
            try:
                res = await run_script(sc.script, timeout=timeout, cfg=self.cfg)
            finally:
                self.status.running.discard(sc.name)
            ok = res.status == 0
            if res.timed_out:
                log.warning("Script `%s` now returning %s (timed out)", sc.name, "failure")
            if ok:
                good, bad = good + 1, 0
            else:
                good, bad = 0, bad + 1
            cur = self.status.scripts.get(sc.name, True)
            if not cur and ok and good >= sc.rise:
                self.status.scripts[sc.name] = True
                log.info("Script `%s` now returning 0", sc.name)
                self.on_change()
            elif cur and not ok and bad >= sc.fall:
                self.status.scripts[sc.name] = False
                log.info("Script `%s` now returning %s", sc.name,
                         res.status if res.status is not None else "timeout")
                log.info("VRRP_Script(%s) failed (exited with status %s)", sc.name,
                         res.status if res.status is not None else "timeout")
                self.on_change()
            next_at += sc.interval
            now = loop.time()
            if next_at < now:
                next_at = now
            await asyncio.sleep(next_at - now)

    # -- track_file ----------------------------------------------------------------------
    @staticmethod
    def _read_file(path: str) -> int:
        """keepalived reads a signed integer from the start of the file (0 if unreadable)."""
        try:
            with open(path) as f:
                text = f.read(64).strip().split()
        except OSError:
            return 0
        try:
            return int(text[0]) if text else 0
        except ValueError:
            return 0

    async def _file_loop(self, name: str, path: str, period: float = 0.5) -> None:
        while True:
            await asyncio.sleep(period)
            v = self._read_file(path)
            if v != self.status.files.get(name):
                self.status.files[name] = v
                log.info("track_file %s is now %d", name, v)
                self.on_change()

    # -- track_process -------------------------------------------------------------------
    def _process_ok(self, name: str) -> bool:
        import psutil

        tp = next((p for p in self.cfg.track_processes if p.name == name), None)
        if tp is None:
            return True
        count = 0
        for p in psutil.process_iter(["name", "cmdline"]):
            try:
                cmd = p.info["cmdline"] or []
                pname = cmd[0] if tp.full_command and cmd else p.info["name"]
                if pname != tp.process and not (cmd and cmd[0] == tp.process):
                    continue
                if tp.params:
                    args = tuple(cmd[1:])
                    if tp.param_match == "initial":
                        if args[: len(tp.params)] != tp.params:
                            continue
                    elif tp.param_match == "partial":
                        if " ".join(tp.params) not in " ".join(args):
                            continue
                    elif args != tp.params:
                        continue
                count += 1
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        hi = tp.quorum_max
        return count >= tp.quorum and (hi is None or count <= hi)

    async def _process_loop(self, name: str, period: float = 1.0) -> None:
        while True:
            await asyncio.sleep(period)
            ok = await asyncio.to_thread(self._process_ok, name)
            if ok != self.status.processes.get(name):
                self.status.processes[name] = ok
                log.info("Process %s is now %s", name, "up" if ok else "down")
                self.on_change()
