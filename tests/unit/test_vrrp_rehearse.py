"""The take-over rehearsal: run just before the master-down timer fires, it sends nothing
and changes nothing, and the precise stage of the timer runs it once."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from helpers.engine import engine_rt

from pykeepalived.vrrp import engine, fsm


def test_rehearsal_changes_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    eng, rt = engine_rt(tmp_path)
    st, counters, ip_id = rt.st, dict(rt.counters), rt.ip_id
    made: list[object] = []
    rehearse_vip, frames = eng.nl.rehearse_vip, eng.announcer.frames
    eng.nl.rehearse_vip = lambda v, i: made.append(rehearse_vip(v, i))  # type: ignore
    eng.announcer.frames = lambda vips: made.append(frames(vips))  # type: ignore
    with caplog.at_level(logging.DEBUG, logger="pykeepalived"):
        eng._rehearse(rt, when=123.0)
    # the VIP request and the GARP frame were really built
    assert len(made) == 2 and isinstance(made[0], bytes) and len(made[1]) == 1  # type: ignore
    assert rt.st is st and dict(rt.counters) == counters and rt.ip_id == ip_id
    assert not eng.announcer.socks and not eng.announcer.sent  # no socket, no frame
    assert not rt.vips_set
    assert "rehearsal failed" not in caplog.text  # every step really ran
    # the advert it encoded is the one the take-over will send (cached)
    assert rt.adv_cache and all(p == rt.st.priority for p, _dst in rt.adv_cache)


def test_rehearsal_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    eng, rt = engine_rt(tmp_path)

    def boom(*_a: object) -> bytes:
        raise RuntimeError("encoder broke")

    eng.nl.rehearse_vip = boom  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG, logger="pykeepalived"):
        eng._rehearse(rt, when=1.0)
    assert "rehearsal failed" in caplog.text


def test_precise_stage_rehearses_once_then_fires(tmp_path: Path) -> None:
    # On a loaded machine the loop can wake after the 2 ms window has passed (then it fires at
    # once, without a rehearsal): up to 5 attempts, at least one must rehearse, none twice.
    results = []
    for i in range(5):
        calls, when = _one_takeover(tmp_path / str(i))
        results.append((calls, when))
        assert calls in ([], [when]), (calls, when)  # never twice, never for another deadline
        if calls:
            break
    assert any(calls for calls, _ in results), results


def _one_takeover(tmp_path: Path) -> tuple[list[float], float]:
    tmp_path.mkdir()
    eng, rt = engine_rt(tmp_path)
    calls: list[float] = []
    real = eng._rehearse

    def spy(r: engine.Runtime, when: float) -> None:
        calls.append(when)
        real(r, when)

    eng._rehearse = spy  # type: ignore[method-assign]
    deadline: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        eng.loop = loop
        eng._send_advert = lambda r, prio: None  # type: ignore[method-assign]
        eng._apply = lambda r, old, a, fast=False: None  # type: ignore[method-assign]
        eng._feed(rt, fsm.Startup())
        assert rt.st.state is fsm.State.BACKUP and rt.st.master_down_at is not None
        deadline.append(rt.st.master_down_at)
        for _ in range(100):  # bounded: 100 x 50 ms
            if rt.st.state is fsm.State.MASTER:
                break
            await asyncio.sleep(0.05)
        assert rt.st.state is fsm.State.MASTER

    asyncio.run(main())
    return calls, deadline[0]
