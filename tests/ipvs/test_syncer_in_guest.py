"""The syncer against a real IPVS (inside the UML guest), with keepalived 2.2.7 as the oracle.

Health: no checkers run on either side. The checker blocks are stripped from the config
handed to keepalived (a real server without checkers is always up there), and ours gets the
same stripped config with no health reports (start state: up). Both tables are read with
``ipvsadm -S -n`` (+ thresholds), so the comparison does not rely on our netlink reader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from ipvsvm.keepalived import keepalived_table
from ipvsvm.oracle import OService, ipvsadm, parse_save, saved_table

from pykeepalived.config.load import LoadOptions, load_config
from pykeepalived.config.model import Config
from pykeepalived.ipvs.desired import DesiredTable, desired_table
from pykeepalived.ipvs.kernel import Dest, IPVSKernel, Op, Service
from pykeepalived.ipvs.syncer import IpvsSyncer

pytestmark = pytest.mark.ipvs

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path("/usr/share/doc/keepalived/samples")
CHECKERS = ("HTTP_GET", "SSL_GET", "TCP_CHECK", "SMTP_CHECK", "MISC_CHECK", "DNS_CHECK",
            "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK")  # fmt: skip

EXTRA = """
global_defs {
    router_id syncer_extra
}
virtual_server 192.0.2.50 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.21 {
        weight 2
    }
    real_server 198.51.100.22 8080 {
        weight 3
        uthreshold 100
        lthreshold 10
    }
}
virtual_server 192.0.2.51 443 {
    lb_algo sh
    sh-port
    sh-fallback
    lb_kind TUN
    persistence_timeout 30
    persistence_granularity 255.255.255.0
    protocol TCP
    real_server 198.51.100.31 443 {
        weight 1
    }
    real_server 198.51.100.32 8443 {
        weight 2
    }
}
virtual_server 192.0.2.52 53 {
    lb_algo wlc
    lb_kind NAT
    protocol UDP
    ops
    real_server 198.51.100.41 53 {
        weight 1
    }
}
virtual_server 2001:db8::50 80 {
    lb_algo lc
    lb_kind NAT
    protocol SCTP
    persistence_timeout 60
    persistence_granularity 64
    real_server 2001:db8::51 8080 {
        weight 7
    }
}
"""


def strip_checkers(text: str) -> str:
    """Drop every checker block (brace-matched), so real servers are up on both sides."""
    out: list[str] = []
    depth = 0
    for line in text.splitlines():
        words = line.split()
        if depth:
            depth += line.count("{") - line.count("}")
            continue
        if words and words[0] in CHECKERS:
            depth = line.count("{") - line.count("}")
            if "{" not in line:  # brace on the next line
                depth = 0
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def load_text(tmp_path: Path, text: str) -> Config:
    p = tmp_path / "keepalived.conf"
    p.write_text(text)
    return load_config(str(p), LoadOptions(check_interfaces=False, check_scripts=False)).config


def norm(table: dict[tuple, OService], thresholds: bool = True) -> dict[tuple, tuple]:
    """Field-by-field comparable form of an ipvsadm table (thresholds optional: keepalived's
    table is only available as ``ipvsadm -S``, which does not save them)."""
    out = {}
    for key, s in table.items():
        dests = {k: (d.fwd, d.weight, d.tun_type, d.tun_port,
                     *((d.u_thresh, d.l_thresh) if thresholds else ()))
                 for k, d in s.dests.items()}
        out[key] = (s.scheduler, s.persistent, s.netmask, s.sched_flags, s.ops, s.pe, dests)
    return out


def configs() -> list[tuple[str, str]]:
    out = [("seed-lvs-dr-master", (ROOT / "conf.d/lvs-dr-master.conf").read_text()),
           ("extra", EXTRA)]
    for name in ("sample", "fwmark", "virtual_server_group", "IPv6", "inhibit", "quorum"):
        f = SAMPLES / f"keepalived.conf.{name}"
        out.append((name, f.read_text()))
    return out


@pytest.fixture
def clean() -> object:
    ipvsadm("-C")
    yield None
    ipvsadm("-C")


def lines(d: DesiredTable) -> int:
    return len(d) + sum(len(x) for x in d.services.values())


@pytest.mark.keepalived
@pytest.mark.parametrize("name,text", configs(), ids=[n for n, _ in configs()])
def test_same_table_as_keepalived(tmp_path: Path, clean: object, name: str, text: str) -> None:
    text = strip_checkers(text)
    desired = desired_table(load_text(tmp_path, text))
    syncer = IpvsSyncer()
    rep = syncer.reconcile(desired)
    assert rep.ok, rep.errors
    assert rep.writes == lines(desired), rep
    ours = norm(saved_table(), thresholds=False)
    syncer.release()
    syncer.close()
    assert ipvsadm("-S", "-n") == ""
    dump, _log = keepalived_table(text, expect_lines=lines(desired))
    assert norm(parse_save(dump), thresholds=False) == ours, f"keepalived:\n{dump}\nours:\n{ours}"


SEED = (ROOT / "conf.d/lvs-dr-master.conf").read_text()


def test_adopts_without_touching(tmp_path: Path, clean: object) -> None:
    desired = desired_table(load_text(tmp_path, strip_checkers(EXTRA)))
    s1 = IpvsSyncer()
    s1.reconcile(desired)
    s2 = IpvsSyncer()  # a restarted daemon: same table, nothing to do
    rep = s2.reconcile(desired)
    assert rep.writes == 0 and rep.adopted == len(desired), rep
    assert rep.ops["dump_services"] == 1 and rep.ops["dump_dests"] == len(desired)


def test_reload_touches_only_the_change(tmp_path: Path, clean: object) -> None:
    cfg = load_text(tmp_path, strip_checkers(EXTRA))
    syncer = IpvsSyncer()
    syncer.reconcile(desired_table(cfg))
    with IPVSKernel() as k:
        before = k.table()
    text2 = strip_checkers(EXTRA).replace("weight 3\n", "weight 4\n", 1)
    rep = syncer.reconcile(desired_table(load_text(tmp_path, text2)))
    assert {k: n for k, n in rep.ops.items() if not k.startswith("dump")} == {"edit_dest": 1}, rep
    with IPVSKernel() as k:
        after = k.table()
    changed = [(s, d) for s in after for d in after[s] if d not in before[s]]
    assert [(d.addr, d.weight) for _, d in changed] == [("198.51.100.22", 4)]
    # drop one real server and one virtual server: exactly those go
    text3 = text2.replace("    real_server 198.51.100.21 {\n        weight 2\n    }\n", "")
    text3 = text3[: text3.index("virtual_server 192.0.2.52")] + text3[text3.index(
        "virtual_server 2001:db8::50"):]
    rep = syncer.reconcile(desired_table(load_text(tmp_path, text3)))
    writes = {k: n for k, n in rep.ops.items() if not k.startswith("dump")}
    assert writes == {"del_dest": 1, "del_service": 1}, rep


def test_external_flush_repaired(tmp_path: Path, clean: object) -> None:
    desired = desired_table(load_text(tmp_path, strip_checkers(EXTRA)))
    syncer = IpvsSyncer()
    syncer.reconcile(desired)
    want = norm(saved_table())
    ipvsadm("-C")
    rep = syncer.reconcile(desired)
    assert rep.writes == lines(desired), rep
    assert norm(saved_table()) == want
    # an external edit (weight) is repaired too
    ipvsadm("-e", "-t", "192.0.2.50:80", "-r", "198.51.100.22:8080", "-g", "-w", "9")
    rep = syncer.reconcile(desired)
    assert rep.writes == 1 and rep.ops["edit_dest"] == 1, rep
    assert norm(saved_table()) == want


def test_foreign_service_left_alone_and_release(tmp_path: Path, clean: object) -> None:
    ipvsadm("-A", "-t", "203.0.113.50:80", "-s", "rr")
    ipvsadm("-a", "-t", "203.0.113.50:80", "-r", "203.0.113.51:80", "-m")
    desired = desired_table(load_text(tmp_path, strip_checkers(SEED)))
    syncer = IpvsSyncer()
    syncer.reconcile(desired)
    table = parse_save(ipvsadm("-S", "-n"))
    assert ("tcp", "203.0.113.50", 80) in table and ("tcp", "192.0.2.100", 80) in table
    rep = syncer.release()
    assert rep.ops["del_service"] == 1, rep
    table = parse_save(ipvsadm("-S", "-n"))
    assert list(table) == [("tcp", "203.0.113.50", 80)]
    assert list(table[("tcp", "203.0.113.50", 80)].dests) == [("203.0.113.51", 80)]


def test_bad_scheduler_names_the_vs(tmp_path: Path, clean: object) -> None:
    cfg = load_text(tmp_path, strip_checkers(EXTRA))
    bad = replace(cfg.virtual_servers[0], lvs_sched="bogus")
    cfg = replace(cfg, virtual_servers=(bad, *cfg.virtual_servers[1:]))
    syncer = IpvsSyncer()
    rep = syncer.reconcile(desired_table(cfg))
    assert len(rep.errors) == 1, rep.errors
    err = rep.errors[0]
    assert "[192.0.2.50]:tcp:80" in err and re.search(r"keepalived\.conf:\d+", err), err
    assert "bogus" in err, err
    table = parse_save(ipvsadm("-S", "-n"))
    assert ("tcp", "192.0.2.50", 80) not in table
    assert len(table) == len(cfg.virtual_servers) - 1


class RecordingKernel(IPVSKernel):
    """IPVSKernel that remembers each batch it was asked to send."""

    batches: list[list[Op]]

    def write_batch(self, ops: Sequence[Op]) -> list[Exception | None]:
        self.batches = [*getattr(self, "batches", []), list(ops)]
        return super().write_batch(ops)


def test_batched_reconcile_isolates_errors_and_keeps_order(clean: object) -> None:
    """Many services in pipelined batches: a bad scheduler and a rejected real server each
    yield one error naming their service; the other services are complete; deletes go
    before adds; the op counts are those of the single-request syncer."""
    def svc(i: int, sched: str = "wrr") -> Service:
        return Service.inet("tcp", f"192.0.2.{i + 1}", 80, scheduler=sched)

    def dests(i: int, n: int = 5) -> frozenset[Dest]:
        return frozenset(Dest(f"198.51.100.{r + 1}", 9000 + i, fwd="masq") for r in range(n))

    want = {svc(i): dests(i) for i in range(60)}
    bad = svc(60, "nosuchsched")
    want[bad] = dests(60)
    # l_thresh above u_thresh: the kernel says ERANGE for this one real server only
    rejected = Dest("198.51.100.77", 9061, fwd="masq", u_thresh=1, l_thresh=5)
    want[svc(61)] = dests(61) | {rejected}
    syncer = IpvsSyncer(RecordingKernel)
    rep = syncer.reconcile(want)
    assert len(rep.errors) == 2, rep.errors
    assert "192.0.2.61" in rep.errors[0] and "ip_vs_nosuchsched" in rep.errors[0]
    assert "192.0.2.62" in rep.errors[1] and "errno 34" in rep.errors[1], rep.errors
    # as before batching: the dests of a service that failed to add are not sent
    assert rep.ops == {"dump_services": 1, "add_service": 62, "add_dest": 61 * 5 + 1}, rep
    with IPVSKernel() as k:
        table = k.table()
    assert bad not in table and len(table) == 61
    assert {d.key for d in table[svc(61)]} == {d.key for d in dests(61)}
    for i in range(60):
        assert table[svc(i)] == tuple(sorted(dests(i)))
    # replace one real server of service 5 and drop service 6: delete before add
    kernel = syncer.kernel
    assert isinstance(kernel, RecordingKernel)
    kernel.batches = []
    del want[bad], want[svc(6)]
    want[svc(61)] = dests(61)  # the rejected real server never got in: nothing to do
    new = Dest("198.51.100.50", 9005, fwd="masq")
    old = Dest("198.51.100.1", 9005, fwd="masq")
    want[svc(5)] = (want[svc(5)] - {old}) | {new}
    rep = syncer.reconcile(want)
    assert rep.ok, rep.errors
    writes = {k: n for k, n in rep.ops.items() if not k.startswith("dump")}
    assert writes == {"del_service": 1, "del_dest": 1, "add_dest": 1}, rep
    assert rep.ops["dump_dests"] == 60 and rep.adopted == 59, rep
    flat = [(op.kind, op.dest) for batch in kernel.batches for op in batch]
    assert flat == [("del_service", None), ("del_dest", old), ("add_dest", new)]
    syncer.release()
    syncer.close()
    assert ipvsadm("-S", "-n") == ""
