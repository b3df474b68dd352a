"""Which keepalived log line a received advert earns, and whether it runs
notify_master_rx_lower_pri: a pure choice from the FSM state before the advert.

Kept out of the engine so it is tested without sockets (tests/unit/test_vrrp_rxlog.py); the
texts are keepalived 2.2.7's (vrrp.c vrrp_state_backup / vrrp_state_master_rx).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.vrrp import fsm

IPAddr = IPv4Address | IPv6Address


@dataclass(frozen=True)
class RxNote:
    level: int
    fmt: str  # %-format; the instance name is the first argument
    args: tuple[object, ...]
    notify_lower: bool = False  # a MASTER heard a lower priority: notify_master_rx_lower_pri


def rx_note(st: fsm.InstanceState, src: IPAddr, prio: int) -> RxNote | None:
    ours = st.priority
    if st.state is fsm.State.BACKUP:
        if prio == 0:
            return RxNote(logging.DEBUG, "(%s) Backup received priority 0 advertisement", ())
        if prio < ours and st.cfg.preempt:
            return RxNote(logging.INFO, "(%s) received lower priority (%d) advert from %s - "
                          "discarding", (prio, src))
        return None
    if st.state is not fsm.State.MASTER or not prio:
        return None
    cmp = fsm.compare_address(src, st.cfg.address)
    if prio > ours or (prio == ours and cmp > 0):
        return RxNote(logging.INFO, "(%s) Master received advert from %s with higher "
                      "priority %d, ours %d", (src, prio, ours))
    if prio < ours or (prio == ours and cmp < 0):
        if st.cfg.lower_prio_no_advert:
            return RxNote(logging.NOTSET, "", (), notify_lower=True)
        return RxNote(logging.INFO, "(%s) Received advert from %s with lower priority %d, "
                      "ours %d, forcing new election", (src, prio, ours), notify_lower=True)
    return None
