"""A VrrpEngine with one BACKUP instance and no sockets: drives the engine's own code paths
(_on_packet, _tick, _rehearse) in a test's event loop."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.host import HostInfo
from pykeepalived.vrrp import codec, engine, fsm

CONF = textwrap.dedent("""
    vrrp_instance VI_1 {
        state BACKUP
        interface eth0
        virtual_router_id 51
        priority 100
        advert_int 1
        authentication {
            auth_type PASS
            auth_pass 1111
        }
        virtual_ipaddress {
            192.0.2.100/24
        }
    }
""")


def engine_rt(tmp: Path, conf: str = CONF, **kw: Any) -> tuple[engine.VrrpEngine, engine.Runtime]:
    """KW: the engine's injected parts (effectors=, clock=)."""
    p = tmp / "k.conf"
    p.write_text(conf)
    res = load_config(str(p), LoadOptions(host=HostInfo(frozenset({"eth0"})),
                                          check_scripts=False))
    inst = res.config.vrrp_instances[0]
    eng = engine.VrrpEngine(res.config, **kw)
    src = IPv4Address("192.0.2.12")
    rt = engine.Runtime(cfg=inst, st=fsm.initial_state(engine.fsm_config(inst, src)),
                        ifname="eth0", ifindex=2, mac="02:00:00:00:00:0b", src=src,
                        dsts=(codec.VRRP_MCAST4,), expect=engine.build_expect(inst))
    eng.rts[inst.name] = rt
    return eng, rt
