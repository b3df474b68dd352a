"""Pool semantics with TCP_CHECK against real loopback servers: timing, retries, alpha,
inhibit, several checkers, quorum, notify scripts, reload."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
from pathlib import Path

import pytest
from checkutil import (
    HungServer,
    Recorder,
    TcpServer,
    chk,
    closed_port,
    config,
    down,
    messages,
    one,
    rserver,
    run,
    up,
    vserver,
    write_script,
)

from pykeepalived.check.pool import CheckerPool
from pykeepalived.check.results import QuorumChange, RsChange
from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model import Script

TOL = 0.25  # scheduling tolerance (s) on top of the configured timings


def test_tcp_down_after_retries_then_up_after_one_success(tcp_server: TcpServer,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    dl, dbr, retry = 0.3, 0.15, 2
    cfg = one(chk(delay_loop=dl, delay_before_retry=dbr, retry=retry), tcp_server.port)
    rs = f"[127.0.0.1]:tcp:{tcp_server.port}"

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        loop = asyncio.get_running_loop()
        await pool.start()
        assert rec.rs() == [RsChange("[192.0.2.100]:tcp:80", ("127.0.0.1", tcp_server.port),
                                     True, 1, initial=True, at=rec.rs()[0].at)]
        await asyncio.sleep(dl + 0.05)  # at least one successful check
        assert pool.snapshot().checks >= 1
        t0 = loop.time()
        tcp_server.stop()
        ev = await rec.wait(down, dl + retry * dbr + 1.0)
        took = ev.at - t0
        # the first failure comes within one delay_loop, then `retry` retries dbr apart
        assert retry * dbr - 0.02 <= took <= dl + retry * dbr + TOL, took
        snap = pool.snapshot().rs("[192.0.2.100]:tcp:80", ("127.0.0.1", tcp_server.port))
        assert snap is not None and not snap.alive
        assert snap.checkers[0].consecutive_failures == retry + 1
        assert isinstance(ev, RsChange) and ev.weight == 0 and not ev.inhibited
        n = len(rec.events)
        await asyncio.sleep(dl * 2)  # stays down, no flapping events
        assert not [e for e in rec.events[n:] if isinstance(e, RsChange)]
        t1 = loop.time()
        tcp_server.start()
        ev = await rec.wait(up, dl + 1.0, start=n)
        assert ev.at - t1 <= dl + TOL
        assert isinstance(ev, RsChange) and ev.weight == 1
        await pool.stop()

    run(main())
    msgs = messages(caplog)
    # keepalived's start line per checker (as in its journal: "Keepalived_healthcheckers[N]:
    # Activating healthchecker for service [192.168.20.3]:tcp:30080 for VS [...]:tcp:80")
    assert msgs.count(f"Activating healthchecker for service {rs} for VS "
                      "[192.0.2.100]:tcp:80") == 1
    assert f"TCP connection to {rs} failed." in msgs
    assert f"TCP_CHECK on service {rs} failed after {retry} retries." in msgs
    assert f"Removing service {rs} from VS [192.0.2.100]:tcp:80" in msgs
    assert f"TCP connection to {rs} success." in msgs
    assert f"Adding service {rs} to VS [192.0.2.100]:tcp:80" in msgs
    # the failure line is logged while up only, i.e. once per attempt before going down
    assert msgs.count(f"TCP connection to {rs} failed.") == retry + 1


def test_hung_accept_times_out_after_connect_timeout(hung_server: HungServer,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    ct = 0.4
    cfg = one(chk(connect_timeout=ct, retry=0, delay_loop=0.2), hung_server.port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        t0 = asyncio.get_running_loop().time()
        await pool.start()
        ev = await rec.wait(down, ct + 1.0)
        assert ct - 0.02 <= ev.at - t0 <= ct + TOL
        await pool.stop()

    run(main())
    rs = f"[127.0.0.1]:tcp:{hung_server.port}"
    assert f"TCP connection to {rs} timeout." in messages(caplog)
    assert f"TCP_CHECK on service {rs} failed." in messages(caplog)


def test_alpha_starts_down_and_first_success_adds(tcp_server: TcpServer) -> None:
    cfg = one(chk(alpha=True, delay_loop=0.3), tcp_server.port, alpha=True)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        first = rec.rs()[0]
        assert first.initial and not first.alive and not first.in_pool
        assert rec.quorum()[0] == QuorumChange("[192.0.2.100]:tcp:80", False, 0, 1,
                                               initial=True, at=rec.quorum()[0].at)
        ev = await rec.wait(up, 0.5)
        assert ev.at - first.at <= TOL
        await rec.wait(lambda e: isinstance(e, QuorumChange) and e.up, 0.5)
        await pool.stop()

    run(main())


def test_alpha_never_up_when_closed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    port = closed_port()
    cfg = one(chk(alpha=True, retry=1, delay_before_retry=0.05), port, alpha=True)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.5)
        assert [e.initial for e in rec.rs()] == [True]  # nothing but the initial down
        await pool.stop()

    run(main())
    assert f"TCP_CHECK on service [127.0.0.1]:tcp:{port} failed after 1 retries." \
        in messages(caplog)


def test_inhibit_on_failure_keeps_weight_zero(tcp_server: TcpServer,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    cfg = one(chk(), tcp_server.port, inhibit_on_failure=True, weight=7)
    rs = f"[127.0.0.1]:tcp:{tcp_server.port}"

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        assert rec.rs()[0].weight == 7
        tcp_server.stop()
        ev = await rec.wait(down, 1.0)
        assert isinstance(ev, RsChange)
        assert ev.inhibited and ev.weight == 0 and ev.in_pool
        n = len(rec.events)
        tcp_server.start()
        ev = await rec.wait(up, 1.0, start=n)
        assert isinstance(ev, RsChange) and ev.weight == 7 and not ev.inhibited
        await pool.stop()

    run(main())
    assert f"Disabling service {rs} of VS [192.0.2.100]:tcp:80" in messages(caplog)
    assert f"Enabling service {rs} of VS [192.0.2.100]:tcp:80" in messages(caplog)


def test_all_checkers_must_be_up() -> None:
    a, b = TcpServer(), TcpServer()
    a.start()
    b.start()
    cfg = config(vserver(rserver(a.port, chk(), chk(connect_port=b.port))))

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.3)
        b.stop()
        await rec.wait(down, 1.0)
        n = len(rec.events)
        a.stop()  # a second failing checker: still one down event, no more
        await asyncio.sleep(0.5)
        b.start()  # one of two back: still down
        await asyncio.sleep(0.5)
        assert not [e for e in rec.events[n:] if isinstance(e, RsChange)]
        a.start()
        await rec.wait(up, 1.0, start=n)
        await pool.stop()

    try:
        run(main())
    finally:
        a.stop()
        b.stop()


def test_no_checkers_always_up() -> None:
    cfg = config(vserver(rserver(closed_port())))

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.3)
        assert [(e.alive, e.initial) for e in rec.rs()] == [(True, True)]
        assert pool.snapshot().checks == 0
        await pool.stop()

    run(main())


def test_quorum_hysteresis_and_scripts(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                       ) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    servers = [TcpServer() for _ in range(3)]
    for s in servers:
        s.start()
    log = tmp_path / "log"
    script = write_script(tmp_path / "q.sh", f'echo "$1" >> {log}\n')
    vs = vserver(*(rserver(s.port, chk()) for s in servers), quorum=2, hysteresis=1,
                 quorum_up=Script((str(script), "UP")),
                 quorum_down=Script((str(script), "DOWN")))
    key = vs.key

    def lost(e: object) -> bool:
        return isinstance(e, QuorumChange) and not e.initial and not e.up

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(config(vs), on_event=rec)
        await pool.start()
        assert rec.quorum()[0].up  # 3 >= quorum 2 + hysteresis 1
        for i in (0, 1):
            servers[i].stop()
            await rec.wait(lambda e, i=i: down(e) and e.rs[1] == servers[i].port, 1.0)
        # 1 alive >= quorum 2 - hysteresis 1: kept thanks to hysteresis
        assert pool.quorum_up(key) is True
        servers[2].stop()
        ev = await rec.wait(lost, 1.0)
        assert isinstance(ev, QuorumChange) and ev.weight_sum == 0 and ev.threshold == 1
        n = len(rec.events)
        servers[0].start()
        servers[1].start()
        await asyncio.sleep(0.6)
        # gaining back needs 2 + 1 = 3: two alive are not enough
        assert sum(1 for e in rec.events[n:] if up(e)) == 2
        assert pool.quorum_up(key) is False
        servers[2].start()
        ev = await rec.wait(lambda e: isinstance(e, QuorumChange) and e.up, 1.0, start=n)
        assert isinstance(ev, QuorumChange) and ev.weight_sum == 3 and ev.threshold == 3
        await asyncio.sleep(0.1)  # let the script finish
        await pool.stop()

    try:
        run(main())
    finally:
        for s in servers:
            s.stop()
    assert log.read_text().split() == ["DOWN", "UP"]
    assert f"Lost quorum 2-1=1 > 0 for VS {key}" in messages(caplog)
    assert f"Gained quorum 2+1=3 <= 3 for VS {key}" in messages(caplog)


def test_quorum_regained(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "pykeepalived.check")
    a, b = TcpServer(), TcpServer()
    a.start()
    b.start()
    log = tmp_path / "log"
    script = write_script(tmp_path / "q.sh", f'echo "$1" >> {log}\n')
    vs = vserver(rserver(a.port, chk()), rserver(b.port, chk(), weight=2), quorum=3,
                 quorum_up=Script((str(script), "UP")),
                 quorum_down=Script((str(script), "DOWN")))

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(config(vs), on_event=rec)
        await pool.start()
        b.stop()
        await rec.wait(lambda e: isinstance(e, QuorumChange) and not e.up, 1.0)
        b.start()
        await rec.wait(lambda e: isinstance(e, QuorumChange) and e.up and not e.initial, 1.0)
        await asyncio.sleep(0.1)  # let the script finish
        await pool.stop()

    try:
        run(main())
    finally:
        a.stop()
        b.stop()
    assert log.read_text().split() == ["DOWN", "UP"]
    assert f"Gained quorum 3+0=3 <= 3 for VS {vs.key}" in messages(caplog)


def test_notify_up_down_scripts_get_argv(tmp_path: Path, tcp_server: TcpServer) -> None:
    out = tmp_path / "notify"
    script = write_script(tmp_path / "n.sh", f'echo "$@" >> {out}\n')
    cfg = one(chk(), tcp_server.port,
              notify_up=Script((str(script), "up", "it's")),
              notify_down=Script((str(script), "down", "a b")))

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        tcp_server.stop()
        await rec.wait(down, 1.0)
        tcp_server.start()
        await rec.wait(up, 1.0)
        for _ in range(50):
            if out.exists() and len(out.read_text().splitlines()) == 2:
                break
            await asyncio.sleep(0.02)
        await pool.stop()

    run(main())
    assert out.read_text().splitlines() == ["down a b", "up it's"]


def test_warmup_spreads_first_checks_deterministically(tcp_server: TcpServer) -> None:
    rss = [rserver(tcp_server.port, chk(warmup=0.4, delay_loop=5), ip=f"127.0.0.{i}")
           for i in range(1, 21)]
    cfg = config(vserver(*rss))

    def starts(seed: int) -> list[float]:
        got: list[float] = []

        async def main() -> None:
            t0 = asyncio.get_running_loop().time()
            pool = CheckerPool(cfg, seed=seed, trace=lambda due, st: got.append(st - t0))
            await pool.start()
            await asyncio.sleep(0.6)
            await pool.stop()

        run(main())
        return got

    a = starts(7)
    assert len(a) == 20  # each checked exactly once (delay_loop 5)
    assert all(0 <= t <= 0.4 + 0.1 for t in a)
    assert max(a) - min(a) > 0.1  # really spread, not all at once
    b = starts(7)
    assert [round(x, 1) for x in sorted(a)] == pytest.approx(
        [round(x, 1) for x in sorted(b)], abs=0.11)


def test_reload_keeps_unchanged_starts_new_stops_removed(tcp_server: TcpServer) -> None:
    other = TcpServer()
    other.start()
    c1 = chk(delay_loop=0.2, loc=Loc("k.conf", 10))
    rs_keep = rserver(tcp_server.port, c1)
    rs_gone = rserver(other.port, chk(), ip="127.0.0.2")
    cfg1 = config(vserver(rs_keep, rs_gone), vserver(rserver(tcp_server.port, chk()),
                                                     port=81))
    rs_new = rserver(other.port, chk(), ip="127.0.0.3")
    # same checker config (another source line), weight changed, new RS, VS :81 removed
    c1b = dataclasses.replace(c1, loc=Loc("k.conf", 14))
    cfg2 = config(vserver(rserver(tcp_server.port, c1b, weight=5), rs_new))

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg1, on_event=rec)
        await pool.start()
        await asyncio.sleep(0.5)
        kept = pool._vss["[192.0.2.100]:tcp:80"].rss[rs_keep.key].runs[0]
        task, checks = kept.task, kept.checks
        assert checks >= 2
        n = len(rec.events)
        await pool.reload(cfg2)
        evs = [e for e in rec.events[n:] if isinstance(e, RsChange)]
        assert {(e.vs, e.rs, e.removed, e.initial) for e in evs} == {
            ("[192.0.2.100]:tcp:80", rs_gone.key, True, False),
            ("[192.0.2.100]:tcp:81", ("127.0.0.1", tcp_server.port), True, False),
            ("[192.0.2.100]:tcp:80", rs_new.key, False, True),
            ("[192.0.2.100]:tcp:80", rs_keep.key, False, False),  # weight 1 -> 5
        }
        assert [e.weight for e in evs if e.rs == rs_keep.key and not e.removed] == [5]
        run2 = pool._vss["[192.0.2.100]:tcp:80"].rss[rs_keep.key].runs[0]
        assert run2 is kept and run2.task is task  # same schedule, same counters
        await asyncio.sleep(0.3)
        assert run2.checks > checks
        assert len(pool.snapshot().virtual_servers) == 1
        await pool.stop()

    try:
        run(main())
    finally:
        other.stop()


def test_reload_keeps_down_state(tcp_server: TcpServer) -> None:
    port = closed_port()
    cfg = one(chk(), port)

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        await rec.wait(down, 1.0)
        n = len(rec.events)
        # the checker's timing changes: state migrates, the RS does not come back up
        await pool.reload(one(chk(delay_loop=0.3), port))
        await asyncio.sleep(0.4)
        assert not [e for e in rec.events[n:] if isinstance(e, RsChange)]
        snap = pool.snapshot().virtual_servers[0].real_servers[0]
        assert not snap.alive
        await pool.stop()

    run(main())


def test_events_stream_and_snapshot(tcp_server: TcpServer) -> None:
    cfg = one(chk(), tcp_server.port)

    async def main() -> None:
        pool = CheckerPool(cfg)
        await pool.start()
        tcp_server.stop()
        got = []
        async with asyncio.timeout(2):
            async for ev in pool.events():
                got.append(ev)
                if isinstance(ev, RsChange) and not ev.alive:
                    break
        assert [type(e).__name__ for e in got] == ["RsChange", "QuorumChange", "RsChange",
                                                   "QuorumChange"][:len(got)]
        snap = pool.snapshot()
        ck = snap.virtual_servers[0].real_servers[0].checkers[0]
        assert ck.kind == "TCP_CHECK" and ck.failures >= 1 and ck.last_check is not None
        assert ck.last_detail.endswith("failed.")
        await pool.stop()
        rest = [e async for e in pool.events()]  # ends after stop()
        assert all(isinstance(e, (RsChange, QuorumChange)) for e in rest)

    run(main())


def test_connect_ip_port_and_bindto(tcp_server: TcpServer) -> None:
    # the real server address is unreachable on purpose: connect_ip/port redirect the check
    bind_port = closed_port()
    cfg = one(chk(connect_ip=ipaddress.ip_address("127.0.0.1"), connect_port=tcp_server.port,
                  bindto=ipaddress.ip_address("127.0.0.7"), bind_port=bind_port,
                  delay_loop=5), 9, ip="192.0.2.21")

    async def main() -> None:
        rec = Recorder()
        pool = CheckerPool(cfg, on_event=rec)
        await pool.start()
        for _ in range(50):
            if tcp_server.peers:
                break
            await asyncio.sleep(0.02)
        snap = pool.snapshot().virtual_servers[0].real_servers[0]
        assert snap.alive and snap.checkers[0].failures == 0
        await pool.stop()

    run(main())
    assert tcp_server.peers[0] == ("127.0.0.7", bind_port)
