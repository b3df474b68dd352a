"""Snapshots shaped exactly like VrrpEngine.snapshot() / CheckerPool.snapshot(), matching the
state of the keepalived 2.2.7 nodes when tests/data/kad-dumps/ was taken."""

from __future__ import annotations

import os
from typing import Any

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.model import Config

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "kad-dumps")


def kad(name: str) -> str:
    with open(os.path.join(DATA, name), encoding="utf-8") as fh:
        return fh.read()


def config(name: str) -> Config:
    res = load_config(os.path.join(DATA, name), LoadOptions())
    assert res.config is not None
    return res.config


def instance(state: str, prio: int, *, source: str, master: str | None, master_prio: int | None,
             transition: float, vips: list[str], vips_set: bool,
             counters: dict[str, int]) -> dict[str, Any]:
    return {
        "state": state, "vrid": 51, "version": 2, "family": 4, "interface": "eth0",
        "source": source, "base_priority": prio, "effective_priority": prio,
        "master_address": master, "master_priority": master_prio,
        "last_advert": {"source": master, "priority": master_prio,
                        "time": transition + 3 if master else None},
        "last_transition": transition, "faults": [],
        "vips": [v + (" set" if vips_set else "") for v in vips], "vips_set": vips_set,
        "counters": counters, "garp_sent": 5 if vips_set else 0,
    }


def master_a(advert_sent: int = 9) -> dict[str, Any]:
    return {"instances": {"VI_1": instance(
        "MASTER", 100, source="192.0.2.11", master=None, master_prio=None,
        transition=1795259314.897460, vips=["192.0.2.100/24 dev eth0 scope global"],
        vips_set=True, counters={"advert_sent": advert_sent, "become_master": 1})},
        "groups": {},
        "loop": {"lateness_max": 0.002, "lateness_avg": 0.0004, "timers": 40,
                 "lateness_recent_max": 0.001}}


def backup_b(advert_rcvd: int = 8) -> dict[str, Any]:
    return {"instances": {"VI_1": instance(
        "BACKUP", 90, source="192.0.2.12", master="192.0.2.11", master_prio=100,
        transition=1795259316.300930, vips=["192.0.2.100/24 dev eth0 scope global"],
        vips_set=False, counters={"advert_rcvd": advert_rcvd, "drop_wrong_vrid": 2})},
        "groups": {}, "loop": {"lateness_max": 0.0, "lateness_avg": 0.0, "timers": 0,
                               "lateness_recent_max": 0.0}}


def pool() -> dict[str, Any]:
    """A PoolSnapshot in its JSON form (dataclasses.asdict, tuples as lists)."""
    def chk(up: bool, detail: str = "") -> dict[str, Any]:
        return {"kind": "TCP_CHECK", "target": "[198.51.100.10]:tcp:80", "up": up,
                "has_run": True, "retry": 1, "retry_it": 0, "consecutive_failures": 0 if up
                else 2, "checks": 10, "failures": 0 if up else 2, "last_check": 1795259310.0,
                "last_duration": 0.001, "last_ok": up, "last_detail": detail,
                "last_code": None}
    return {"taken_at": 1795259311.0, "checks": 20, "virtual_servers": [{
        "key": "[192.0.2.100]:tcp:80", "quorum": 1, "hysteresis": 0, "quorum_up": True,
        "weight_sum": 1, "real_servers": [
            {"key": ["198.51.100.10", 80], "alive": True, "weight": 1, "effective_weight": 1,
             "inhibit_on_failure": False, "last_change": 1795259300.0,
             "checkers": [chk(True)]},
            {"key": ["198.51.100.11", 80], "alive": False, "weight": 1,
             "effective_weight": 1, "inhibit_on_failure": False, "last_change": 1795259305.0,
             "checkers": [chk(False, "connection refused")]}]}]}
