"""vrrp_sync_group logic as a pure function over the members' FSM states.

keepalived semantics (keywords.md §7, vrrp_sync.c): the members of a group move together.

* MASTER only together: a member whose Master_Down_Timer fires does not become MASTER on its
  own; it asks (fsm.RequestMaster, ``want_master``) and the group switches every member to
  MASTER once all of them want it ("prefer backup state to avoid thrashing").
* One member dropping from MASTER to BACKUP takes the others out of MASTER.
* One member in FAULT puts every other member in FAULT; they leave FAULT when no member has a
  fault of its own any more.

``reconcile`` is level-triggered: it looks at the current member states (not at what just
happened) and returns the events to feed to members. The event loop calls it after every member
step and feeds the events back until it returns none; that is a fixpoint after at most two
rounds because every event it emits makes its own condition false.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from pykeepalived.vrrp.fsm import (
    Event,
    FaultCleared,
    FaultSet,
    ForceBackup,
    ForceMaster,
    InstanceState,
    State,
)

GROUP_FAULT = "sync_group"  # fault reason the group puts on members it drags into FAULT


@dataclass(frozen=True)
class SyncGroup:
    """A vrrp_sync_group: its name, member instance names, and the group's own state."""

    name: str
    members: tuple[str, ...]
    state: State = State.INIT


@dataclass(frozen=True)
class GroupNotify:
    """Run the group's notify scripts (notify_master/backup/fault; 'GROUP name STATE')."""

    group: str
    state: State


def _own_fault(st: InstanceState) -> bool:
    """A fault the member has by itself, not one the group imposed."""
    return any(reason != GROUP_FAULT for reason in st.faults)


def _wants_master(st: InstanceState) -> bool:
    return st.state is State.MASTER or (st.state is State.BACKUP and st.want_master)


def reconcile(
    group: SyncGroup, members: Mapping[str, InstanceState]
) -> tuple[SyncGroup, list[tuple[str, Event]], list[GroupNotify]]:
    """Return the new group state, events for members (in member order) and group notifies."""
    states = [members[name] for name in group.members]
    if any(st.state in (State.INIT, State.STOP) for st in states):
        return group, [], []  # not started yet, or shutting down: members act alone

    events: list[tuple[str, Event]] = []
    notes: list[GroupNotify] = []

    def move(new: State) -> None:
        nonlocal group
        if group.state is not new:
            group = replace(group, state=new)
            notes.append(GroupNotify(group.name, new))

    if any(_own_fault(st) for st in states):
        for name, st in zip(group.members, states, strict=True):
            if not _own_fault(st) and GROUP_FAULT not in st.faults:
                events.append((name, FaultSet(GROUP_FAULT)))
        move(State.FAULT)
        return group, events, notes

    for name, st in zip(group.members, states, strict=True):
        if GROUP_FAULT in st.faults:
            events.append((name, FaultCleared(GROUP_FAULT)))
    if events:
        move(State.BACKUP)
        return group, events, notes  # members come back up first; the next round decides

    if group.state is State.MASTER:
        if all(st.state is State.MASTER for st in states):
            return group, [], notes
        for name, st in zip(group.members, states, strict=True):
            if st.state is State.MASTER:
                events.append((name, ForceBackup()))
        move(State.BACKUP)
        return group, events, notes

    if all(_wants_master(st) for st in states):
        for name, st in zip(group.members, states, strict=True):
            if st.state is not State.MASTER:
                events.append((name, ForceMaster()))
        move(State.MASTER)
        return group, events, notes

    # Not everyone wants MASTER: any member that got there is taken back (cannot normally
    # happen, because members ask first) and the group is BACKUP.
    for name, st in zip(group.members, states, strict=True):
        if st.state is State.MASTER:
            events.append((name, ForceBackup()))
    move(State.BACKUP)
    return group, events, notes
