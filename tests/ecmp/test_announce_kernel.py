"""The announcer's effector and service against a real kernel (a namespace of the test's own):
what it adds, what it removes, and what it must never touch."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from helpers.netns import netns, requires_netns, sh

from pykeepalived.announce.core import ADDRESS, ROUTE, Announcement
from pykeepalived.announce.netlink import Kernel
from pykeepalived.announce.service import AnnounceService
from pykeepalived.config.model import Announce, AnnounceRoute, Config, VirtualServer

pytestmark = [requires_netns, pytest.mark.netns]

ADDR = Announcement(ADDRESS, "192.0.2.10/32", "lo")
ROUTE18 = Announcement(ROUTE, "192.0.2.10/32", "lo", 254, 18)


def has_addr(ns: str, ip: str = "192.0.2.10") -> bool:
    return f"inet {ip}/32" in sh("ip", "-n", ns, "-o", "addr", "show", "dev", "lo").stdout


def routes(ns: str) -> str:
    return sh("ip", "-n", ns, "route", "show", "192.0.2.10/32").stdout


def test_apply_adds_removes_and_is_idempotent() -> None:
    with netns("pyk-ann") as ns:
        k = Kernel(ns)
        try:
            rep = k.apply([ADDR, ROUTE18], [])
            assert sorted(rep.added) == sorted([ADDR, ROUTE18]) and not rep.errors
            assert has_addr(ns) and "proto keepalived" in routes(ns)
            again = k.apply([ADDR, ROUTE18], [])
            assert (again.added, again.removed, again.errors) == ([], [], [])
            rep = k.apply([], [ADDR, ROUTE18])
            assert sorted(rep.removed) == sorted([ADDR, ROUTE18])
            assert not has_addr(ns) and routes(ns) == ""
            assert str(k.apply([], [ADDR, ROUTE18])) == "no change"
        finally:
            k.close()


def test_ipv6_address_and_route() -> None:
    a6 = Announcement(ADDRESS, "2001:db8::10/128", "lo")
    r6 = Announcement(ROUTE, "2001:db8::10/128", "lo", 254, 18)

    def route6(ns: str) -> str:
        return sh("ip", "-n", ns, "-6", "route", "show", "2001:db8::10/128", "proto",
                  "18").stdout

    with netns("pyk-ann") as ns:
        k = Kernel(ns)
        try:
            assert sorted(k.apply([a6, r6], []).added) == sorted([a6, r6])
            assert "inet6 2001:db8::10/128" in sh("ip", "-n", ns, "-o", "addr", "show",
                                                  "dev", "lo").stdout
            assert "dev lo" in route6(ns)
            assert sorted(k.apply([], [a6, r6]).removed) == sorted([a6, r6])
            assert "2001:db8::10" not in sh("ip", "-n", ns, "addr", "show", "dev", "lo").stdout
            assert route6(ns) == ""
        finally:
            k.close()


def test_route_of_another_owner_is_never_removed() -> None:
    with netns("pyk-ann") as ns:
        sh("ip", "-n", ns, "route", "add", "192.0.2.10/32", "dev", "lo", "proto", "static")
        k = Kernel(ns)
        try:
            rep = k.apply([], [ROUTE18])
            assert (rep.removed, rep.errors) == ([], [])
            assert "proto static" in routes(ns)
        finally:
            k.close()


def test_missing_interface_is_an_error_not_a_crash() -> None:
    with netns("pyk-ann") as ns:
        k = Kernel(ns)
        try:
            rep = k.apply([Announcement(ADDRESS, "192.0.2.10/32", "nosuch0")], [])
            assert rep.errors == ["interface nosuch0 not found"]
        finally:
            k.close()


def _vs(**kw: object) -> VirtualServer:
    return VirtualServer(ip=ipaddress.ip_address("192.0.2.10"), port=80,
                         announce=Announce(**kw))  # type: ignore[arg-type]


def test_service_follows_quorum_vrrp_state_and_reload(tmp_path: Path) -> None:
    """Quorum, the VRRP child's published state (announce_only_if_master), a reload that
    drops the line, and stop: each leaves the kernel holding exactly what it should."""
    v = _vs(address_dev="lo", route=AnnounceRoute(), only_if_master="VI_1")
    cfg = Config(virtual_servers=(v,))
    state = tmp_path / "vrrp.json"

    def publish(st: str) -> None:
        state.write_text(json.dumps({"pid": os.getpid(), "time": time.time(),
                                     "instances": {"VI_1": {"state": st}}}))

    async def run(ns: str) -> None:
        svc = AnnounceService(cfg, str(tmp_path))
        svc._kernel = Kernel(ns)
        stopping = asyncio.Event()
        changed = asyncio.Event()
        follower = asyncio.create_task(svc.follow_vrrp(stopping, changed.set))
        try:
            await svc.update(cfg, {v.key: True})  # no VRRP state yet: not MASTER
            assert not has_addr(ns) and svc.snapshot()[0]["reason"] == "VI_1 is not running"
            publish("MASTER")
            await asyncio.wait_for(changed.wait(), 5)
            await svc.update(cfg, {v.key: True})
            assert has_addr(ns) and "proto keepalived" in routes(ns)
            assert svc.snapshot()[0]["announced"] is True
            changed.clear()
            publish("BACKUP")
            await asyncio.wait_for(changed.wait(), 5)
            await svc.update(cfg, {v.key: True})
            assert not has_addr(ns) and routes(ns) == ""
            publish("MASTER")
            changed.clear()
            await asyncio.wait_for(changed.wait(), 5)
            await svc.update(cfg, {v.key: True})
            assert has_addr(ns)
            await svc.update(cfg, {v.key: False})
            assert not has_addr(ns) and svc.snapshot()[0]["reason"] == "quorum down"
            await svc.update(cfg, {v.key: True})
            assert has_addr(ns)
            # a reload whose config no longer announces: what was announced goes
            await svc.update(Config(virtual_servers=(_vs(without_ipvs=True),)), {v.key: True})
            assert not has_addr(ns) and routes(ns) == "" and svc.snapshot() == []
            await svc.update(cfg, {v.key: True})
            assert has_addr(ns)
        finally:
            stopping.set()
            await follower
            await svc.stop()
        assert not has_addr(ns) and routes(ns) == ""

    with netns("pyk-ann") as ns:
        asyncio.run(run(ns))


def test_pushed_state_wins_and_a_dead_vrrp_child_is_master_of_nothing(tmp_path: Path) -> None:
    """The parent's push (a transition) decides at once; the state file only says whether the
    VRRP child runs: a dead one withdraws, whatever it pushed last."""
    v = _vs(address_dev="lo", only_if_master="VI_1")
    cfg = Config(virtual_servers=(v,))
    state = tmp_path / "vrrp.json"
    pushed: dict[str, str] = {}

    def publish(pid: int) -> None:
        state.write_text(json.dumps({"pid": pid, "time": time.time(),
                                     "instances": {"VI_1": {"state": "BACKUP"}}}))

    async def run(ns: str) -> None:
        svc = AnnounceService(cfg, str(tmp_path), pushed)
        svc._kernel = Kernel(ns)
        stopping = asyncio.Event()
        changed = asyncio.Event()
        follower = asyncio.create_task(svc.follow_vrrp(stopping, changed.set))
        try:
            publish(os.getpid())
            await asyncio.wait_for(changed.wait(), 5)
            await svc.update(cfg, {v.key: True})
            assert not has_addr(ns) and svc.snapshot()[0]["reason"] == "VI_1 is BACKUP"
            pushed["VI_1"] = "MASTER"  # the transition, pushed before the file says so
            await svc.update(cfg, {v.key: True})
            assert has_addr(ns)
            changed.clear()
            dead = subprocess.Popen(["true"])
            dead.wait()
            publish(dead.pid)  # the VRRP child is gone
            await asyncio.wait_for(changed.wait(), 5)
            await svc.update(cfg, {v.key: True})
            assert not has_addr(ns)
            assert svc.snapshot()[0]["reason"] == "VI_1 is not running"
        finally:
            stopping.set()
            await follower
            await svc.stop()

    with netns("pyk-ann") as ns:
        asyncio.run(run(ns))
