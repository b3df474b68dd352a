"""The VRRP engine runs by an injected clock and acts through injected effectors (issue 12):
a BACKUP's master-down timer, driven by a fake clock, takes over at the RFC 3768 deadline
(3 x advert_int + skew) and not before, without sleeping; VIPs, the rehearsal and the GARP
burst go to the fake effectors, the transition time comes from the fake wall clock."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.engine import engine_rt

from pykeepalived.config.model import VirtualIP
from pykeepalived.vrrp import fsm
from pykeepalived.vrrp.effectors import Effectors, LoopClock


class FakeTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Manual time: timers fire only in advance_to(); waits advance time instead of sleeping."""

    def __init__(self, now: float, wall: float) -> None:
        self.now, self.wall0 = now, wall
        self.start = now
        self.heap: list[tuple[float, int, FakeTimer, Callable[..., Any], tuple[Any, ...]]] = []
        self.seq = itertools.count()
        self.waited = 0.0

    def time(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall0 + (self.now - self.start)

    def call_at(self, when: float, cb: Callable[..., Any], *args: Any) -> FakeTimer:
        t = FakeTimer()
        heapq.heappush(self.heap, (when, next(self.seq), t, cb, args))
        return t

    def call_later(self, delay: float, cb: Callable[..., Any], *args: Any) -> FakeTimer:
        return self.call_at(self.now + delay, cb, *args)

    def wait_readable(self, fds: list[int], timeout: float) -> bool:
        self.now += timeout
        self.waited += timeout
        return False

    def advance_to(self, t: float) -> None:
        for _ in range(1000):  # bounded: a timer loop would be a bug
            if not self.heap or self.heap[0][0] > t:
                break
            when, _, timer, cb, args = heapq.heappop(self.heap)
            if timer.cancelled:
                continue
            self.now = max(self.now, when)
            cb(*args)
        else:
            raise AssertionError("timers keep firing")
        self.now = max(self.now, t)


class FakeNetlink:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def rehearse_vip(self, vip: VirtualIP, index: int) -> None:
        self.log.append(f"rehearse {vip.address}")

    def add_vip_now(self, vip: VirtualIP, index: int) -> None:
        self.log.append(f"add {vip.address}")


class FakeAnnouncer:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.sent: dict[str, int] = {}

    def prepare(self, devs: object) -> None:
        pass

    def frames(self, vips: list[Any]) -> list[Any]:
        return []

    def start(self, name: str, vips: list[Any], schedule: Any) -> None:
        self.log.append(f"announce {name} {[str(v.address) for v, _, _ in vips]}")

    def cancel(self, name: str) -> None:
        self.log.append(f"cancel {name}")


def test_master_down_timer_by_an_injected_clock(tmp_path: Path) -> None:
    log: list[str] = []
    clock = FakeClock(now=1000.0, wall=5000.0)
    eff = Effectors(nl=FakeNetlink(log), announcer=FakeAnnouncer(log))  # type: ignore[arg-type]
    eng, rt = engine_rt(tmp_path, effectors=eff, clock=clock)
    pushed: list[tuple[str, str]] = []
    eng.on_state = lambda name, state: pushed.append((name, state))
    t0 = time.monotonic()

    eng._feed(rt, fsm.Startup())
    assert rt.st.state is fsm.State.BACKUP and pushed == [("VI_1", "BACKUP")]
    master_down = 3 * 1.0 + (256 - 100) / 256  # RFC 3768 with advert_int 1, priority 100
    clock.advance_to(1000.0 + master_down - 0.01)
    assert rt.st.state is fsm.State.BACKUP, "took over before the master-down interval"
    assert log == []  # the take-over's dry run comes only ~2 ms ahead
    clock.advance_to(1000.0 + master_down + 0.01)
    assert rt.st.state is fsm.State.MASTER
    assert pushed == [("VI_1", "BACKUP"), ("VI_1", "MASTER")]
    assert log == ["rehearse 192.0.2.100/24", "add 192.0.2.100/24",
                   "announce VI_1 ['192.0.2.100/24']"]
    # the transition happened at the deadline on the injected clocks
    assert abs(rt.last_transition - (5000.0 + master_down)) < 0.005, rt.last_transition
    assert 0 < clock.waited <= 0.01  # the precise last stage waited on the clock, not slept
    assert time.monotonic() - t0 < 1.0
    # as MASTER its next timer (the advert) is one advert_int after the take-over
    pending = [w for w, _, t, _, _ in clock.heap if not t.cancelled]
    assert pending == [fsm.next_deadline(rt.st)], pending
    assert abs(pending[0] - (1000.0 + master_down + 1.0)) < 0.005, pending


def test_default_clock_is_the_running_loop() -> None:
    import asyncio

    async def main() -> tuple[float, float]:
        c = LoopClock()
        return c.time(), asyncio.get_running_loop().time()

    ours, loops = asyncio.run(main())
    assert abs(ours - loops) < 0.5
