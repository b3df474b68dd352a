"""lvs_sync_daemon follows the VRRP instance at the transition: the state is pushed through
the parent over the channel and the checker child switches the kernel's sync daemon at once
(it used to poll the VRRP child's state file from its sync loop: up to ~11 s late).

The kernel part is a recording stand-in (this host has no IPVS; the guest test drives the
real one); the channel, the child's handler and its IPVS worker thread are the real ones.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
from typing import Any

from pykeepalived.config.model import Config, GlobalDefs, LvsSyncDaemon
from pykeepalived.daemon import channel
from pykeepalived.daemon.checker_child import CheckerChild


class Kernel:
    """What follow_vrrp_state asks of IPVSKernel: the daemons, start, stop (recorded)."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.calls: list[tuple[str, str, float]] = []

    def daemons(self) -> list[Any]:
        return [argparse.Namespace(state=s) for s in sorted(self.running)]

    def start_daemon(self, spec: Any) -> None:
        self.running.add(spec.state)
        self.calls.append(("start", spec.state, time.monotonic()))

    def stop_daemon(self, state: str) -> None:
        self.running.discard(state)
        self.calls.append(("stop", state, time.monotonic()))


def test_transition_switches_the_sync_daemon_within_50ms() -> None:
    cfg = Config(global_defs=GlobalDefs(lvs_sync_daemon=LvsSyncDaemon("eth0", "VI_1",
                                                                      syncid=7)))
    args = argparse.Namespace(state_dir=None, dump_dir=None, conf="x", config_id=None,
                              all_config=False)
    kernel = Kernel()

    async def main() -> list[float]:
        parent_sock, child_sock = socket.socketpair()
        child = CheckerChild(args, cfg)
        child.loop = asyncio.get_running_loop()
        child.channel = channel.Endpoint(child_sock, child._channel_message)
        child.syncer = argparse.Namespace(kernel=kernel)
        child.ipvs_open = True  # IPVS is open: the sync daemon follows from then on
        await child.channel.start()
        parent = channel.Endpoint(parent_sock, lambda m, b: None)
        await parent.start()
        lags = []
        for state, want in (("MASTER", "master"), ("BACKUP", "backup"), ("MASTER", "master")):
            t0 = time.monotonic()
            parent.send(channel.VrrpState("VI_1", state))
            for _ in range(100):  # bounded: 1 s
                if kernel.running == {want}:
                    break
                await asyncio.sleep(0.005)
            assert kernel.running == {want}, kernel.calls
            lags.append(time.monotonic() - t0)
        parent.send(channel.VrrpState("VI_2", "BACKUP"))  # another instance: no change
        await asyncio.sleep(0.1)
        assert kernel.running == {"master"}
        parent.close()
        child.channel.close()
        child.ipvs_thread.shutdown(wait=True)
        return lags

    lags = asyncio.run(main())
    print("sync daemon switch lags (s):", [round(x, 4) for x in lags])
    assert max(lags) < 0.05, lags
