"""The parent's reload hand-off over the typed channel: the model goes to the children as
bytes after a Reload line (read without blocking the child's loop); the VRRP child's model
leaves the virtual servers out."""

from __future__ import annotations

import argparse
import asyncio
import pickle
import socket
from pathlib import Path

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.host import HostInfo
from pykeepalived.daemon import channel
from pykeepalived.daemon.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]


def seed() -> object:
    res = load_config(str(ROOT / "conf.d" / "lvs-dr-master.conf"),
                      LoadOptions(host=HostInfo(frozenset({"eth0", "eth1"})),
                                  check_scripts=False))
    assert res.config.virtual_servers and res.config.vrrp_instances
    return res.config


def test_model_travels_whole_and_vrrp_gets_no_virtual_servers() -> None:
    cfg = seed()
    sup = Supervisor(argparse.Namespace(), [], cfg)  # type: ignore[arg-type]
    vrrp, checker = sup.model_for("vrrp"), sup.model_for("checker")
    assert checker is cfg
    assert not vrrp.virtual_servers and vrrp.vrrp_instances == cfg.vrrp_instances  # type: ignore[attr-defined]
    got: list[tuple[channel.Message, bytes | None]] = []

    async def main() -> None:
        a, b = socket.socketpair()
        parent = channel.Endpoint(a, lambda m, blob: None)
        child = channel.Endpoint(b, lambda m, blob: got.append((m, blob)))
        await parent.start()
        await child.start()
        parent.send_model(checker)
        parent.send(channel.VrrpState("VI_1", "MASTER"))  # the stream goes on after it
        for _ in range(200):
            if len(got) == 2:
                break
            await asyncio.sleep(0.01)
        parent.close()
        child.close()

    asyncio.run(main())
    (m, blob), (m2, _) = got
    assert isinstance(m, channel.Reload) and blob is not None and m.size == len(blob)
    assert pickle.loads(blob) == cfg
    assert m2 == channel.VrrpState("VI_1", "MASTER")
