"""Prometheus renderer (mehdy/keepalived-exporter names) and the loopback endpoint."""

from __future__ import annotations

import asyncio
import re

from kad_snapshots import backup_b, config, master_a, pool

from pykeepalived.daemon import metrics

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Minimal exposition-format parser: every non-comment line must be a valid sample."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) \w+ ", line), line
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def lab(**kv: str) -> frozenset[tuple[str, str]]:
    return frozenset(kv.items())


def test_mehdy_names_and_labels() -> None:
    m = parse(metrics.render(backup_b(), None, config("v2pass-b.conf")))
    common = lab(iname="VI_1", intf="eth0", vrid="51", state="BACKUP")
    assert m[("keepalived_up", lab())] == 1
    assert m[("keepalived_vrrp_state", lab(iname="VI_1", intf="eth0", vrid="51",
                                           ip_address="192.0.2.100/24"))] == 1
    assert m[("keepalived_advertisements_received_total", common)] == 8
    for name, _, _ in metrics.VRRP_COUNTERS:
        assert (name, common) in m, name
    assert m[("keepalived_gratuitous_arp_delay_total", common)] == 5
    assert m[("pykeepalived_vrrp_dropped_packets_total",
              lab(iname="VI_1", vrid="51", reason="wrong_vrid"))] == 2


def test_master_and_extras() -> None:
    m = parse(metrics.render(master_a(), pool()))
    assert m[("keepalived_vrrp_state", lab(iname="VI_1", intf="eth0", vrid="51",
                                           ip_address="192.0.2.100/24"))] == 2
    assert m[("keepalived_become_master_total",
              lab(iname="VI_1", intf="eth0", vrid="51", state="MASTER"))] == 1
    assert m[("pykeepalived_loop_lateness_max_seconds", lab())] == 0.002
    assert m[("pykeepalived_lvs_rs_up", lab(vs="[192.0.2.100]:tcp:80",
                                            rs="198.51.100.11:80"))] == 0
    assert m[("pykeepalived_lvs_rs_weight", lab(vs="[192.0.2.100]:tcp:80",
                                                rs="198.51.100.10:80"))] == 1
    assert m[("pykeepalived_lvs_vs_quorum_up", lab(vs="[192.0.2.100]:tcp:80"))] == 1


def test_one_help_per_family() -> None:
    text = metrics.render(master_a(), pool())
    helps = [ln.split()[2] for ln in text.splitlines() if ln.startswith("# HELP")]
    assert len(helps) == len(set(helps))


def test_nothing_running() -> None:
    assert parse(metrics.render(None, None)) == {("keepalived_up", frozenset()): 0}


def test_server_on_loopback() -> None:
    async def go() -> tuple[bytes, bytes]:
        srv = await metrics.serve("127.0.0.1", 0, lambda: (master_a(), None))
        port = srv.sockets[0].getsockname()[1]
        try:
            async def get(path: str) -> bytes:
                r, w = await asyncio.open_connection("127.0.0.1", port)
                w.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                data = await asyncio.wait_for(r.read(), 5)
                w.close()
                return data
            return await get("/metrics"), await get("/other")
        finally:
            srv.close()
            await srv.wait_closed()

    ok, missing = asyncio.run(go())
    head, _, body = ok.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") and b"version=0.0.4" in head
    assert b"keepalived_advertisements_sent_total" in body
    assert missing.startswith(b"HTTP/1.0 404")
