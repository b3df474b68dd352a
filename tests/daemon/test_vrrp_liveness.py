"""announce_only_if_master hears the VRRP child's liveness over the channel, not from a file."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from pykeepalived.announce.service import AnnounceService
from pykeepalived.config.model import Config
from pykeepalived.daemon import channel


def test_vrrp_child_message_round_trips() -> None:
    for alive in (True, False):
        assert channel.decode(channel.encode(channel.VrrpChild(alive))) == \
            channel.VrrpChild(alive)


def test_the_parents_word_ends_the_polling_and_decides_liveness(tmp_path: Path) -> None:
    """Once the parent says it runs the VRRP child, the state file is never read again (a
    live-looking file saying MASTER changes nothing); its death empties the states."""
    (tmp_path / "vrrp.json").write_text(json.dumps(
        {"pid": os.getpid(), "time": time.time(), "instances": {"VI_2": {"state": "MASTER"}}}))
    pushed: dict[str, str] = {}
    svc = AnnounceService(Config(), str(tmp_path), pushed)
    assert svc.vrrp() == {}
    svc.vrrp_child(True)
    pushed["VI_1"] = "MASTER"
    assert svc.vrrp() == {"VI_1": "MASTER"}

    async def follow() -> None:
        # returns at once: no poll, whatever the config
        await asyncio.wait_for(svc.follow_vrrp(asyncio.Event(), lambda: None), 1)

    asyncio.run(follow())
    assert svc.vrrp() == {"VI_1": "MASTER"}  # the file's VI_2 was not read
    svc.vrrp_child(False)
    assert svc.vrrp() == {}  # a dead VRRP child is MASTER of nothing
