"""VRRP state machine: timer formulas, the full state x event table, fake-clock scenarios and
hypothesis invariants.

Expected numbers come from the RFC formulas written out by hand (and the keepalived figures in
shared/research/kad-measure/README.md), never from the implementation's own helpers.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from pykeepalived.vrrp.fsm import (
    Action,
    AddVips,
    AdvertReceived,
    Announce,
    AnnounceReason,
    DelVips,
    Event,
    FaultCleared,
    FaultSet,
    ForceBackup,
    ForceMaster,
    FsmConfig,
    InstanceState,
    Notify,
    PriorityChanged,
    SendAdvert,
    Shutdown,
    Startup,
    State,
    Tick,
    compare_address,
    initial_state,
    master_down_interval,
    next_deadline,
    skew_time,
    step,
)

ME = IPv4Address("192.0.2.2")
LOWER_IP = IPv4Address("192.0.2.1")
HIGHER_IP = IPv4Address("192.0.2.3")

BECOME_MASTER = (
    SendAdvert(100),
    AddVips(),
    Announce(AnnounceReason.BECOME_MASTER),
    Notify(State.MASTER, 100),
)


def cfg(**kw: object) -> FsmConfig:
    base: dict[str, object] = {"vrid": 51, "address": ME, "priority": 100}
    base.update(kw)
    return FsmConfig(**base)  # type: ignore[arg-type]


def run(st: InstanceState, *timed: tuple[float, Event]) -> tuple[InstanceState, list[Action]]:
    """Feed (time, event) pairs in order; collect all actions."""
    out: list[Action] = []
    for now, ev in timed:
        st, acts = step(st, ev, now)
        out.extend(acts)
    return st, out


def started(c: FsmConfig, at: float = 0.0) -> InstanceState:
    st, _ = step(initial_state(c), Startup(), at)
    return st


# --------------------------------------------------------------------------- timer formulas

# (priority, version, interval) -> (skew, master down interval), worked by hand:
# v2 skew = (256 - p) / 256; v3 skew = (256 - p) * interval / 256; MDI = 3 * interval + skew.
TIMER_TABLE = [
    (100, 2, 1.0, 156 / 256, 3 + 156 / 256),  # 0.609375 / 3.609375 (keepalived issue #1686)
    (128, 2, 1.0, 0.5, 3.5),  # keepalived man page example
    (90, 2, 1.0, 166 / 256, 3.6484375),  # kad-measure: MDI(b) 3.6484 s
    (1, 2, 1.0, 255 / 256, 3 + 255 / 256),
    (254, 2, 1.0, 2 / 256, 3 + 2 / 256),
    (255, 2, 1.0, 1 / 256, 3 + 1 / 256),
    (100, 2, 5.0, 156 / 256, 15 + 156 / 256),  # v2 skew does not scale with the interval
    (90, 3, 0.1, 0.0648437, 0.3648437),  # kad-measure: v3 0.1 s MDI(b) 0.3648 s
    (100, 3, 0.1, 0.0609375, 0.3609375),
    (90, 3, 0.01, 0.00648437, 0.03648437),  # kad-measure: v3 0.01 s MDI(b) 0.0365 s
    (100, 3, 1.0, 0.609375, 3.609375),
    (1, 3, 40.95, 255 * 40.95 / 256, 3 * 40.95 + 255 * 40.95 / 256),
]


@pytest.mark.parametrize(("prio", "version", "interval", "skew", "mdi"), TIMER_TABLE)
def test_timer_formulas(prio: int, version: int, interval: float, skew: float, mdi: float) -> None:
    assert skew_time(prio, version, interval) == pytest.approx(skew, abs=1e-7)
    assert master_down_interval(prio, version, interval) == pytest.approx(mdi, abs=1e-7)


def test_down_timer_adverts_replaces_the_three() -> None:
    assert master_down_interval(100, 2, 1.0, down_timer_adverts=5) == pytest.approx(5.609375)


def test_address_comparison_is_numeric() -> None:
    assert compare_address(IPv4Address("10.0.0.10"), IPv4Address("10.0.0.9")) == 1
    assert compare_address(IPv4Address("9.255.255.255"), IPv4Address("10.0.0.0")) == -1
    assert compare_address(IPv6Address("fe80::2"), IPv6Address("fe80::10")) == -1
    assert compare_address(ME, ME) == 0


def test_config_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        cfg(priority=0)
    with pytest.raises(ValueError):
        cfg(vrid=256)
    with pytest.raises(ValueError):
        cfg(version=4)
    with pytest.raises(ValueError):
        cfg(initial_state=State.FAULT)


# --------------------------------------------------------------------------- state x event table
#
# Base instance: VRID 51, priority 100, v2, advert_int 1 s, preempt, our address 192.0.2.2.
# States are reached through the FSM itself at these times:
#   INIT   fresh
#   BACKUP Startup at 0 (Master_Down_Timer 3.609375); the row is applied at t=1
#   MASTER Startup at 0, Tick at 3.609375 (Adver_Timer 4.609375); the row is applied at t=4
#   FAULT  BACKUP + FaultSet("eth0") at t=1; the row is applied at t=2
#   STOP   BACKUP + Shutdown at t=1; the row is applied at t=2
# "Tick due" is applied exactly at the state's deadline. Priority in adverts: ours = 100.
#
# | event \ state          | INIT   | BACKUP      | MASTER                | FAULT  | STOP |
# |------------------------|--------|-------------|-----------------------|--------|------|
# | Startup                | BACKUP | -           | -                     | -      | -    |
# | Shutdown               | STOP   | STOP        | adv0,del -> STOP      | STOP   | -    |
# | Tick (early)           | -      | -           | -                     | -      | -    |
# | Tick (due)             | n/a    | -> MASTER   | advert                | n/a    | n/a  |
# | Advert prio 0          | -      | timer:=skew | advert                | -      | -    |
# | Advert higher (110)    | -      | reset timer | del -> BACKUP         | -      | -    |
# | Advert equal, higher IP| -      | reset timer | del -> BACKUP         | -      | -    |
# | Advert equal, lower IP | -      | reset timer | advert,garp (stay)    | -      | -    |
# | Advert equal, our IP   | -      | reset timer | - (misconfiguration)  | -      | -    |
# | Advert lower (90)      | -      | discard     | advert,garp (stay)    | -      | -    |
# | PriorityChanged(90)    | -      | shift timer | - (next advert)       | -      | -    |
# | FaultSet               | -      | -> FAULT    | adv0,del -> FAULT     | -      | -    |
# | FaultCleared           | -      | -           | -                     | BACKUP | -    |
# | ForceMaster (sync)     | -      | -> MASTER   | -                     | -      | -    |
# | ForceBackup (sync)     | -      | -           | del -> BACKUP         | -      | -    |
# Every state change also notifies (Notify(new state, 100)), except INIT -> STOP.
# "-> MASTER" = advert, add VIPs, GARP/NA, notify. "adv0" = priority-0 advert.

BASE = cfg()
MDI_100 = 3 + 156 / 256


def _state(name: str) -> tuple[InstanceState, float]:
    """Build the named state through the FSM; return it with the time rows are applied at."""
    init = initial_state(BASE)
    if name == "INIT":
        return init, 0.0
    backup = started(BASE)
    if name == "BACKUP":
        return backup, 1.0
    if name == "MASTER":
        st, _ = step(backup, Tick(), MDI_100)
        return st, 4.0
    if name == "FAULT":
        st, _ = step(backup, FaultSet("eth0"), 1.0)
        return st, 2.0
    if name == "STOP":
        st, _ = step(backup, Shutdown(), 1.0)
        return st, 2.0
    raise AssertionError(name)


EVENTS: dict[str, Event] = {
    "Startup": Startup(),
    "Shutdown": Shutdown(),
    "Tick early": Tick(),
    "Tick due": Tick(),
    "Advert prio 0": AdvertReceived(0, HIGHER_IP),
    "Advert higher": AdvertReceived(110, LOWER_IP),
    "Advert equal higher IP": AdvertReceived(100, HIGHER_IP),
    "Advert equal lower IP": AdvertReceived(100, LOWER_IP),
    "Advert equal our IP": AdvertReceived(100, ME),
    "Advert lower": AdvertReceived(90, HIGHER_IP),
    "PriorityChanged": PriorityChanged(90),
    "FaultSet": FaultSet("chk"),
    "FaultCleared": FaultCleared("eth0"),
    "ForceMaster": ForceMaster(),
    "ForceBackup": ForceBackup(),
}

LOWER_GARP = Announce(AnnounceReason.LOWER_PRIO)
N = Notify

# (state, event) -> (new state, actions); a missing cell means "nothing happens".
TABLE: dict[tuple[str, str], tuple[State, tuple[Action, ...]]] = {
    ("INIT", "Startup"): (State.BACKUP, (N(State.BACKUP, 100),)),
    ("INIT", "Shutdown"): (State.STOP, ()),
    ("BACKUP", "Shutdown"): (State.STOP, (N(State.STOP, 100),)),
    ("BACKUP", "Tick due"): (State.MASTER, BECOME_MASTER),
    ("BACKUP", "FaultSet"): (State.FAULT, (N(State.FAULT, 100),)),
    ("BACKUP", "ForceMaster"): (State.MASTER, BECOME_MASTER),
    ("MASTER", "Shutdown"): (State.STOP, (SendAdvert(0), DelVips(), N(State.STOP, 100))),
    ("MASTER", "Tick due"): (State.MASTER, (SendAdvert(100),)),
    ("MASTER", "Advert prio 0"): (State.MASTER, (SendAdvert(100),)),
    ("MASTER", "Advert higher"): (State.BACKUP, (DelVips(), N(State.BACKUP, 100))),
    ("MASTER", "Advert equal higher IP"): (State.BACKUP, (DelVips(), N(State.BACKUP, 100))),
    ("MASTER", "Advert equal lower IP"): (State.MASTER, (SendAdvert(100), LOWER_GARP)),
    ("MASTER", "Advert lower"): (State.MASTER, (SendAdvert(100), LOWER_GARP)),
    ("MASTER", "FaultSet"): (State.FAULT, (SendAdvert(0), DelVips(), N(State.FAULT, 100))),
    ("MASTER", "ForceBackup"): (State.BACKUP, (DelVips(), N(State.BACKUP, 100))),
    ("FAULT", "Shutdown"): (State.STOP, (N(State.STOP, 100),)),
    ("FAULT", "FaultCleared"): (State.BACKUP, (N(State.BACKUP, 100),)),
}
STATES = ["INIT", "BACKUP", "MASTER", "FAULT", "STOP"]
CELLS = [(s, e) for s in STATES for e in EVENTS]


@pytest.mark.parametrize(("state_name", "event_name"), CELLS, ids=[f"{s}-{e}" for s, e in CELLS])
def test_state_event_table(state_name: str, event_name: str) -> None:
    st, now = _state(state_name)
    if event_name == "Tick due":
        deadline = next_deadline(st)
        if deadline is None:  # INIT/FAULT/STOP have no timer: a Tick does nothing
            assert state_name in ("INIT", "FAULT", "STOP")
            deadline = now + 100.0
        now = deadline
    expected_state, expected_actions = TABLE.get((state_name, event_name), (st.state, ()))
    new, actions = step(st, EVENTS[event_name], now)
    assert new.state is expected_state
    assert actions == expected_actions


def test_table_cells_all_exist() -> None:
    """Every explicit row names a real state and event (guards against typos)."""
    for s, e in TABLE:
        assert s in STATES and e in EVENTS


# Config variants of the MASTER rows (keepalived knobs).
@pytest.mark.parametrize(
    ("kw", "event", "expected_state", "expected"),
    [
        (
            {"lower_prio_no_advert": True},
            AdvertReceived(90, HIGHER_IP),
            State.MASTER,
            (LOWER_GARP,),
        ),
        (
            {"garp_lower_prio": False},
            AdvertReceived(90, HIGHER_IP),
            State.MASTER,
            (SendAdvert(100),),
        ),
        (
            {"lower_prio_no_advert": True, "garp_lower_prio": False},
            AdvertReceived(90, HIGHER_IP),
            State.MASTER,
            (),
        ),
        (
            {"higher_prio_send_advert": True},
            AdvertReceived(110, LOWER_IP),
            State.BACKUP,
            (SendAdvert(100), DelVips(), N(State.BACKUP, 100)),
        ),
        (
            {"higher_prio_send_advert": True},
            AdvertReceived(100, HIGHER_IP),
            State.BACKUP,
            (SendAdvert(100), DelVips(), N(State.BACKUP, 100)),
        ),
        (
            {"higher_prio_send_advert": True},
            AdvertReceived(90, HIGHER_IP),
            State.MASTER,
            (SendAdvert(100), LOWER_GARP),
        ),
        (
            {"lower_prio_no_advert": True},
            AdvertReceived(0, HIGHER_IP),
            State.MASTER,
            (SendAdvert(100),),
        ),
    ],
)
def test_master_knobs(
    kw: dict[str, object], event: Event, expected_state: State, expected: tuple[Action, ...]
) -> None:
    st = started(cfg(**kw))
    st, _ = step(st, Tick(), MDI_100)
    assert st.state is State.MASTER
    new, actions = step(st, event, 4.0)
    assert new.state is expected_state
    assert actions == expected


# --------------------------------------------------------------------------- startup


def test_backup_startup_waits_master_down_interval() -> None:
    st = started(BASE, at=10.0)
    assert next_deadline(st) == pytest.approx(10 + 3.609375)
    st, acts = step(st, Tick(), 10 + 3.609)
    assert st.state is State.BACKUP and acts == ()
    st, acts = step(st, Tick(), 10 + 3.609375)
    assert st.state is State.MASTER
    assert acts == BECOME_MASTER
    assert next_deadline(st) == pytest.approx(10 + 3.609375 + 1.0)


def test_state_master_non_owner_still_waits() -> None:
    """keepalived: 'state MASTER' with priority < 255 starts in BACKUP (kad-baseline.md)."""
    st, acts = step(initial_state(cfg(initial_state=State.MASTER)), Startup(), 0.0)
    assert st.state is State.BACKUP
    assert acts == (Notify(State.BACKUP, 100),)
    assert next_deadline(st) == pytest.approx(3.609375)


def test_owner_goes_master_at_once() -> None:
    c = cfg(priority=255, initial_state=State.MASTER)
    st, acts = step(initial_state(c), Startup(), 5.0)
    assert st.state is State.MASTER
    assert acts == (
        SendAdvert(255),
        AddVips(),
        Announce(AnnounceReason.BECOME_MASTER),
        Notify(State.MASTER, 255),
    )
    assert next_deadline(st) == pytest.approx(6.0)


def test_owner_with_state_backup_waits_with_owner_skew() -> None:
    st = started(cfg(priority=255, initial_state=State.BACKUP))
    assert st.state is State.BACKUP
    assert next_deadline(st) == pytest.approx(3 + 1 / 256)


def test_v3_startup_uses_own_interval() -> None:
    st = started(cfg(version=3, advert_int=0.1, priority=90))
    assert next_deadline(st) == pytest.approx(0.3 + 166 * 0.1 / 256)


def test_fault_before_startup_starts_in_fault() -> None:
    st, _ = step(initial_state(BASE), FaultSet("eth0"), 0.0)
    st, acts = step(st, Startup(), 0.0)
    assert st.state is State.FAULT
    assert acts == (Notify(State.FAULT, 100),)
    assert next_deadline(st) is None


def test_master_adverts_every_interval() -> None:
    st = started(BASE)
    st, _ = step(st, Tick(), MDI_100)
    sent = []
    t = MDI_100
    for _ in range(5):
        t = next_deadline(st)
        assert t is not None
        st, acts = step(st, Tick(), t)
        sent.append((t, acts))
    assert [a for _, a in sent] == [(SendAdvert(100),)] * 5
    assert [round(t, 6) for t, _ in sent] == [round(MDI_100 + k, 6) for k in range(1, 6)]


# --------------------------------------------------------------------------- backup behaviour


def _backup_hearing_master(prio: int, **kw: object) -> InstanceState:
    """Backup (priority ``prio``) started at 0 that accepted an advert from a 100 at t=1."""
    st = started(cfg(priority=prio, **kw))
    st, _ = step(st, AdvertReceived(100, HIGHER_IP), 1.0)
    return st


def test_failover_after_master_silence() -> None:
    """kad-measure: last advert of a -> b MASTER after MDI(b) = 3.6484 s."""
    st = started(cfg(priority=90))
    for t in range(6):
        st, acts = step(st, AdvertReceived(100, HIGHER_IP), float(t))
        assert acts == () and st.state is State.BACKUP
    assert next_deadline(st) == pytest.approx(5 + 3.6484375)
    st, _ = step(st, Tick(), 5 + 3.648)
    assert st.state is State.BACKUP
    st, acts = step(st, Tick(), 5 + 3.6484375)
    assert st.state is State.MASTER
    assert acts[0] == SendAdvert(90)


def test_priority_zero_takeover_after_skew() -> None:
    """kad-measure: SIGTERM of a -> b MASTER after Skew_Time(b) = 0.6484 s."""
    st = _backup_hearing_master(90)
    st, acts = step(st, AdvertReceived(0, HIGHER_IP), 2.0)
    assert acts == () and st.state is State.BACKUP
    assert next_deadline(st) == pytest.approx(2.0 + 166 / 256)
    st, _ = step(st, Tick(), 2.0 + 166 / 256)
    assert st.state is State.MASTER


def test_backup_learns_v3_master_interval() -> None:
    st = started(cfg(version=3, advert_int=1.0, priority=90))
    st, _ = step(st, AdvertReceived(100, HIGHER_IP, adver_int=0.1), 1.0)
    assert st.master_adver_int == pytest.approx(0.1)
    assert next_deadline(st) == pytest.approx(1.0 + 0.3 + 166 * 0.1 / 256)
    # Priority 0: Skew_Time with the learned interval.
    st, _ = step(st, AdvertReceived(0, HIGHER_IP, adver_int=0.1), 1.1)
    assert next_deadline(st) == pytest.approx(1.1 + 166 * 0.1 / 256)


def test_v2_ignores_advert_interval_field() -> None:
    st = started(cfg(priority=90))
    st, _ = step(st, AdvertReceived(100, HIGHER_IP, adver_int=7.0), 1.0)
    assert next_deadline(st) == pytest.approx(1.0 + 3.6484375)


def test_master_steps_down_and_learns_v3_interval() -> None:
    st = started(cfg(version=3, advert_int=1.0))
    st, _ = step(st, Tick(), 3.609375)
    st, _ = step(st, AdvertReceived(110, HIGHER_IP, adver_int=0.5), 4.0)
    assert st.state is State.BACKUP
    assert next_deadline(st) == pytest.approx(4.0 + 1.5 + 156 * 0.5 / 256)


def test_backup_equal_priority_resets_timer_whatever_the_address() -> None:
    for src in (LOWER_IP, HIGHER_IP):
        st = started(BASE)
        st, acts = step(st, AdvertReceived(100, src), 2.0)
        assert acts == ()
        assert next_deadline(st) == pytest.approx(2.0 + 3.609375)


def test_preempt_lower_priority_master() -> None:
    """A higher-priority backup ignores the lower master; its running timer makes it MASTER."""
    st = started(cfg(priority=110))  # MDI(110) = 3 + 146/256
    for t in (0.5, 1.5, 2.5, 3.5):
        st, acts = step(st, AdvertReceived(100, HIGHER_IP), t)
        assert acts == ()
    assert next_deadline(st) == pytest.approx(3 + 146 / 256)
    st, acts = step(st, Tick(), 3 + 146 / 256)
    assert st.state is State.MASTER and acts[0] == SendAdvert(110)


def test_nopreempt_never_preempts_a_lower_master() -> None:
    st = started(cfg(priority=110, preempt=False))
    for t in range(1, 20):
        st, acts = step(st, AdvertReceived(100, HIGHER_IP), float(t))
        assert acts == ()
        st, acts = step(st, Tick(), t + 0.99)
        assert st.state is State.BACKUP
    # ... but takes over when that master falls silent.
    assert next_deadline(st) == pytest.approx(19 + 3 + 146 / 256)
    st, _ = step(st, Tick(), 19 + 3 + 146 / 256)
    assert st.state is State.MASTER


def test_preempt_delay() -> None:
    """keepalived: the first lower-priority advert starts the delay; until it ends such adverts
    are accepted (timer reset); afterwards they are discarded and the timer runs out."""
    st = started(cfg(priority=110, preempt_delay=10.0))
    st, _ = step(st, AdvertReceived(100, HIGHER_IP), 0.5)
    assert st.preempt_at == pytest.approx(10.5)
    for t in range(1, 11):  # accepted: 1.0 .. 10.0
        st, _ = step(st, AdvertReceived(100, HIGHER_IP), float(t))
        assert next_deadline(st) == pytest.approx(t + 3 + 146 / 256)
    st, _ = step(st, AdvertReceived(100, HIGHER_IP), 11.0)  # delay over: discarded
    st, _ = step(st, AdvertReceived(100, HIGHER_IP), 12.0)
    assert next_deadline(st) == pytest.approx(10 + 3 + 146 / 256)
    st, _ = step(st, Tick(), 10 + 3 + 146 / 256)
    assert st.state is State.MASTER


def test_preempt_delay_cancelled_by_higher_master() -> None:
    st = started(cfg(priority=110, preempt_delay=10.0))
    st, _ = step(st, AdvertReceived(100, HIGHER_IP), 0.5)
    st, _ = step(st, AdvertReceived(120, HIGHER_IP), 1.0)
    assert st.preempt_at is None
    # The delay restarts at the next lower-priority advert.
    st, _ = step(st, AdvertReceived(100, HIGHER_IP), 20.0)
    assert st.preempt_at == pytest.approx(30.0)


def test_preempt_delay_does_not_delay_an_empty_network() -> None:
    st = started(cfg(priority=110, preempt_delay=10.0))
    st, _ = step(st, Tick(), 3 + 146 / 256)
    assert st.state is State.MASTER


# --------------------------------------------------------------------------- master behaviour


def _master(c: FsmConfig = BASE) -> InstanceState:
    st = started(c)
    st, _ = step(st, Tick(), master_down_interval(c.priority, c.version, c.advert_int))
    assert st.state is State.MASTER
    return st


def test_equal_priority_tie_break_by_address() -> None:
    st = _master()
    won, acts = step(st, AdvertReceived(100, LOWER_IP), 4.0)
    assert won.state is State.MASTER and SendAdvert(100) in acts
    lost, acts = step(st, AdvertReceived(100, HIGHER_IP), 4.0)
    assert lost.state is State.BACKUP and DelVips() in acts


def test_tie_break_is_numeric_not_textual() -> None:
    st = _master(cfg(address=IPv4Address("10.0.0.9")))
    lost, _ = step(st, AdvertReceived(100, IPv4Address("10.0.0.10")), 4.0)
    assert lost.state is State.BACKUP


def test_master_lower_advert_resets_advert_timer() -> None:
    st = _master()
    st, _ = step(st, AdvertReceived(90, HIGHER_IP), 4.2)
    assert next_deadline(st) == pytest.approx(5.2)
    st2 = _master(cfg(lower_prio_no_advert=True))
    st2, _ = step(st2, AdvertReceived(90, HIGHER_IP), 4.2)
    assert next_deadline(st2) == pytest.approx(3.609375 + 1.0)


def test_two_owners_the_hearer_backs_off_at_254() -> None:
    st = _master(cfg(priority=255, initial_state=State.MASTER))
    st, acts = step(st, AdvertReceived(255, LOWER_IP), 2.0)
    assert st.state is State.BACKUP
    assert st.priority == 254 and st.base_priority == 254
    assert acts == (DelVips(), Notify(State.BACKUP, 254))


# --------------------------------------------------------------------------- tracking


def test_priority_clamped_and_owner_untouched() -> None:
    st = started(BASE)
    st, _ = step(st, PriorityChanged(300), 1.0)
    assert st.priority == 254
    st, _ = step(st, PriorityChanged(-20), 1.0)
    assert st.priority == 1
    owner = started(cfg(priority=255))
    owner, _ = step(owner, PriorityChanged(200), 1.0)
    assert owner.priority == 255


def test_master_priority_drop_goes_out_in_next_advert() -> None:
    st = _master()
    st, acts = step(st, PriorityChanged(80), 4.0)
    assert acts == () and st.state is State.MASTER
    st, acts = step(st, Tick(), 3.609375 + 1.0)
    assert acts == (SendAdvert(80),)


def test_backup_priority_change_moves_down_timer_by_skew() -> None:
    st = _backup_hearing_master(90)  # deadline 1 + 3 + 166/256
    st, _ = step(st, PriorityChanged(120), 2.0)
    assert next_deadline(st) == pytest.approx(1 + 3 + 136 / 256)
    st, _ = step(st, PriorityChanged(10), 2.0)
    assert next_deadline(st) == pytest.approx(1 + 3 + 246 / 256)


def test_tracking_failover_between_two_nodes() -> None:
    """Master a (100) loses 30 by tracking; backup b (90) discards a's 70 adverts and preempts
    one Master_Down_Interval(b) after the last advert it accepted."""
    a = _master()
    b = started(cfg(priority=90, address=LOWER_IP))
    t = 3.609375
    b, _ = step(b, AdvertReceived(100, ME), t)
    last_accepted = t
    a, _ = step(a, PriorityChanged(70), t + 0.5)
    became_master_at = None
    while became_master_at is None:
        deadline = min(next_deadline(a), next_deadline(b))  # type: ignore[type-var]
        if next_deadline(a) == deadline:
            a, acts = step(a, Tick(), deadline)
            for act in acts:
                if isinstance(act, SendAdvert):
                    b, _ = step(b, AdvertReceived(act.priority, ME), deadline)
        else:
            b, acts = step(b, Tick(), deadline)
            if b.state is State.MASTER:
                became_master_at = deadline
                a, acts_a = step(a, AdvertReceived(90, LOWER_IP), deadline)
                assert a.state is State.BACKUP and DelVips() in acts_a
    assert became_master_at == pytest.approx(last_accepted + 3 + 166 / 256)


# --------------------------------------------------------------------------- fault


def test_fault_in_and_out() -> None:
    st = _master()
    st, acts = step(st, FaultSet("eth0"), 5.0)
    assert st.state is State.FAULT
    assert acts == (SendAdvert(0), DelVips(), Notify(State.FAULT, 100))
    assert next_deadline(st) is None
    st, acts = step(st, FaultSet("chk_haproxy"), 5.5)
    assert acts == ()
    st, acts = step(st, AdvertReceived(90, HIGHER_IP), 5.6)
    assert acts == () and st.state is State.FAULT
    st, acts = step(st, FaultCleared("eth0"), 6.0)
    assert st.state is State.FAULT and acts == ()
    st, acts = step(st, FaultCleared("chk_haproxy"), 7.0)
    assert st.state is State.BACKUP
    assert acts == (Notify(State.BACKUP, 100),)
    assert next_deadline(st) == pytest.approx(7.0 + 3.609375)


def test_owner_leaves_fault_as_master() -> None:
    st = _master(cfg(priority=255, initial_state=State.MASTER))
    st, _ = step(st, FaultSet("eth0"), 2.0)
    st, acts = step(st, FaultCleared("eth0"), 3.0)
    assert st.state is State.MASTER
    assert acts[:2] == (SendAdvert(255), AddVips())


def test_fault_resets_learned_interval() -> None:
    st = started(cfg(version=3, advert_int=1.0, priority=90))
    st, _ = step(st, AdvertReceived(100, HIGHER_IP, adver_int=0.1), 1.0)
    st, _ = step(st, FaultSet("eth0"), 1.1)
    st, _ = step(st, FaultCleared("eth0"), 2.0)
    assert next_deadline(st) == pytest.approx(2.0 + 3 + 166 / 256)


# --------------------------------------------------------------------------- shutdown


def test_shutdown_as_master_and_backup() -> None:
    st, acts = step(_master(), Shutdown(), 9.0)
    assert st.state is State.STOP
    assert acts == (SendAdvert(0), DelVips(), Notify(State.STOP, 100))
    assert next_deadline(st) is None
    st, acts = step(started(BASE), Shutdown(), 1.0)
    assert acts == (Notify(State.STOP, 100),)
    st, acts = step(st, Startup(), 2.0)
    assert st.state is State.STOP and acts == ()


# --------------------------------------------------------------------------- multi-node simulation


class Net:
    """Zero-latency LAN of FSM nodes driven by a fake clock."""

    def __init__(self, configs: list[FsmConfig]) -> None:
        self.cfgs = {c.address: c for c in configs}
        self.nodes: dict[IPv4Address | IPv6Address, InstanceState] = {}
        self.now = 0.0
        self.log: list[tuple[float, IPv4Address | IPv6Address, Action]] = []

    def deliver(self, src: IPv4Address | IPv6Address, acts: tuple[Action, ...]) -> None:
        for act in acts:
            self.log.append((self.now, src, act))
            if isinstance(act, SendAdvert):
                for addr in list(self.nodes):
                    if addr != src:
                        self.apply(addr, AdvertReceived(act.priority, src))

    def apply(self, addr: IPv4Address | IPv6Address, ev: Event) -> None:
        st, acts = step(self.nodes[addr], ev, self.now)
        self.nodes[addr] = st
        self.deliver(addr, acts)

    def start(self, addr: IPv4Address | IPv6Address) -> None:
        self.nodes[addr] = initial_state(self.cfgs[addr])
        self.apply(addr, Startup())

    def kill(self, addr: IPv4Address | IPv6Address) -> None:
        del self.nodes[addr]

    def stop(self, addr: IPv4Address | IPv6Address) -> None:
        self.apply(addr, Shutdown())
        del self.nodes[addr]

    def run_until(self, t_end: float) -> None:
        while True:
            due = [(d, a) for a, s in self.nodes.items() if (d := next_deadline(s)) is not None]
            if not due:
                break
            d, addr = min(due)
            if d > t_end:
                break
            self.now = d
            self.apply(addr, Tick())
        self.now = t_end

    def masters(self) -> list[IPv4Address | IPv6Address]:
        return [a for a, s in self.nodes.items() if s.state is State.MASTER]

    def became_master(self, addr: IPv4Address | IPv6Address, after: float) -> float:
        return min(
            t
            for t, a, act in self.log
            if a == addr and t >= after and act == Notify(State.MASTER, self.cfgs[addr].priority)
        )


A = IPv4Address("192.0.2.11")
B = IPv4Address("192.0.2.12")


def test_two_node_lifecycle_matches_rfc_timings() -> None:
    """The kab rig cycle (kad-measure/README.md) with RFC-exact timers."""
    net = Net(
        [cfg(priority=100, address=A, initial_state=State.MASTER), cfg(priority=90, address=B)]
    )
    net.start(A)
    net.start(B)
    net.run_until(10.0)
    assert net.masters() == [A]
    assert net.became_master(A, 0.0) == pytest.approx(3.609375)  # MDI(a)

    # Hard kill of a at 10.0: its last advert went out at 9.609375.
    net.kill(A)
    net.run_until(20.0)
    assert net.masters() == [B]
    assert net.became_master(B, 10.0) == pytest.approx(9.609375 + 3.6484375)

    # Restart of a: preempts after MDI(a), b steps down at once.
    net.now = 20.0
    net.start(A)
    net.run_until(30.0)
    assert net.masters() == [A]
    assert net.became_master(A, 20.0) == pytest.approx(20 + 3.609375)

    # Graceful stop of a: b takes over after Skew_Time(b).
    net.now = 30.0
    net.stop(A)
    net.run_until(40.0)
    assert net.masters() == [B]
    assert net.became_master(B, 30.0) == pytest.approx(30 + 166 / 256)


@settings(max_examples=60, deadline=None)
@given(
    prios=hst.lists(hst.integers(1, 254), min_size=2, max_size=4),
    offsets=hst.lists(hst.floats(0, 5), min_size=4, max_size=4),
    preempt=hst.booleans(),
)
def test_simulation_converges_to_one_master(
    prios: list[int], offsets: list[float], preempt: bool
) -> None:
    addrs = [IPv4Address(f"192.0.2.{20 + i}") for i in range(len(prios))]
    net = Net(
        [cfg(priority=p, address=a, preempt=preempt) for p, a in zip(prios, addrs, strict=True)]
    )
    order = sorted(zip(offsets, addrs, strict=False))
    for t, addr in order:
        net.run_until(t)
        net.start(addr)
    net.run_until(60.0)
    assert len(net.masters()) == 1
    if preempt:
        # Highest priority wins; among equals the first master stays (a BACKUP accepts an
        # equal-priority master, the address tie-break only settles two masters).
        assert net.nodes[net.masters()[0]].priority == max(prios)


# --------------------------------------------------------------------------- invariants

ADDRS = [LOWER_IP, ME, HIGHER_IP]
events_st = hst.one_of(
    hst.just(Startup()),
    hst.just(Shutdown()),
    hst.just(Tick()),
    hst.builds(
        AdvertReceived,
        hst.integers(0, 255),
        hst.sampled_from(ADDRS),
        hst.sampled_from([0.01, 0.1, 1.0, 2.0]),
    ),
    hst.builds(PriorityChanged, hst.integers(-300, 300)),
    hst.builds(FaultSet, hst.sampled_from(["eth0", "chk"])),
    hst.builds(FaultCleared, hst.sampled_from(["eth0", "chk"])),
    hst.just(ForceMaster()),
    hst.just(ForceBackup()),
)
configs_st = hst.builds(
    FsmConfig,
    vrid=hst.just(51),
    address=hst.just(ME),
    priority=hst.integers(1, 255),
    advert_int=hst.sampled_from([0.01, 0.1, 1.0, 3.0]),
    version=hst.sampled_from([2, 3]),
    initial_state=hst.sampled_from([State.MASTER, State.BACKUP]),
    preempt=hst.booleans(),
    preempt_delay=hst.sampled_from([0.0, 5.0]),
    higher_prio_send_advert=hst.booleans(),
    lower_prio_no_advert=hst.booleans(),
    garp_lower_prio=hst.booleans(),
    sync_group=hst.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    c=configs_st,
    script=hst.lists(hst.tuples(hst.floats(0, 5), events_st, hst.booleans()), max_size=40),
)
def test_invariants(c: FsmConfig, script: list[tuple[float, Event, bool]]) -> None:
    st = initial_state(c)
    now = 0.0
    for dt, ev, at_deadline in script:
        nd = next_deadline(st)
        if isinstance(ev, Tick) and at_deadline and nd is not None:
            now = max(now, nd)  # the loop wakes exactly at the deadline
        else:
            now += dt
        # Like the event loop: timers that are due fire before the event is handled.
        while (nd := next_deadline(st)) is not None and nd <= now:
            before = st
            st, acts = step(st, Tick(), now)
            check_invariants(before, st, acts, now, Tick())
        before = st
        st, acts = step(st, ev, now)
        check_invariants(before, st, acts, now, ev)


def check_invariants(
    before: InstanceState, st: InstanceState, acts: tuple[Action, ...], now: float, ev: Event
) -> None:
    kinds = [type(a) for a in acts]
    # Never add and remove VIPs in one step; VIPs follow MASTER exactly.
    assert not (AddVips in kinds and DelVips in kinds)
    entered = before.state is not State.MASTER and st.state is State.MASTER
    left = before.state is State.MASTER and st.state is not State.MASTER
    assert (AddVips in kinds) == entered
    assert (DelVips in kinds) == left
    # Adverts only from a MASTER (or one leaving MASTER in this step).
    for a in acts:
        if isinstance(a, SendAdvert):
            assert State.MASTER in (before.state, st.state)
            assert a.priority == 0 or 1 <= a.priority <= 255
            if a.priority == 0:
                assert left
    # At most one notify, and it names the new state.
    notes = [a for a in acts if isinstance(a, Notify)]
    assert len(notes) <= 1
    if notes:
        assert notes[0].state is st.state
    # Timers belong to states, and none is in the past after the step.
    if st.state is State.MASTER:
        assert st.advert_at is not None and st.master_down_at is None
    elif st.state is State.BACKUP:
        assert st.master_down_at is not None and st.advert_at is None
    else:
        assert next_deadline(st) is None
    nd = next_deadline(st)
    if nd is not None:
        assert nd >= now
        if isinstance(ev, Tick):
            assert nd > now  # a Tick fires everything that is due
    # Faults and FAULT agree once started.
    if st.state in (State.BACKUP, State.MASTER):
        assert not st.faults
    if st.state is State.FAULT:
        assert st.faults
    assert 1 <= st.priority <= 255
    if st.base_priority != 255:
        assert st.priority <= 254 or st.priority == st.base_priority


def test_invariants_hold_on_a_fixed_example() -> None:
    """Sanity check that check_invariants itself can fail."""
    st = _master()
    bad = replace(st, state=State.BACKUP)
    with pytest.raises(AssertionError):
        check_invariants(st, bad, (), 4.0, Tick())


# --------------------------------------------------------------------------- sync-group gate


def test_sync_member_asks_instead_of_becoming_master() -> None:
    from pykeepalived.vrrp.fsm import RequestMaster

    st = started(cfg(sync_group=True))
    st, acts = step(st, Tick(), MDI_100)
    assert st.state is State.BACKUP and st.want_master
    assert acts == (RequestMaster(),)
    # keepalived re-checks after one interval plus the minimum skew (1/256 s for v2).
    assert next_deadline(st) == pytest.approx(MDI_100 + 1 + 1 / 256)
    # Hearing a master again withdraws the wish.
    heard, _ = step(st, AdvertReceived(110, HIGHER_IP), MDI_100 + 0.5)
    assert not heard.want_master
    # The group answers with ForceMaster.
    st, acts = step(st, ForceMaster(), MDI_100 + 0.1)
    assert st.state is State.MASTER and acts == BECOME_MASTER


def test_sync_owner_asks_at_startup() -> None:
    from pykeepalived.vrrp.fsm import RequestMaster

    c = cfg(priority=255, initial_state=State.MASTER, sync_group=True)
    st, acts = step(initial_state(c), Startup(), 0.0)
    assert st.state is State.BACKUP and st.want_master
    assert acts == (Notify(State.BACKUP, 255), RequestMaster())


def test_force_backup_withdraws_a_pending_wish() -> None:
    st = started(cfg(sync_group=True))
    st, _ = step(st, Tick(), MDI_100)
    assert st.want_master
    st, acts = step(st, ForceBackup(), MDI_100 + 0.1)
    assert st.state is State.BACKUP and not st.want_master and acts == ()
