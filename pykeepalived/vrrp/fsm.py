"""VRRP state machine as a pure function (RFC 3768 / RFC 5798 with keepalived 2.2.7 deviations).

``step(state, event, now) -> (state, actions)`` does no I/O and reads no clock: ``now`` is
monotonic seconds supplied by the caller, so the whole protocol can be driven by a fake clock in
tests. The state carries its (immutable) FsmConfig, so a reload swaps it with ``replace``.
The event loop executes the returned actions in order and wakes at ``next_deadline()`` to
deliver a ``Tick``.

Behaviour follows keepalived where it deviates from the RFCs (research/vrrp-rfc.md §8):

* a non-owner with ``state MASTER`` starts in BACKUP and waits the full Master_Down_Interval;
  only an address owner (priority 255) with ``state MASTER`` goes to MASTER at once;
* a MASTER hearing a lower-priority advert sends an advert at once ("forcing new election") and
  re-announces its VIPs, unless ``lower_prio_no_advert`` (RFC behaviour: discard);
* ``higher_prio_send_advert``: a MASTER that loses sends one more advert before backing off;
* two address owners: the one that hears the other drops to 254 and backs off (2.2.x);
* FAULT (tracked interface/script with weight 0): leaving MASTER sends a priority-0 advert
  and removes the VIPs; leaving FAULT goes to BACKUP, or to MASTER for an owner;
* ``nopreempt`` / ``preempt_delay`` as in keepalived's backup advert handling;
* skew uses the *effective* (tracked) priority; ``down_timer_adverts`` replaces the RFC's 3.

Sync groups (sync_group.py) gate every move to MASTER: a member emits ``RequestMaster`` instead
and the group answers with ``ForceMaster`` once all members want to be master.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from ipaddress import IPv4Address, IPv6Address

IPAddr = IPv4Address | IPv6Address

PRIO_OWNER = 255
PRIO_STOP = 0


class State(Enum):
    """Instance states; names are keepalived's (notify scripts receive them)."""

    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


class AnnounceReason(Enum):
    """Why GARP/NA is sent: the effector picks garp_master_* or garp_lower_prio_* knobs."""

    BECOME_MASTER = "become_master"
    LOWER_PRIO = "lower_prio"


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class FsmConfig:
    """The part of a vrrp_instance the state machine needs (resolved by the config layer)."""

    vrid: int
    address: IPAddr  # our primary / source address: the equal-priority tie-break
    priority: int = 100  # base priority, 1..255; 255 = address owner
    advert_int: float = 1.0  # seconds (v2 whole seconds, v3 multiples of 0.01)
    version: int = 2
    initial_state: State = State.BACKUP  # keepalived "state" (wantstate)
    preempt: bool = True  # False = nopreempt
    preempt_delay: float = 0.0
    down_timer_adverts: int = 3
    higher_prio_send_advert: bool = False
    lower_prio_no_advert: bool = False
    garp_lower_prio: bool = True  # garp_lower_prio_repeat > 0
    sync_group: bool = False  # member of a vrrp_sync_group: MASTER is gated by the group

    def __post_init__(self) -> None:
        if not 1 <= self.vrid <= 255:
            raise ValueError(f"vrid {self.vrid} outside 1..255")
        if not 1 <= self.priority <= 255:
            raise ValueError(f"priority {self.priority} outside 1..255")
        if self.version not in (2, 3):
            raise ValueError(f"VRRP version {self.version} is not 2 or 3")
        if self.advert_int <= 0:
            raise ValueError("advert_int must be positive")
        if self.initial_state not in (State.MASTER, State.BACKUP):
            raise ValueError("initial_state must be MASTER or BACKUP")


# --------------------------------------------------------------------------- timer formulas


def skew_time(priority: int, version: int, master_adver_int: float) -> float:
    """RFC 3768 §6.1 (v2: (256-prio)/256 s) and RFC 5798 §6.1 (v3: scaled by the interval)."""
    if version == 2:
        return (256 - priority) / 256
    return (256 - priority) * master_adver_int / 256


def master_down_interval(
    priority: int, version: int, master_adver_int: float, down_timer_adverts: int = 3
) -> float:
    """Master_Down_Interval = N * Master_Adver_Interval + Skew_Time (RFC: N = 3)."""
    return down_timer_adverts * master_adver_int + skew_time(priority, version, master_adver_int)


def clamp_priority(priority: int) -> int:
    """Tracked priority is clamped to 1..254: tracking can neither kill nor create an owner."""
    return max(1, min(PRIO_OWNER - 1, priority))


def compare_address(a: IPAddr, b: IPAddr) -> int:
    """-1/0/1 numeric comparison in network order; other family compares equal (as keepalived)."""
    if a.version != b.version:
        return 0
    return (int(a) > int(b)) - (int(a) < int(b))


# --------------------------------------------------------------------------- state


@dataclass(frozen=True)
class InstanceState:
    """Everything the rules need between events. Deadlines are absolute monotonic seconds."""

    cfg: FsmConfig
    state: State
    priority: int  # effective priority (base +/- tracking)
    base_priority: int  # config priority; an owner conflict lowers it to 254
    master_adver_int: float  # v3: learned from the master; v2: our own advert_int
    advert_at: float | None = None  # MASTER: Adver_Timer
    master_down_at: float | None = None  # BACKUP: Master_Down_Timer
    preempt_at: float | None = None  # preempt_delay end; not a wake-up timer
    master_address: IPAddr | None = None
    master_priority: int | None = None
    want_master: bool = False  # sync-group member whose down timer fired, waiting on the group
    faults: frozenset[str] = field(default_factory=frozenset)  # active FAULT reasons


def initial_state(cfg: FsmConfig) -> InstanceState:
    """State before Startup."""
    return InstanceState(
        cfg=cfg,
        state=State.INIT,
        priority=cfg.priority,
        base_priority=cfg.priority,
        master_adver_int=cfg.advert_int,
    )


def next_deadline(st: InstanceState) -> float | None:
    """When the loop must deliver a Tick (None: nothing scheduled)."""
    times = [t for t in (st.advert_at, st.master_down_at) if t is not None]
    return min(times) if times else None


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Startup:
    """Leave INIT (RFC 'Startup event')."""


@dataclass(frozen=True)
class Shutdown:
    """Stop the instance (SIGTERM / instance removed on reload)."""


@dataclass(frozen=True)
class Tick:
    """The clock reached next_deadline(): fire whatever timers are due."""


@dataclass(frozen=True)
class AdvertReceived:
    """A validated advert for our VRID (codec + receive checks already applied)."""

    priority: int
    source: IPAddr
    adver_int: float = 1.0  # seconds; only used for v3 (v2 mismatches are dropped earlier)


@dataclass(frozen=True)
class PriorityChanged:
    """New tracked priority (base + weights, unclamped); owners ignore it."""

    priority: int


@dataclass(frozen=True)
class FaultSet:
    """A weight-0 tracked object failed (or the sync group faulted): reason is its name."""

    reason: str = "fault"


@dataclass(frozen=True)
class FaultCleared:
    """The tracked object named by reason recovered."""

    reason: str = "fault"


@dataclass(frozen=True)
class ForceMaster:
    """Sync group: all members want MASTER, go now (bypasses the group gate)."""


@dataclass(frozen=True)
class ForceBackup:
    """Sync group: another member dropped to BACKUP, follow it."""


Event = (
    Startup
    | Shutdown
    | Tick
    | AdvertReceived
    | PriorityChanged
    | FaultSet
    | FaultCleared
    | ForceMaster
    | ForceBackup
)


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class SendAdvert:
    """Send one advert with this priority (0 = master giving up)."""

    priority: int


@dataclass(frozen=True)
class AddVips:
    """Install VIPs (and virtual routes/rules, accept-mode rules)."""


@dataclass(frozen=True)
class DelVips:
    """Remove what AddVips installed."""


@dataclass(frozen=True)
class Announce:
    """GARP / unsolicited NA burst for the VIPs; counts and delays are the effector's knobs."""

    reason: AnnounceReason


@dataclass(frozen=True)
class Notify:
    """Run notify scripts / log 'Entering X STATE'."""

    state: State
    priority: int


@dataclass(frozen=True)
class RequestMaster:
    """Sync-group member would go MASTER; the group decides (sync_group.reconcile)."""


Action = SendAdvert | AddVips | DelVips | Announce | Notify | RequestMaster

Result = tuple[InstanceState, tuple[Action, ...]]


# --------------------------------------------------------------------------- transitions


def _mdi(st: InstanceState, adver_int: float | None = None) -> float:
    cfg = st.cfg
    mai = st.master_adver_int if adver_int is None else adver_int
    return master_down_interval(st.priority, cfg.version, mai, cfg.down_timer_adverts)


def _become_master(st: InstanceState, now: float) -> Result:
    """Advert first, then VIPs, then GARP/NA (order measured on keepalived 2.2.7)."""
    cfg = st.cfg
    new = replace(
        st,
        state=State.MASTER,
        advert_at=now + cfg.advert_int,
        master_down_at=None,
        preempt_at=None,
        want_master=False,
        master_adver_int=cfg.advert_int,
        master_address=cfg.address,
        master_priority=st.priority,
    )
    return new, (
        SendAdvert(st.priority),
        AddVips(),
        Announce(AnnounceReason.BECOME_MASTER),
        Notify(State.MASTER, st.priority),
    )


def _goto_master(st: InstanceState, now: float) -> Result:
    """Become MASTER, or for a sync-group member ask the group and re-check in ~1 interval."""
    cfg = st.cfg
    if not cfg.sync_group:
        return _become_master(st, now)
    recheck = st.master_adver_int + skew_time(PRIO_OWNER, cfg.version, st.master_adver_int)
    actions: tuple[Action, ...] = (RequestMaster(),)
    new = replace(st, want_master=True, master_down_at=now + recheck, advert_at=None)
    if st.state is not State.BACKUP:
        new = replace(new, state=State.BACKUP)
        actions = (Notify(State.BACKUP, st.priority), *actions)
    return new, actions


def _enter_backup(st: InstanceState, now: float) -> InstanceState:
    """BACKUP with the interval reset to ours and a full Master_Down_Interval."""
    cfg = st.cfg
    return replace(
        st,
        state=State.BACKUP,
        master_adver_int=cfg.advert_int,
        advert_at=None,
        master_down_at=now + _mdi(st, cfg.advert_int),
        preempt_at=None,
        want_master=False,
    )


def _owner_starts_master(st: InstanceState) -> bool:
    cfg = st.cfg
    return cfg.initial_state is State.MASTER and st.base_priority == PRIO_OWNER


def _up(st: InstanceState, now: float) -> Result:
    """Leave INIT or FAULT: owners straight to MASTER, everyone else waits in BACKUP."""
    cfg = st.cfg
    if _owner_starts_master(st):
        return _goto_master(replace(st, master_adver_int=cfg.advert_int), now)
    new = _enter_backup(st, now)
    return new, (Notify(State.BACKUP, new.priority),)


def _on_startup(st: InstanceState, now: float) -> Result:
    if st.state is not State.INIT:
        return st, ()
    if st.faults:
        return replace(st, state=State.FAULT), (Notify(State.FAULT, st.priority),)
    return _up(st, now)


def _on_shutdown(st: InstanceState, now: float) -> Result:
    if st.state in (State.INIT, State.STOP):
        return replace(st, state=State.STOP), ()
    actions: tuple[Action, ...] = ()
    if st.state is State.MASTER:
        actions = (SendAdvert(PRIO_STOP), DelVips())
    new = replace(st, state=State.STOP, advert_at=None, master_down_at=None, want_master=False)
    return new, (*actions, Notify(State.STOP, st.priority))


def _on_tick(st: InstanceState, now: float) -> Result:
    cfg = st.cfg
    if st.state is State.BACKUP and st.master_down_at is not None and st.master_down_at <= now:
        return _goto_master(st, now)
    if st.state is State.MASTER and st.advert_at is not None and st.advert_at <= now:
        return replace(st, advert_at=now + cfg.advert_int), (SendAdvert(st.priority),)
    return st, ()


def _backup_rx(st: InstanceState, ev: AdvertReceived, now: float) -> Result:
    cfg = st.cfg
    if ev.priority == PRIO_STOP:
        # RFC: Master_Down_Timer := Skew_Time, so the highest backup takes over first.
        skew = skew_time(st.priority, cfg.version, st.master_adver_int)
        return replace(st, master_down_at=now + skew), ()
    delaying = cfg.preempt_delay > 0 and (st.preempt_at is None or st.preempt_at > now)
    if not cfg.preempt or ev.priority >= st.priority or delaying:
        mai = ev.adver_int if cfg.version == 3 else st.master_adver_int
        preempt_at = st.preempt_at
        if cfg.preempt_delay > 0:
            if ev.priority >= st.priority:
                preempt_at = None
            elif preempt_at is None:
                preempt_at = now + cfg.preempt_delay
        new = replace(
            st,
            master_adver_int=mai,
            master_down_at=now + _mdi(st, mai),
            master_address=ev.source,
            master_priority=ev.priority,
            preempt_at=preempt_at,
            want_master=False,
        )
        return new, ()
    # Preempting a lower-priority master: discard, the running timer will make us MASTER.
    return replace(st, master_address=ev.source, master_priority=ev.priority), ()


def _master_rx(st: InstanceState, ev: AdvertReceived, now: float) -> Result:
    cfg = st.cfg
    cmp = compare_address(ev.source, cfg.address)
    actions: list[Action] = []
    prio = st.priority
    loses = ev.priority > prio or (ev.priority == prio and cmp > 0)
    if ev.priority == PRIO_STOP or (cfg.higher_prio_send_advert and loses):
        actions.append(SendAdvert(prio))
        st = replace(st, advert_at=now + cfg.advert_int)
        if ev.priority == PRIO_STOP:
            return st, tuple(actions)
    if ev.priority == prio:
        if cmp == 0:
            return st, tuple(actions)  # our own address: misconfiguration, ignore
        if prio == PRIO_OWNER:
            # Two address owners: 2.2.x lowers the local one to 254 and lets it back off.
            prio = PRIO_OWNER - 1
            st = replace(st, priority=prio, base_priority=prio)
    if ev.priority < prio or (ev.priority == prio and cmp < 0):
        if not cfg.lower_prio_no_advert:
            actions.append(SendAdvert(prio))
            st = replace(st, advert_at=now + cfg.advert_int)
        if cfg.garp_lower_prio:
            actions.append(Announce(AnnounceReason.LOWER_PRIO))
        return st, tuple(actions)
    # Higher priority (or equal with higher address): back off.
    mai = ev.adver_int if cfg.version == 3 else st.master_adver_int
    new = replace(
        st,
        state=State.BACKUP,
        advert_at=None,
        master_adver_int=mai,
        master_down_at=now + _mdi(st, mai),
        master_address=ev.source,
        master_priority=ev.priority,
        preempt_at=None,
        want_master=False,
    )
    return new, (*actions, DelVips(), Notify(State.BACKUP, prio))


def _on_advert(st: InstanceState, ev: AdvertReceived, now: float) -> Result:
    if st.state is State.BACKUP:
        return _backup_rx(st, ev, now)
    if st.state is State.MASTER:
        return _master_rx(st, ev, now)
    return st, ()  # INIT, FAULT, STOP: keepalived ignores adverts


def _on_priority(st: InstanceState, ev: PriorityChanged, now: float) -> Result:
    if st.base_priority == PRIO_OWNER:
        return st, ()
    prio = clamp_priority(ev.priority)
    if prio == st.priority:
        return st, ()
    new = replace(st, priority=prio)
    if st.state is State.BACKUP and st.master_down_at is not None:
        # keepalived moves the running down timer by the change in Master_Down_Interval
        # (i.e. the skew); takes effect for the master on its next advert.
        delta = _mdi(new) - _mdi(st)
        new = replace(new, master_down_at=max(now, st.master_down_at + delta))
    return new, ()


def _on_fault(st: InstanceState, ev: FaultSet, now: float) -> Result:
    new = replace(st, faults=st.faults | {ev.reason})
    if st.faults or st.state in (State.INIT, State.STOP, State.FAULT):
        return new, ()
    actions: tuple[Action, ...] = ()
    if st.state is State.MASTER:
        actions = (SendAdvert(PRIO_STOP), DelVips())
    new = replace(
        new,
        state=State.FAULT,
        advert_at=None,
        master_down_at=None,
        want_master=False,
        preempt_at=None,
    )
    return new, (*actions, Notify(State.FAULT, st.priority))


def _on_fault_cleared(st: InstanceState, ev: FaultCleared, now: float) -> Result:
    new = replace(st, faults=st.faults - {ev.reason})
    if new.faults or st.state is not State.FAULT:
        return new, ()
    return _up(new, now)


def _on_force_master(st: InstanceState, now: float) -> Result:
    if st.state is State.BACKUP:
        return _become_master(st, now)
    return st, ()


def _on_force_backup(st: InstanceState, now: float) -> Result:
    if st.state is State.MASTER:
        new = _enter_backup(st, now)
        return new, (DelVips(), Notify(State.BACKUP, st.priority))
    if st.state is State.BACKUP and st.want_master:
        return replace(st, want_master=False), ()
    return st, ()


def step(st: InstanceState, event: Event, now: float) -> Result:
    """Apply one event at monotonic time ``now``; return the new state and actions in order."""
    match event:
        case Startup():
            return _on_startup(st, now)
        case Shutdown():
            return _on_shutdown(st, now)
        case Tick():
            return _on_tick(st, now)
        case AdvertReceived():
            return _on_advert(st, event, now)
        case PriorityChanged():
            return _on_priority(st, event, now)
        case FaultSet():
            return _on_fault(st, event, now)
        case FaultCleared():
            return _on_fault_cleared(st, event, now)
        case ForceMaster():
            return _on_force_master(st, now)
        case ForceBackup():
            return _on_force_backup(st, now)
    raise TypeError(f"unknown event {event!r}")
