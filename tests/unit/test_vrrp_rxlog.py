"""The receive log line a VRRP advert earns (vrrp/rxlog.py): keepalived 2.2.7's texts and
conditions (a BACKUP discards a lower priority only with preempt; a MASTER breaks a priority
tie on the higher source address; lower_prio_no_advert keeps the notify, drops the line)."""

from __future__ import annotations

import logging
from dataclasses import replace
from ipaddress import IPv4Address

import pytest

from pykeepalived.vrrp import fsm
from pykeepalived.vrrp.rxlog import rx_note

ME = IPv4Address("192.0.2.12")
LOW, HIGH = IPv4Address("192.0.2.11"), IPv4Address("192.0.2.13")


def state(s: fsm.State, **cfg: object) -> fsm.InstanceState:
    c = fsm.FsmConfig(vrid=51, address=ME, priority=100, **cfg)  # type: ignore[arg-type]
    return replace(fsm.initial_state(c), state=s)


def text(note: object, name: str = "VI_1") -> str:
    assert note is not None
    return note.fmt % (name, *note.args)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("st", "src", "prio", "want", "notify"), [
    (fsm.State.BACKUP, LOW, 0, "(VI_1) Backup received priority 0 advertisement", False),
    (fsm.State.BACKUP, LOW, 90,
     "(VI_1) received lower priority (90) advert from 192.0.2.11 - discarding", False),
    (fsm.State.MASTER, LOW, 150,
     "(VI_1) Master received advert from 192.0.2.11 with higher priority 150, ours 100", False),
    (fsm.State.MASTER, HIGH, 100,
     "(VI_1) Master received advert from 192.0.2.13 with higher priority 100, ours 100", False),
    (fsm.State.MASTER, LOW, 100, "(VI_1) Received advert from 192.0.2.11 with lower priority "
     "100, ours 100, forcing new election", True),
    (fsm.State.MASTER, HIGH, 50, "(VI_1) Received advert from 192.0.2.13 with lower priority "
     "50, ours 100, forcing new election", True),
])
def test_lines(st: fsm.State, src: IPv4Address, prio: int, want: str, notify: bool) -> None:
    note = rx_note(state(st), src, prio)
    assert text(note) == want
    assert note is not None and note.notify_lower is notify
    assert note.level == (logging.DEBUG if prio == 0 else logging.INFO)


def test_silent_cases() -> None:
    assert rx_note(state(fsm.State.BACKUP), HIGH, 150) is None  # a better master: normal
    assert rx_note(state(fsm.State.BACKUP, preempt=False), LOW, 90) is None  # nopreempt
    assert rx_note(state(fsm.State.MASTER), LOW, 0) is None  # priority 0: the FSM's business
    assert rx_note(state(fsm.State.FAULT), LOW, 90) is None
    quiet = rx_note(state(fsm.State.MASTER, lower_prio_no_advert=True), LOW, 50)
    assert quiet is not None and quiet.fmt == "" and quiet.notify_lower
