"""A respawned checker starts from the last results the parent holds (daemon/channel.py), so
a dead real server is never reported up (and put back in IPVS) before it has been checked.

Real loopback servers; the results travel as in the daemon: pushed as RsState messages over a
socketpair to a Supervisor, which hands them to the next checker in a memfd.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket

from checkutil import Recorder, TcpServer, chk, closed_port, config, rserver, run, up, vserver

from pykeepalived.check.pool import CheckerPool
from pykeepalived.check.results import RsChange
from pykeepalived.config.model import Config
from pykeepalived.daemon import channel
from pykeepalived.daemon.supervisor import Supervisor

VS = "[192.0.2.100]:tcp:80"


def three(up_port: int, dead_port: int, new_port: int) -> Config:
    c = chk(delay_loop=0.5)
    return config(vserver(rserver(up_port, c), rserver(dead_port, c), rserver(new_port, c)))


def initial(rec: Recorder) -> dict[tuple[str, int | None], bool]:
    return {e.rs: e.alive for e in rec.rs() if e.initial}


def test_respawned_pool_starts_from_known_results(tcp_server: TcpServer) -> None:
    dead, other = closed_port(), TcpServer()
    other.start()
    cfg = three(tcp_server.port, dead, other.port)
    known = {(VS, ("127.0.0.1", tcp_server.port)): True,
             (VS, ("127.0.0.1", dead)): False}  # the third: not known yet

    async def main() -> None:
        # a first start: keepalived's initial state, every real server up (no alpha)
        rec0 = Recorder()
        pool0 = CheckerPool(cfg, on_event=rec0)
        await pool0.start()
        assert set(initial(rec0).values()) == {True}
        await pool0.stop()
        # a respawn: the dead one stays down, the unknown one is down until checked
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec, known=known)
        await pool.start()
        got = initial(rec)
        assert got == {("127.0.0.1", tcp_server.port): True, ("127.0.0.1", dead): False,
                       ("127.0.0.1", other.port): False}
        ev = await rec.wait(up, 2.0)  # the unknown one is up once checked
        assert isinstance(ev, RsChange) and ev.rs == ("127.0.0.1", other.port)
        await asyncio.sleep(0.7)  # a full delay_loop: the dead one never came up
        assert not [e for e in rec.rs() if e.rs == ("127.0.0.1", dead) and e.alive]
        await pool.stop()

    try:
        run(main())
    finally:
        other.stop()


def test_parent_holds_pushed_results_and_hands_them_on() -> None:
    """RsState over a real socketpair into Supervisor.on_message, then the memfd a respawned
    checker reads (read_known), with a malformed line dropped on the way."""
    sup = Supervisor(argparse.Namespace(), [], config())

    async def main() -> None:
        a, b = socket.socketpair()
        ep = channel.Endpoint(a, lambda m, _blob: sup.on_message("checker", m))
        await ep.start()
        b.sendall(channel.encode(channel.RsState(VS, ("192.0.2.10", 80), True)))
        b.sendall(b'{"type": "Nope"}\n')
        b.sendall(channel.encode(channel.RsState(VS, ("192.0.2.11", 80), False)))
        b.sendall(channel.encode(channel.RsState(VS, ("192.0.2.12", None), True)))
        b.sendall(channel.encode(channel.RsState(VS, ("192.0.2.12", None), True,
                                                 removed=True)))
        for _ in range(100):
            if len(sup.known) == 2 and (VS, ("192.0.2.12", None)) not in sup.known:
                break
            await asyncio.sleep(0.01)
        ep.close()
        b.close()

    run(main())
    assert sup.known == {(VS, ("192.0.2.10", 80)): True, (VS, ("192.0.2.11", 80)): False}
    fd = channel.write_known(sup.known)
    os.environ[channel.ENV_KNOWN_FD] = str(fd)
    assert channel.read_known() == sup.known
    assert channel.ENV_KNOWN_FD not in os.environ
    assert channel.read_known() is None  # a first start: no results passed


def test_messages_round_trip() -> None:
    for m in (channel.RsState(VS, ("2001:db8::1", 443), False), channel.VrrpState("VI_1",
              "MASTER"), channel.IpvsSynced()):
        assert channel.decode(channel.encode(m)) == m
    assert channel.decode(b"not json\n") is None
    assert channel.decode(b'{"type": "RsState", "vs": 1}\n') is None


