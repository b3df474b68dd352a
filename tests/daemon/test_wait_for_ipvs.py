"""wait_for_ipvs: the VRRP child waits for the checker's IpvsSynced, pushed over the channel."""

from __future__ import annotations

import argparse
import asyncio
import time

import pytest

from pykeepalived.config.model import Config
from pykeepalived.daemon import channel


def _child(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> object:
    from pykeepalived.daemon.child import VrrpChild

    monkeypatch.setenv("PYKEEPALIVED_WAIT_IPVS", "1")
    args = argparse.Namespace(dont_release_vrrp=False, dump_dir=str(tmp_path), state_dir=None,
                              conf="x", config_id=None, all_config=False, namespace=None,
                              instance=None)
    return VrrpChild(args, Config())


def test_the_pushed_ipvs_synced_ends_the_wait_at_once(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: object) -> None:
    child = _child(monkeypatch, tmp_path)

    async def main() -> float:
        asyncio.get_running_loop().call_later(
            0.2, child.on_channel, channel.IpvsSynced())  # type: ignore[attr-defined]
        t0 = time.monotonic()
        await child.wait_for_ipvs()  # type: ignore[attr-defined]
        return time.monotonic() - t0

    assert 0.15 < asyncio.run(main()) < 2


def test_a_stop_ends_the_wait(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    child = _child(monkeypatch, tmp_path)

    async def main() -> float:
        asyncio.get_running_loop().call_later(0.2, child.stopping.set)  # type: ignore[attr-defined]
        t0 = time.monotonic()
        await child.wait_for_ipvs()  # type: ignore[attr-defined]
        return time.monotonic() - t0

    assert asyncio.run(main()) < 2
