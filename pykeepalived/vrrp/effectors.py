"""What the VRRP engine acts on (netlink, sockets, GARP/NA announcer, VMAC links) and the
clock it runs by, as small injected parts.

Why: the engine is glue between the pure FSM (fsm.py), the pure reload plan and the kernel.
With its effectors and clock passed in, a test can drive the glue itself (timers, transitions,
what is sent and set) with fakes, without a kernel, without sleeping; the daemon passes
nothing and gets the real ones, so behaviour is unchanged.
"""

from __future__ import annotations

import asyncio
import select
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pykeepalived.vrrp.addresses import Netlink
from pykeepalived.vrrp.announce import Announcer
from pykeepalived.vrrp.sockets import SocketPool
from pykeepalived.vrrp.vmac import VmacManager


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The engine's time: ``time()`` is the monotonic base of every deadline (the FSM's and
    call_at's; kernel receive times are converted to it), ``wall()`` the time shown to users."""

    def time(self) -> float: ...

    def wall(self) -> float: ...

    def call_at(self, when: float, cb: Callable[..., Any], *args: Any) -> Timer: ...

    def call_later(self, delay: float, cb: Callable[..., Any], *args: Any) -> Timer: ...

    def wait_readable(self, fds: list[int], timeout: float) -> bool:
        """Block up to TIMEOUT for one of FDS to become readable (the master-down timer's
        precise last stage); True when one did."""
        ...


class LoopClock:
    """The running asyncio loop's clock (CLOCK_MONOTONIC) and the wall clock: the default."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._bound

    @loop.setter
    def loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        # Once bound, time() is the loop's own method: the receive path reads the clock per
        # dropped packet, and two Python call layers around loop.time() cost ~0.4 µs there.
        self._bound = loop
        if loop is not None:
            self.time = loop.time  # type: ignore[method-assign]
        else:
            self.__dict__.pop("time", None)

    def _loop(self) -> asyncio.AbstractEventLoop:
        return self._bound if self._bound is not None else asyncio.get_running_loop()

    def time(self) -> float:
        return self._loop().time()

    def wall(self) -> float:
        return time.time()

    def call_at(self, when: float, cb: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        return self._loop().call_at(when, cb, *args)

    def call_later(self, delay: float, cb: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        return self._loop().call_later(delay, cb, *args)

    def wait_readable(self, fds: list[int], timeout: float) -> bool:
        return bool(select.select(fds, [], [], timeout)[0])


@dataclass
class Effectors:
    """The engine's hands: each defaults to the real one."""

    nl: Netlink = field(default_factory=Netlink)
    announcer: Announcer = field(default_factory=Announcer)
    vmacs: VmacManager = field(default_factory=VmacManager)
    socket_pool: Callable[[asyncio.AbstractEventLoop], SocketPool] = SocketPool
