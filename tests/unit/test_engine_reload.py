"""The engine applies the reload plan, and only it: on a MASTER, a comment-only edit makes
no netlink call, a changed VIP removes the dropped address and adds the new one (never the
unchanged one), a renamed instance keeps its runtime (state, counters). The netlink effector
records instead of touching an interface; the configs go through the real loader."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from helpers.engine import CONF, engine_rt

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.host import HostInfo
from pykeepalived.config.model import Config
from pykeepalived.vrrp import fsm
from pykeepalived.vrrp.sockets import SocketPool


def load(tmp: Path, text: str) -> Config:
    p = tmp / "new.conf"
    p.write_text(text)
    res = load_config(str(p), LoadOptions(host=HostInfo(frozenset({"eth0"})),
                                          check_scripts=False))
    assert not res.diagnostics.errors
    return res.config


def run_reload(tmp: Path, new_text: str) -> tuple[Any, Any, list[tuple[str, str]]]:
    eng, rt = engine_rt(tmp, CONF.replace("state BACKUP", "state MASTER"))
    calls: list[tuple[str, str]] = []

    async def add(vip: Any, index: int) -> bool:
        calls.append(("add", str(vip.address)))
        return True

    async def delete(vip: Any, index: int) -> bool:
        calls.append(("del", str(vip.address)))
        return True

    async def ip_cmd(kind: str, op: str, spec: Any) -> bool:
        calls.append((f"{kind} {op}", " ".join(spec.words)))
        return True

    eng.nl.add_vip, eng.nl.del_vip, eng.nl.ip_cmd = add, delete, ip_cmd  # type: ignore
    eng.announcer.start = lambda *a, **k: calls.append(("announce", ""))  # type: ignore

    async def main() -> None:
        loop = asyncio.get_running_loop()
        eng.loop = loop
        eng.pool = SocketPool(loop)
        eng._send_advert = lambda r, prio: None  # type: ignore[method-assign]
        rt.worker = loop.create_task(eng._worker(rt))
        # MASTER with its VIPs on (as after a take-over)
        rt.st = fsm.InstanceState(cfg=rt.st.cfg, state=fsm.State.MASTER, priority=100,
                                  base_priority=100, master_adver_int=1.0,
                                  advert_at=loop.time() + 1.0)
        rt.vips_set = True
        rt.counters["advert_sent"] = 7
        await eng.reload(load(tmp, new_text))
        await asyncio.sleep(0.05)  # the worker's queue
        for r in eng.rts.values():
            if r.timer is not None:
                r.timer.cancel()
        rt.queue.put_nowait(("exit",))
        await rt.worker

    asyncio.run(main())
    return eng, rt, calls


def test_comment_only_edit_touches_nothing(tmp_path: Path) -> None:
    text = "# managed by config management\n\n" + CONF.replace("state BACKUP", "state MASTER")
    eng, rt, calls = run_reload(tmp_path, text)
    assert calls == []
    assert eng.rts["VI_1"] is rt and rt.st.state is fsm.State.MASTER and rt.vips_set
    assert rt.counters["advert_sent"] == 7


def test_changed_vip_is_a_minimal_diff(tmp_path: Path) -> None:
    text = CONF.replace("state BACKUP", "state MASTER").replace(
        "192.0.2.100/24", "192.0.2.100/24\n            192.0.2.101/24")
    _, rt, calls = run_reload(tmp_path, text)
    assert calls == [("add", "192.0.2.101/24"), ("announce", "")]
    assert rt.st.state is fsm.State.MASTER
    text2 = CONF.replace("state BACKUP", "state MASTER").replace("192.0.2.100/24",
                                                                "192.0.2.102/24")
    _, _, calls2 = run_reload(tmp_path, text2)
    assert calls2 == [("del", "192.0.2.100/24"), ("add", "192.0.2.102/24"), ("announce", "")]


def test_renamed_instance_keeps_its_runtime(tmp_path: Path) -> None:
    text = CONF.replace("state BACKUP", "state MASTER").replace("VI_1", "WEB")
    eng, rt, calls = run_reload(tmp_path, text)
    assert calls == [] and list(eng.rts) == ["WEB"] and eng.rts["WEB"] is rt
    assert rt.name == "WEB" and rt.st.state is fsm.State.MASTER
    assert rt.counters["advert_sent"] == 7
