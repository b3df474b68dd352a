"""Prometheus renderer (mehdy/keepalived-exporter names) and the loopback endpoint."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import re
import shutil
import subprocess

import pytest
from kad_snapshots import backup_b, config, master_a, pool

from pykeepalived.config.model import VirtualIP
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
    # mehdy/keepalived-exporter >= v1.3.0: no `state` label (a failover must not split series)
    common = lab(iname="VI_1", intf="eth0", vrid="51")
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
    assert m[("keepalived_become_master_total", lab(iname="VI_1", intf="eth0", vrid="51"))] == 1
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
        srv = await metrics.serve("127.0.0.1", 0, lambda: (master_a(), None, None))
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


def test_counter_series_survive_a_failover() -> None:
    """The same counter keeps one series from BACKUP to MASTER (rate() must not reset)."""
    b = parse(metrics.render(backup_b(), None))
    snap = backup_b()
    snap["instances"]["VI_1"]["state"] = "MASTER"
    a = parse(metrics.render(snap, None))
    sent = [k for k in b if k[0] == "keepalived_advertisements_received_total"]
    assert sent and all(k in a for k in sent)


def test_vrrp_state_without_vips_and_excluded() -> None:
    snap = master_a()
    snap["instances"]["VI_1"]["vips"] = []
    m = parse(metrics.render(snap, None))
    assert m[("keepalived_vrrp_state", lab(iname="VI_1", intf="eth0", vrid="51",
                                           ip_address=""))] == 2
    cfg = config("v2pass-a.conf")
    inst = cfg.vrrp_instances[0]
    excl = (VirtualIP(ipaddress.ip_interface("198.51.100.5/32"), dev="eth1"),)
    cfg2 = dataclasses.replace(cfg, vrrp_instances=(
        dataclasses.replace(inst, virtual_ipaddress_excluded=excl),))
    snap = master_a()
    snap["instances"]["VI_1"]["vips"].append("198.51.100.5/32 dev eth1 scope global")
    m = parse(metrics.render(snap, None, cfg2))
    assert m[("keepalived_vrrp_excluded_state", lab(iname="VI_1", intf="eth1", vrid="51",
                                                    ip_address="198.51.100.5/32"))] == 2
    assert ("keepalived_vrrp_state", lab(iname="VI_1", intf="eth1", vrid="51",
                                         ip_address="198.51.100.5/32")) not in m


def test_script_status_and_state() -> None:
    snap = backup_b()
    snap["scripts"] = {"chk_ok": True, "chk_bad": False, "chk_new": None}
    snap["scripts_running"] = ["chk_bad"]
    m = parse(metrics.render(snap, None))
    assert m[("keepalived_script_status", lab(name="chk_ok"))] == 1
    assert m[("keepalived_script_status", lab(name="chk_bad"))] == 0
    assert m[("keepalived_script_state", lab(name="chk_ok"))] == 0  # idle
    assert m[("keepalived_script_state", lab(name="chk_bad"))] == 1  # running
    assert ("keepalived_script_status", lab(name="chk_new")) not in m  # INIT: no sample


def test_gratuitous_arp_delay_from_config() -> None:
    m = parse(metrics.render(master_a(), None, config("v2pass-a.conf")))
    assert m[("keepalived_gratuitous_arp_delay_total",
              lab(iname="VI_1", intf="eth0", vrid="51"))] == 5


def lvs_stats() -> list[dict]:
    """IPVS stats as the checker child publishes them (kernel field names)."""
    return [{"addr": "192.0.2.100:80", "proto": 6,
             "stats": {"conns": 7, "inpkts": 70, "outpkts": 0, "inbytes": 4200,
                       "outbytes": 0},
             "dests": [{"addr": "198.51.100.10:80",
                        "stats": {"conns": 7, "inpkts": 70, "outpkts": 0, "inbytes": 4200,
                                  "outbytes": 0}}]}]


def test_gen2brain_lvs_counters() -> None:
    p = pool()
    p["lvs_stats"] = lvs_stats()
    m = parse(metrics.render(None, p))
    vip = lab(addr="192.0.2.100:80", proto="6")
    rs = lab(addr="198.51.100.10:80", proto="6")
    assert m[("keepalived_lvs_vip_conn", vip)] == 7
    assert m[("keepalived_lvs_vip_in_packets", vip)] == 70
    assert m[("keepalived_lvs_vip_in_bytes", vip)] == 4200
    assert m[("keepalived_lvs_vip_out_bytes", vip)] == 0
    assert m[("keepalived_lvs_rs_in_packets", rs)] == 70
    assert m[("keepalived_lvs_rs_conn", rs)] == 7


def parent_record(checker_running: bool, restarts: int = 0) -> dict:
    last = {"time": 1795259320.5, "pid": 42, "status": "exit status 1",
            "reason": "boom"} if restarts else None
    return {"pid": 1, "children": {
        "vrrp": {"wanted": True, "running": True, "restarts": 0, "last_exit": None},
        "checker": {"wanted": True, "running": checker_running, "restarts": restarts,
                    "last_exit": last}}}


def test_up_and_child_restarts() -> None:
    ok = parse(metrics.render(master_a(), pool(), None, parent_record(True)))
    assert ok[("keepalived_up", lab())] == 1
    assert ok[("pykeepalived_child_restarts_total", lab(child="checker"))] == 0
    # the checker keeps dying: VRRP alone must not make the daemon look healthy
    bad = parse(metrics.render(master_a(), None, None, parent_record(False, restarts=7)))
    assert bad[("keepalived_up", lab())] == 0
    assert bad[("pykeepalived_child_up", lab(child="checker"))] == 0
    assert bad[("pykeepalived_child_restarts_total", lab(child="checker"))] == 7
    assert bad[("pykeepalived_child_last_exit_info",
                lab(child="checker", status="exit status 1", reason="boom"))] == 1


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="needs promtool (Debian package prometheus)")
@pytest.mark.parametrize("case", ["master+pool+lvs", "backup+scripts", "nothing", "children"])
def test_promtool_check_metrics(case: str) -> None:
    """Prometheus's own linter accepts every family we can emit (it exited 3 on
    pykeepalived_lvs_vs_weight_sum before)."""
    p = pool()
    p["lvs_stats"] = lvs_stats()
    b = backup_b()
    b["scripts"] = {"chk": True}
    text = {"master+pool+lvs": lambda: metrics.render(master_a(), p, config("v2pass-a.conf")),
            "backup+scripts": lambda: metrics.render(b, None, config("v2pass-b.conf")),
            "nothing": lambda: metrics.render(None, None),
            "children": lambda: metrics.render(master_a(), None, None,
                                               parent_record(False, 3))}[case]()
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "" and r.stderr.strip() == ""


def test_ipvs_stats_nest_decoding_and_labels() -> None:
    """Both kernel nests decode (STATS64: all u64; legacy STATS: u32 counters, u64 bytes);
    labels as gen2brain prints them (IPv6 without brackets, fwmark services named)."""
    import socket
    import sys as _sys

    from pykeepalived.ipvs import kernel as k

    def u(n: int, width: int) -> bytes:
        return n.to_bytes(width, _sys.byteorder)

    legacy = b"".join(k._nla(i, u(v, w)) for i, v, w in
                      ((1, 3, 4), (2, 30, 4), (3, 20, 4), (4, 5000, 8), (5, 2 ** 33, 8)))
    st = k._stats_from({k._D_STATS: legacy}, k._D_STATS64, k._D_STATS)
    assert st == {"conns": 3, "inpkts": 30, "outpkts": 20, "inbytes": 5000,
                  "outbytes": 2 ** 33}
    wide = b"".join(k._nla(i, u(2 ** 40 + i, 8)) for i in range(1, 11))
    st64 = k._stats_from({k._SVC_STATS64: wide, k._SVC_STATS: legacy}, k._SVC_STATS64,
                         k._SVC_STATS)
    assert st64["conns"] == 2 ** 40 + 1 and st64["outbps"] == 2 ** 40 + 10
    v6 = k.Service.inet("tcp", "2001:db8::1", 443)
    fwm = k.Service.fwm(7)
    plain = metrics.lvs_stats_plain([
        k.ServiceStats(v6, st, ((k.Dest("2001:db8::10", 443, af=socket.AF_INET6), st),)),
        k.ServiceStats(fwm, {}, ())])
    assert plain[0]["addr"] == "2001:db8::1:443" and plain[0]["proto"] == 6
    assert plain[0]["dests"][0]["addr"] == "2001:db8::10:443"
    assert plain[1]["addr"] == "fwmark:7" and plain[1]["proto"] == 0
