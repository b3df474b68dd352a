"""The failure scenarios of issue 7, as functions over a running Lab (tests and bench share
them). Each one acts, waits (bounded) for the system to settle, and returns what the client
saw; the caller asserts bounds (tests) or tabulates them (bench/e2e.py).

Every scenario starts from and returns to the baseline: d1 MASTER holding the VIP, both
directors' IPVS tables complete and equal — except ``crash_master``, which leaves d1 dead for
``master_returns``.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field

from e2e.harness import (
    ADDRS,
    DIRECTORS,
    MASTER_DOWN,
    RS_WEIGHTS,
    Lab,
    Sample,
    counts,
    detect_bound,
    failure_span,
    outage,
    wait_for,
    wanted,
    window,
)


@dataclass
class Result:
    """What one scenario measured (seconds) plus the evidence for assertion messages."""

    name: str
    outage: float = 0.0  # client-visible: longest time without a successful answer
    values: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    tables: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        vals = " ".join(f"{k}={v:.2f}" for k, v in self.values.items())
        return (f"{self.name}: outage={self.outage:.2f}s {vals} counts={self.counts} "
                f"tables={self.tables} {'; '.join(self.notes)}")  # fmt: skip


def tables_equal(lab: Lab, timeout: float = 10.0) -> dict[str, list[str]]:
    """Wait (bounded) until both directors' IPVS tables are equal; return them."""

    def same() -> bool:
        return sorted(lab.ipvs("d1")) == sorted(lab.ipvs("d2"))

    try:
        wait_for(same, timeout, "equal IPVS tables on d1 and d2", 0.2)
    finally:
        tables = {d: lab.ipvs(d) for d in DIRECTORS}
    return tables


def baseline(lab: Lab, rs: tuple[str, ...] = ("rs1", "rs2"), timeout: float = 40) -> None:
    """d1 alone holds the VIP and both tables hold RS with the configured weights."""
    lab.wait_master("d1", timeout)
    for d in DIRECTORS:
        lab.wait_dests(d, wanted(rs), timeout)


def _settle_client(lab: Lab, seconds: float) -> list[Sample]:
    c = lab.client()
    try:
        c.wait_ok(5, 20)
        time.sleep(seconds)
    finally:
        samples = c.stop()
    return samples


def steady(lab: Lab, seconds: float = 3.0) -> Result:
    """Scenario 1: both real servers answer, in the wrr weights' proportion (1:2)."""
    s = _settle_client(lab, seconds)
    r = Result("steady", outage=outage(s), counts=counts(s))
    n1, n2 = r.counts.get("rs1", 0), r.counts.get("rs2", 0)
    r.values["ratio"] = n2 / n1 if n1 else float("inf")
    r.tables = tables_equal(lab)
    return r


def rs_down_up(lab: Lab, rs: str = "rs1") -> Result:
    """Scenario 2: the real server's HTTP service stops (the port refuses connections): the
    checkers drop it from IPVS on both directors, so the client's failures stop; it comes back
    and gets requests again."""
    bound = detect_bound(lab.config_text("d1"), lab.impl)
    rest = {n: w for n, w in RS_WEIGHTS.items() if n != rs}
    c = lab.client()
    try:
        c.wait_ok(10, 20)
        t_stop = lab.stop_rs(rs)
        t_gone = max(lab.wait_dests(d, wanted(tuple(rest)), bound) for d in DIRECTORS)
        time.sleep(1.0)  # no failures may follow the removal
        t_start = time.monotonic()
        lab.start_rs(rs)
        lab.wait_rs_listening(rs)
        t_back = c.wait_ok(1, bound, rs=rs)
        back_tables = max(lab.wait_dests(d, wanted(tuple(RS_WEIGHTS)), bound) for d in DIRECTORS)
        time.sleep(0.5)
    finally:
        s = c.stop()
    after = window(s, t_stop)
    r = Result("rs_down_up", outage=failure_span(after), counts=counts(after))
    r.values.update(
        removed_after=t_gone - t_stop,
        readded_after=t_back - t_start,
        tables_after=back_tables - t_start,
        bound=bound,
        errors_after_removal=float(sum(1 for x in window(s, t_gone + 0.6, t_start) if not x.ok)),
        rs_answers_after_removal=float(
            sum(1 for x in window(s, t_gone + 0.6, t_start) if x.rs == rs)
        ),
    )
    r.tables = tables_equal(lab)
    return r


def crash_master(lab: Lab) -> Result:
    """Scenario 3: the MASTER director dies (SIGKILL of the daemon, link down): the BACKUP
    takes the VIP within the master-down interval and holds the same IPVS table."""
    before = sorted(lab.ipvs("d1"))
    c = lab.client()
    try:
        c.wait_ok(10, 20)
        t_kill = lab.crash_director("d1")
        t_vip = lab.wait_master("d2", MASTER_DOWN + 10)
        t_ok = c.wait_ok(len([x for x in c.samples() if x.ok]) + 5, 10)
        time.sleep(0.5)
    finally:
        s = c.stop()
    w = window(s, t_kill - 0.3)
    r = Result("crash_master", outage=outage(w), counts=counts(window(s, t_kill)))
    r.values.update(vip_moved_after=t_vip - t_kill, served_after=t_ok - t_kill,
                    master_down=MASTER_DOWN)  # fmt: skip
    r.tables = {"d1 (before)": before, "d2": sorted(lab.ipvs("d2"))}
    return r


def master_returns(lab: Lab) -> Result:
    """Scenario 4: the dead MASTER comes back (fresh kernel state) and preempts (the LVS-DR
    configs have no nopreempt): the client sees a short outage at most."""
    c = lab.client()
    try:
        c.wait_ok(10, 20)
        t_start = time.monotonic()
        lab.revive_director("d1")
        t_vip = lab.wait_master("d1", 40)
        lab.wait_dests("d1", wanted(("rs1", "rs2")), 20)
        n = len([x for x in c.samples() if x.ok])
        c.wait_ok(n + 10, 10)
        time.sleep(0.5)
    finally:
        s = c.stop()
    w = window(s, t_start)
    r = Result("master_returns", outage=outage(w), counts=counts(w))
    r.values["preempted_after"] = t_vip - t_start
    r.tables = tables_equal(lab)
    return r


def graceful_stop(lab: Lab, restart: bool = True) -> Result:
    """Scenario 5: SIGTERM to the MASTER (systemctl stop): it sends priority 0, the BACKUP
    takes over after its skew time, the client barely notices. With RESTART, d1 is started
    again afterwards and the baseline restored (that preemption is measured separately as
    ``restart_outage``)."""
    c = lab.client()
    try:
        c.wait_ok(10, 20)
        t_term = lab.signal_director("d1", signal.SIGTERM)
        t_vip = lab.wait_master("d2", MASTER_DOWN + 10)
        proc = lab.directors["d1"].proc
        assert proc is not None
        wait_for(lambda: not proc.alive(), 20, "d1 to exit after SIGTERM")
        t_exit = time.monotonic()
        n = len([x for x in c.samples() if x.ok])
        c.wait_ok(n + 10, 10)
        time.sleep(0.5)
        t_restart = time.monotonic()
        if restart:
            lab.start_director("d1")
            baseline(lab)
            n = len([x for x in c.samples() if x.ok])
            c.wait_ok(n + 10, 10)
            time.sleep(0.5)
    finally:
        s = c.stop()
    w = window(s, t_term - 0.3, t_restart)
    r = Result("graceful_stop", outage=outage(w), counts=counts(window(s, t_term, t_restart)))
    r.values.update(vip_moved_after=t_vip - t_term, exited_after=t_exit - t_term)
    if restart:
        r.values["restart_outage"] = outage(window(s, t_restart))
        r.tables = tables_equal(lab)
    return r


def reload_add_rs(lab: Lab, rs: str = "rs3", weight: int = 1) -> Result:
    """Scenario 6: both directors reload (SIGHUP) with RS added: it gets traffic, no outage,
    the VIP stays where it is."""
    c = lab.client()
    try:
        c.wait_ok(10, 20)
        t_hup = time.monotonic()
        lab.reload_directors([(ADDRS[rs], weight)])
        want = {**wanted(("rs1", "rs2")), ADDRS[rs]: weight}
        t_tab = max(lab.wait_dests(d, want, 30) for d in DIRECTORS)
        t_rs = c.wait_ok(3, 10, rs=rs)
        time.sleep(1.0)
    finally:
        s = c.stop()
    w = window(s, t_hup - 0.3)
    r = Result("reload_add_rs", outage=outage(w), counts=counts(window(s, t_hup)))
    r.values.update(table_after=t_tab - t_hup, rs_answers_after=t_rs - t_hup)
    r.notes.append(f"vip holders {lab.vip_holders()}")
    r.tables = tables_equal(lab)
    return r
