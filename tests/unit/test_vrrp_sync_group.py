"""vrrp_sync_group: members go MASTER together, follow each other to BACKUP and FAULT."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from pykeepalived.vrrp.fsm import (
    Action,
    AddVips,
    AdvertReceived,
    DelVips,
    Event,
    FaultCleared,
    FaultSet,
    FsmConfig,
    Notify,
    RequestMaster,
    SendAdvert,
    Shutdown,
    Startup,
    State,
    Tick,
    initial_state,
    next_deadline,
    step,
)
from pykeepalived.vrrp.sync_group import (
    GROUP_FAULT,
    GroupNotify,
    SyncGroup,
    reconcile,
)

PEER = IPv4Address("192.0.2.9")
MDI_100 = 3 + 156 / 256  # v2, priority 100, advert_int 1


class Host:
    """One node's VG1 = {VI_1, VI_2}, driven like the event loop: member step, then the group
    reconciled until it has nothing more to say."""

    def __init__(self, *, prio2: int = 100, sync: bool = True) -> None:
        self.members = {
            "VI_1": initial_state(
                FsmConfig(vrid=1, address=IPv4Address("192.0.2.2"), sync_group=sync)
            ),
            "VI_2": initial_state(
                FsmConfig(
                    vrid=2, address=IPv4Address("198.51.100.2"), priority=prio2, sync_group=sync
                )
            ),
        }
        self.sync = sync
        self.group = SyncGroup("VG1", ("VI_1", "VI_2"))
        self.actions: list[tuple[str, Action]] = []
        self.notes: list[GroupNotify] = []

    def send(self, name: str, ev: Event, now: float) -> None:
        st, acts = step(self.members[name], ev, now)
        self.members[name] = st
        self.actions += [(name, a) for a in acts]
        if not self.sync:
            return
        for _ in range(5):
            self.group, events, notes = reconcile(self.group, self.members)
            self.notes += notes
            if not events:
                return
            for member, mev in events:
                st, acts = step(self.members[member], mev, now)
                self.members[member] = st
                self.actions += [(member, a) for a in acts]
        raise AssertionError("sync group did not settle")

    def start(self, now: float = 0.0) -> None:
        for name in self.members:
            self.send(name, Startup(), now)

    def tick_until(self, t_end: float) -> float:
        """Fire due timers up to t_end; return the last time something fired."""
        last = 0.0
        while True:
            due = [
                (d, n)
                for n, s in self.members.items()
                if (d := next_deadline(s)) is not None and d <= t_end
            ]
            if not due:
                return last
            last, name = min(due)
            self.send(name, Tick(), last)

    def states(self) -> dict[str, State]:
        return {n: s.state for n, s in self.members.items()}


def test_startup_group_is_backup() -> None:
    h = Host()
    h.start()
    assert h.states() == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    assert h.group.state is State.BACKUP
    assert h.notes == [GroupNotify("VG1", State.BACKUP)]


def test_members_go_master_together_when_all_want_it() -> None:
    h = Host(prio2=90)  # VI_2's timer fires later: 3 + 166/256
    h.start()
    h.tick_until(MDI_100)
    # VI_1 wants MASTER but VI_2 does not yet: both stay BACKUP.
    assert h.states() == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    assert ("VI_1", RequestMaster()) in h.actions
    assert h.group.state is State.BACKUP
    h.tick_until(3 + 166 / 256)
    assert h.states() == {"VI_1": State.MASTER, "VI_2": State.MASTER}
    assert h.group.state is State.MASTER
    assert GroupNotify("VG1", State.MASTER) in h.notes
    assert ("VI_1", AddVips()) in h.actions and ("VI_2", AddVips()) in h.actions


def test_member_hearing_a_master_blocks_the_group() -> None:
    h = Host()
    h.start()
    # VI_2 keeps hearing a higher-priority master: it never wants MASTER, so VI_1 never goes.
    for t in range(12):
        h.tick_until(float(t))
        h.send("VI_2", AdvertReceived(120, PEER), float(t))
    assert h.states() == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    assert h.members["VI_1"].want_master


def _all_master() -> Host:
    h = Host()
    h.start()
    h.tick_until(MDI_100)
    assert h.group.state is State.MASTER
    h.actions.clear()
    h.notes.clear()
    return h


def test_one_member_to_backup_takes_the_group_to_backup() -> None:
    h = _all_master()
    h.send("VI_1", AdvertReceived(150, PEER), 4.0)
    assert h.states() == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    assert h.group.state is State.BACKUP
    assert ("VI_2", DelVips()) in h.actions
    assert ("VI_2", Notify(State.BACKUP, 100)) in h.actions
    assert h.notes == [GroupNotify("VG1", State.BACKUP)]
    # The follower waits a full Master_Down_Interval again.
    assert next_deadline(h.members["VI_2"]) == pytest.approx(4.0 + MDI_100)


def test_one_member_fault_faults_the_group_and_recovers() -> None:
    h = _all_master()
    h.send("VI_1", FaultSet("eth0"), 5.0)
    assert h.states() == {"VI_1": State.FAULT, "VI_2": State.FAULT}
    assert h.group.state is State.FAULT
    # Both were MASTER: both give up with priority 0 and drop their VIPs.
    for name in ("VI_1", "VI_2"):
        assert (name, SendAdvert(0)) in h.actions
        assert (name, DelVips()) in h.actions
    assert GROUP_FAULT in h.members["VI_2"].faults
    assert h.notes == [GroupNotify("VG1", State.FAULT)]

    h.send("VI_1", FaultCleared("eth0"), 8.0)
    assert h.states() == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    assert not h.members["VI_2"].faults
    assert h.group.state is State.BACKUP
    h.tick_until(8.0 + MDI_100)
    assert h.group.state is State.MASTER


def test_group_stays_faulted_while_any_member_has_its_own_fault() -> None:
    h = _all_master()
    h.send("VI_1", FaultSet("eth0"), 5.0)
    h.send("VI_2", FaultSet("eth1"), 5.5)
    h.send("VI_1", FaultCleared("eth0"), 6.0)
    assert h.states() == {"VI_1": State.FAULT, "VI_2": State.FAULT}
    assert h.members["VI_1"].faults == frozenset({GROUP_FAULT})
    h.send("VI_2", FaultCleared("eth1"), 7.0)
    assert h.states() == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}


def test_fault_at_startup() -> None:
    h = Host()
    h.members["VI_2"], _ = step(h.members["VI_2"], FaultSet("eth1"), 0.0)
    h.start()
    assert h.states() == {"VI_1": State.FAULT, "VI_2": State.FAULT}
    assert h.group.state is State.FAULT


def test_reconcile_ignores_members_not_started_or_stopping() -> None:
    h = Host()
    group, events, notes = reconcile(h.group, h.members)
    assert (group, events, notes) == (h.group, [], [])
    h = _all_master()
    h.send("VI_1", Shutdown(), 9.0)
    assert h.states()["VI_2"] is State.MASTER  # shutdown is per instance; the daemon stops all


def test_without_gate_members_would_split() -> None:
    """Control: the same timers without the group leave VI_1 MASTER alone (so the tests above
    really exercise the group)."""
    h = Host(prio2=90, sync=False)
    h.start()
    h.tick_until(MDI_100)
    assert h.states() == {"VI_1": State.MASTER, "VI_2": State.BACKUP}
