"""The VRRP child's typed snapshot (vrrp/snapshot.py): the engine builds it, its published
form (the state file's keys: the contract `status`, dumps and /metrics read) reads back to
the same snapshot, through JSON too."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from helpers.engine import engine_rt

from pykeepalived.vrrp import fsm
from pykeepalived.vrrp.snapshot import VrrpSnapshot

INSTANCE_KEYS = {"state", "vrid", "version", "family", "interface", "source", "base_priority",
                 "effective_priority", "master_address", "master_priority", "last_advert",
                 "last_transition", "faults", "vips", "vips_set", "counters", "garp_sent",
                 "fds"}


def test_engine_snapshot_round_trips(tmp_path: Path) -> None:
    eng, rt = engine_rt(tmp_path)

    async def main() -> None:
        eng.loop = asyncio.get_running_loop()
        eng._feed(rt, fsm.Startup())
        eng._feed(rt, fsm.FaultSet("script:chk"))
        if rt.timer is not None:
            rt.timer.cancel()

    asyncio.run(main())
    rt.counters["advert_rcvd"] += 3
    snap = eng.typed_snapshot()
    inst = snap.instance("VI_1")
    assert inst is not None and inst.state == "FAULT" and inst.faults == ("script:chk",)
    assert inst.vips == ("192.0.2.100/24 dev eth0 scope global",)  # keepalived's rendering
    d = snap.to_dict()
    assert set(d) == {"instances", "groups", "scripts", "scripts_running", "loop"}
    assert snap.loop is not None
    assert set(d["instances"]["VI_1"]) == INSTANCE_KEYS
    assert d["instances"]["VI_1"]["counters"] == {"advert_rcvd": 3}
    assert VrrpSnapshot.from_dict(d) == snap
    assert VrrpSnapshot.from_dict(json.loads(json.dumps(d))) == snap  # the state file
    assert eng.snapshot() == d


def test_reading_an_older_file_takes_defaults() -> None:
    old = {"instances": {"VI_1": {"state": "MASTER", "vrid": 51}}}
    snap = VrrpSnapshot.from_dict(old)
    inst = snap.instance("VI_1")
    assert inst is not None and inst.state == "MASTER" and inst.fds is None
    assert snap.sockets is None and snap.loop is None
