"""VRRP receive path under random and mutated adverts: codec, FSM and the engine's handler.

tests/unit/test_vrrp_codec.py already shows the validators never raise; this goes further
down the path: accepted packets drive fsm.step in BACKUP and MASTER, and the engine's own
``_on_packet`` is driven with the same inputs to prove that a dropped packet changes neither
the FSM state nor anything but the drop counters.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from fuzzkit import SEEDS4, SEEDS6, run_vrrp4, run_vrrp6, run_vrrp_bytes
from helpers.engine import engine_rt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.vrrp import codec, engine, fsm
from pykeepalived.vrrp.sockets import RxPacket

# a per-example deadline turns a hang (or a quadratic blow-up) into a failure
FAST = settings(max_examples=400, deadline=500, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A golden advert with byte edits, insertions, truncation or extension."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.integers(0, 3))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == 0 and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == 1:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == 2:
            del data[pos:pos + draw(st.integers(1, 8))]
        elif data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)


@FAST
@given(mutated(SEEDS4), st.integers(0, 2**32 - 1))
def test_mutated_v4_adverts_through_codec_and_fsm(data: bytes, seq: int) -> None:
    run_vrrp4(data, seq)


@FAST
@given(mutated([s[0] for s in SEEDS6]), st.sampled_from(SEEDS6), st.sampled_from([None, 255, 1]))
def test_mutated_v6_adverts_through_codec_and_fsm(data: bytes, seed: tuple, hop: int | None
                                                   ) -> None:
    run_vrrp6(data, seed[1], seed[2], hop)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes_through_byte_entry(blob: bytes) -> None:
    run_vrrp_bytes(blob)


def test_seeds_are_accepted() -> None:
    """The fuzzers start from packets that really reach the FSM (else they prove little)."""
    assert all(run_vrrp4(s) >= 1 for s in SEEDS4)
    assert all(run_vrrp6(s, a, b, 255) >= 1 for s, a, b in SEEDS6)


# --------------------------------------------------------------------------- engine level

@pytest.mark.parametrize("start_master", [False, True], ids=["backup", "master"])
def test_engine_drops_change_nothing_but_counters(tmp_path: Path, start_master: bool) -> None:
    """Drive VrrpEngine._on_packet with mutated adverts in a running loop (no sockets)."""
    eng, rt = engine_rt(tmp_path)
    seeds = [s for s in SEEDS4 if s[21] == 51 and s[20] >> 4 == 2 and s[9] == 112]
    assert seeds

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(mutated(seeds))
    def prop(data: bytes) -> None:
        before_st = rt.st
        before = dict(rt.counters)
        res = codec.validate_ipv4(data, rt.expect, ah_last_seq=rt.ah_rx_seq)
        mismatch: set[str] = set()
        if isinstance(res, codec.Dropped) and res.reason in engine.ADDR_MISMATCH:
            mismatch = {"addr_list_err", f"addr_mismatch_{res.reason.slug}"}
            # keepalived 2.3.3 accepts a differing VIP list: judged on the rest of the advert
            res = codec.validate_ipv4(data, replace(rt.expect, check_addresses=False),
                                      ah_last_seq=rt.ah_rx_seq)
        eng._on_packet(rt, RxPacket(4, data))
        if isinstance(res, codec.Dropped) or data[12:16] == rt.src.packed:  # type: ignore
            assert rt.st is before_st, "a dropped packet changed the FSM state"
            changed = {k for k in rt.counters
                       if rt.counters[k] != before.get(k, 0)} - mismatch
            assert changed <= {f"drop_{res.reason.slug}", res.reason.counter or "",
                               "advert_rcvd"} if isinstance(res, codec.Dropped) else not changed
        else:
            assert rt.counters["advert_rcvd"] == before.get("advert_rcvd", 0) + 1

    async def main() -> None:
        eng.loop = asyncio.get_running_loop()
        eng._feed(rt, fsm.Startup())
        if start_master:
            eng._feed(rt, fsm.ForceMaster())
            rt.st, _ = fsm.step(rt.st, fsm.Tick(), eng.loop.time() + 10)
            assert rt.st.state is fsm.State.MASTER
        prop()
        if rt.timer is not None:
            rt.timer.cancel()

    asyncio.run(main())
    drops = sum(v for k, v in rt.counters.items() if k.startswith("drop_"))
    assert drops > 50  # the mutations did reach the drop branches
