"""The engine pushes every transition (on_state): the daemon relays it to the checker child,
whose lvs_sync_daemon follows it at once instead of polling a state file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpers.engine import engine_rt

from pykeepalived.vrrp import fsm


def test_transitions_are_pushed_in_order(tmp_path: Path) -> None:
    eng, rt = engine_rt(tmp_path)
    pushed: list[tuple[str, str]] = []
    eng.on_state = lambda name, state: pushed.append((name, state))

    async def main() -> None:
        eng.loop = asyncio.get_running_loop()
        eng._feed(rt, fsm.Startup())
        eng._feed(rt, fsm.FaultSet("script:chk"))
        eng._feed(rt, fsm.FaultCleared("script:chk"))
        if rt.timer is not None:
            rt.timer.cancel()

    asyncio.run(main())
    assert pushed == [("VI_1", "BACKUP"), ("VI_1", "FAULT"), ("VI_1", "BACKUP")]
