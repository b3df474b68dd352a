"""Reload as a pure plan (vrrp/reload_plan.py) and the one identity rule (config/identity.py).

Configs are real files through the real loader; the runtime is the pure FSM driven by a fake
clock. The matching keys are keepalived's (vrrp.c vrrp_exist: VRID, family, interface,
unicast/multicast, unicast source or VMAC; never the name or the file position).
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.host import HostInfo
from pykeepalived.config.identity import instance_key, match
from pykeepalived.config.model import Config
from pykeepalived.vrrp import fsm
from pykeepalived.vrrp.engine import fsm_config
from pykeepalived.vrrp.reload_plan import (
    AddInstance,
    KeepInstance,
    RemoveInstance,
    Running,
    SyncAddresses,
    carry_state,
    plan,
)
from pykeepalived.vrrp.tracking import TrackStatus, carried_status, tracking_events

BASE = textwrap.dedent("""
    vrrp_script chk {
        script "/bin/true"
        interval 1
        weight 0
    }
    vrrp_instance VI_1 {
        state MASTER
        interface eth0
        virtual_router_id 51
        priority 150
        advert_int 1
        virtual_ipaddress {
            192.0.2.100/24
            192.0.2.101/24
        }
    }
    vrrp_instance VI_2 {
        state BACKUP
        interface eth0
        virtual_router_id 52
        priority 100
        advert_int 1
        track_script {
            chk
        }
        virtual_ipaddress {
            192.0.2.200/24
        }
    }
""")


def load(tmp: Path, text: str, name: str = "k.conf") -> Config:
    p = tmp / name
    p.write_text(text)
    res = load_config(str(p), LoadOptions(host=HostInfo(frozenset({"eth0", "eth1"})),
                                          check_scripts=False))
    assert not res.diagnostics.errors, [d.format() for d in res.diagnostics.errors]
    return res.config


def running(cfg: Config, master: tuple[str, ...] = ("VI_1",)) -> dict[str, Running]:
    return {i.name: Running(i.name, i, fsm.State.MASTER if i.name in master else
                            fsm.State.BACKUP, i.name in master) for i in cfg.vrrp_instances}


def test_comment_and_shift_compare_equal_and_plan_touches_nothing(tmp_path: Path) -> None:
    old = load(tmp_path, BASE)
    new = load(tmp_path, "# a comment\n\n! another\n" + BASE.replace("    }\n", "    }  # x\n"),
               "k2.conf")
    assert old.vrrp_instances[0].loc != new.vrrp_instances[0].loc  # it did move
    assert old.vrrp_instances == new.vrrp_instances  # a plain comparison again
    p = plan(old, new, running(old))
    assert p.untouched
    assert [type(a) for a in p.actions] == [KeepInstance, KeepInstance]
    assert not p.of(SyncAddresses)


def test_reordered_and_renamed_instances_keep_their_runtime(tmp_path: Path) -> None:
    old = load(tmp_path, BASE)
    # VI_2 first, VI_1 renamed: keepalived matches by VRID/family/interface, not the name
    a, b = BASE.index("vrrp_instance VI_1"), BASE.index("vrrp_instance VI_2")
    text = BASE[:a] + BASE[b:] + BASE[a:b].replace("VI_1", "WEB")
    new = load(tmp_path, text, "k2.conf")
    p = plan(old, new, running(old))
    keeps = p.of(KeepInstance)
    assert [(k.old_name, k.new.name) for k in keeps] == [("VI_2", "VI_2"), ("VI_1", "WEB")]
    assert not p.of(AddInstance) and not p.of(RemoveInstance) and not p.of(SyncAddresses)


def test_changed_vip_on_master_is_a_minimal_diff(tmp_path: Path) -> None:
    old = load(tmp_path, BASE)
    new = load(tmp_path, BASE.replace("192.0.2.101/24", "192.0.2.102/24"), "k2.conf")
    p = plan(old, new, running(old))
    (sync,) = p.of(SyncAddresses)
    assert sync.name == "VI_1"
    assert [str(v.address) for v in sync.del_vips] == ["192.0.2.101/24"]
    assert [str(v.address) for v in sync.add_vips] == ["192.0.2.102/24"]
    assert sync.announce
    # the same change on a BACKUP: nothing on the interface to change
    p2 = plan(old, new, running(old, master=()))
    assert not p2.of(SyncAddresses)
    assert p2.of(KeepInstance)[0].changed


def test_removed_and_added_instances(tmp_path: Path) -> None:
    old = load(tmp_path, BASE)
    a, b = BASE.index("vrrp_instance VI_2"), len(BASE)
    new_text = BASE[:a] + BASE[a:b].replace("virtual_router_id 52", "virtual_router_id 53")
    new = load(tmp_path, new_text, "k2.conf")
    p = plan(old, new, running(old))
    assert [type(x) for x in p.actions] == [KeepInstance, RemoveInstance, AddInstance]
    assert p.of(RemoveInstance)[0].name == "VI_2"  # type: ignore[attr-defined]
    assert p.of(AddInstance)[0].inst.virtual_router_id == 53  # type: ignore[attr-defined]


@pytest.mark.parametrize("edit", [
    ("interface eth0\n    virtual_router_id 51", "interface eth1\n    virtual_router_id 51"),
    ("    advert_int 1\n    virtual_ipaddress {\n        192.0.2.100",
     "    advert_int 1\n    use_vmac\n    virtual_ipaddress {\n        192.0.2.100"),
])
def test_identity_keys_are_keepalived_s(tmp_path: Path, edit: tuple[str, str]) -> None:
    """A different interface or VMAC use is another instance (removed + added)."""
    old = load(tmp_path, BASE)
    assert edit[0] in BASE
    new = load(tmp_path, BASE.replace(edit[0], edit[1]), "k2.conf")
    assert instance_key(old.vrrp_instances[0]) != instance_key(new.vrrp_instances[0])
    p = plan(old, new, running(old))
    assert p.of(RemoveInstance) and p.of(AddInstance)


def test_match_pairs_by_key_and_reports_both_sides() -> None:
    pairs = match([1, 2, 3], [3, 4, 1], key=lambda x: x)
    assert pairs == [(3, 3), (None, 4), (1, 1), (2, None)]


def fsm_at_fault(cfg: fsm.FsmConfig) -> fsm.InstanceState:
    st = fsm.initial_state(cfg)
    st, _ = fsm.step(st, fsm.FaultSet("script:chk"), 0.0)
    st, _ = fsm.step(st, fsm.Startup(), 0.0)
    assert st.state is fsm.State.FAULT
    return st


def test_faulted_instance_stays_fault_across_reload_fake_clock(tmp_path: Path) -> None:
    """The tracked script failed (weight 0): VI_2 is FAULT. A comment-only reload carries
    the failed result, re-applying tracking feeds nothing, and no Notify comes out over the
    next 10 s of fake time (old code: the result reset to OK, FaultCleared, BACKUP)."""
    from ipaddress import IPv4Address

    old = load(tmp_path, BASE)
    new = load(tmp_path, "# edited\n" + BASE, "k2.conf")
    inst = old.instance("VI_2")
    assert inst is not None
    src = IPv4Address("192.0.2.11")
    st = fsm_at_fault(fsm_config(inst, src))
    status = TrackStatus(scripts={"chk": False})
    prio, faults, evs = tracking_events(inst, old, status, None, frozenset())
    assert faults == {"script:chk"} and evs == [fsm.FaultSet("script:chk")]

    p = plan(old, new, running(old, master=()))
    keep = next(a for a in p.of(KeepInstance) if a.old_name == "VI_2")
    assert isinstance(keep, KeepInstance)
    st2 = carry_state(st, fsm_config(keep.new, src))
    status2 = carried_status(old, new, status)
    assert status2.scripts == {"chk": False}
    _, _, evs2 = tracking_events(keep.new, new, status2, prio, faults)
    assert evs2 == []
    for e in evs2:
        st2, _ = fsm.step(st2, e, 1.0)
    now = 1.0
    while now < 11.0:
        st2, acts = fsm.step(st2, fsm.Tick(), now)
        assert not any(isinstance(a, fsm.Notify) for a in acts)
        now += 0.5
    assert st2.state is fsm.State.FAULT and st2.faults == {"script:chk"}


def test_changed_script_command_starts_from_initial_result(tmp_path: Path) -> None:
    old = load(tmp_path, BASE)
    new = load(tmp_path, BASE.replace('"/bin/true"', '"/bin/false"'), "k2.conf")
    assert carried_status(old, new, TrackStatus(scripts={"chk": False})).scripts == {}
    # an interval change keeps the result (the command is the same)
    new2 = load(tmp_path, BASE.replace("interval 1", "interval 2"), "k3.conf")
    assert carried_status(old, new2, TrackStatus(scripts={"chk": False})).scripts == \
        {"chk": False}


def test_changed_weight_moves_priority_once(tmp_path: Path) -> None:
    """weight 0 -> -20 on a failed script: the FAULT clears and priority drops by 20 (the
    keepalived rule), from the carried result; state stays otherwise."""
    old = load(tmp_path, BASE)
    new = load(tmp_path, BASE.replace("weight 0", "weight -20"), "k2.conf")
    status = carried_status(old, new, TrackStatus(scripts={"chk": False}))
    inst = new.instance("VI_2")
    assert inst is not None
    prio, faults, evs = tracking_events(inst, new, status, 100, frozenset({"script:chk"}))
    assert (prio, faults) == (80, frozenset())
    assert evs == [fsm.PriorityChanged(80), fsm.FaultCleared("script:chk")]


def test_carry_state_keeps_state_and_takes_new_priority() -> None:
    from ipaddress import IPv4Address

    cfg = fsm.FsmConfig(vrid=51, address=IPv4Address("192.0.2.11"), priority=150)
    st, _ = fsm.step(fsm.initial_state(cfg), fsm.Startup(), 0.0)
    st, _ = fsm.step(st, fsm.Tick(), 10.0)
    assert st.state is fsm.State.MASTER
    same = carry_state(st, cfg)
    assert same == st
    moved = carry_state(st, replace(cfg, priority=120))
    assert moved.state is fsm.State.MASTER and moved.advert_at == st.advert_at
    assert (moved.base_priority, moved.priority) == (120, 120)
