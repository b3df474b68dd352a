"""Keywords added after keepalived 2.2.7 (2.2.8 .. 2.4.x): recognised, and honoured where they
change behaviour (issue 11). Verdicts are compared with keepalived 2.3.3's own `-t` where the
oracle can run; the 2.4 keywords and the man page's *_file_location names are intended
differences (pykeepalived/config/compat.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from helpers import kad233
from helpers.configs import load_text
from helpers.engine import engine_rt
from helpers.netns import add_veth_pair, netns, requires_netns

from pykeepalived.config.compat import is_intended_for
from pykeepalived.daemon import paths
from pykeepalived.vrrp import codec, fsm
from pykeepalived.vrrp.sockets import RxPacket

INST = ("vrrp_instance VI {{\n interface eth0\n virtual_router_id 1\n priority {prio}\n"
        "{extra}\n virtual_ipaddress {{\n  192.0.2.1/24\n }}\n}}\n")


def inst(extra: str, prio: int = 100) -> str:
    return INST.format(prio=prio, extra=extra)


def glob(line: str) -> str:
    return f"global_defs {{\n {line}\n}}\n" + inst("")


VS = ("virtual_server 192.0.2.100 443 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
      " real_server 192.0.2.12 443 {{\n  SSL_GET {{\n{body}\n  }}\n }}\n}}\n")

# (id, config): every keyword of issue 11, in the place keepalived takes it
PROBES: list[tuple[str, str]] = [
    ("v3_checksum_as_v2-global", glob("v3_checksum_as_v2")),
    ("v3_checksum_as_v2-instance", inst(" version 3\n v3_checksum_as_v2 true")),
    ("no_virtual_ipaddress", "vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n"
                             " no_virtual_ipaddress\n}\n"),
    ("timer_expired_backup", inst(" nopreempt\n timer_expired_backup")),
    ("timer_expired_backup-prio", inst(" nopreempt\n timer_expired_backup 200")),
    ("timer_expired_backup-bad", inst(" nopreempt\n timer_expired_backup 255")),
    ("thread_timer_expired", inst(" nopreempt\n thread_timer_expired")),
    ("timer_expired_backup-no-nopreempt-bad", inst(" timer_expired_backup")),
    ("json_version", glob("json_version 2")),
    ("json_version-bad", glob("json_version 3")),
    ("multihop", "bfd_instance b {\n neighbor_ip 192.0.2.9\n multihop\n}\n"),
    ("tls_compliant", VS.format(body="   tls_compliant\n   url {\n    path /\n   }")),
    ("tls_compliant-url", VS.format(body="   url {\n    path /\n    tls_compliant\n   }")),
    ("use_symlink_paths", glob("use_symlink_paths true")),
    ("dbus_no_interface_name", glob("dbus_no_interface_name none0")),
    ("snmp_vs_stats_update_interval", glob("snmp_vs_stats_update_interval 2.5")),
    ("snmp_rs_stats_update_interval", glob("snmp_rs_stats_update_interval 30")),
    ("snmp_stats_update_interval-bad", glob("snmp_vs_stats_update_interval 31")),
    ("iproute_usr_dir", glob("iproute_usr_dir /usr/lib/iproute2")),
    ("iproute_etc_dir", glob("iproute_etc_dir /etc/iproute2")),
    ("owner_ignore_adverts", inst(" owner_ignore_adverts", prio=255)),
    ("owner_ignore_adverts-not-owner", inst(" owner_ignore_adverts")),
    ("vrrp_owner_ignore_adverts", glob("vrrp_owner_ignore_adverts")),
    ("state_dump_file", glob("state_dump_file /run/pyk-test/ka.data")),
    ("stats_dump_file", glob("stats_dump_file /run/pyk-test/")),
    ("json_dump_file", glob("json_dump_file /run/pyk-test/ka.json")),
    ("state_dump_file-empty", glob("state_dump_file")),
    ("state_file_location", glob("state_file_location /run/pyk-test/ka.data")),
    ("stats_file_location", glob("stats_file_location /run/pyk-test/ka.stats")),
    ("json_file_location", glob("json_file_location /run/pyk-test/ka.json")),
    ("auth_hmac", inst(" auth_hmac {\n  key 0123456789abcdef0123456789abcdef\n }")),
    ("vrrp_delay_after_boot", glob("vrrp_delay_after_boot 30")),
    ("vrrp_script-decimals", "vrrp_script chk {\n script /usr/bin/true\n interval 1.5\n"
                             " timeout 0.5\n}\n" + inst(" track_script {\n  chk\n }")),
    ("strict_mode-bool", inst(" strict_mode false\n skip_check_adv_addr true")),
]
# keepalived 2.4 keywords, and the names only the 2.3.3 man page uses: 2.3.3's -t rejects them
NOT_IN_233 = {"auth_hmac", "vrrp_delay_after_boot", "state_file_location",
              "stats_file_location", "json_file_location"}


@pytest.mark.parametrize("name,text", PROBES, ids=[p[0] for p in PROBES])
def test_recognised(tmp_path: Path, name: str, text: str) -> None:
    res = load_text(tmp_path, text)
    unknown = [d.message for d in res.diagnostics.items if "Unknown keyword" in d.message]
    assert unknown == []
    bad = name.endswith(("-bad", "-empty", "-not-owner")) or name == "thread_timer_expired"
    assert (res.exit_code() != 0) == bad, [d.message for d in res.diagnostics.items]


def test_honoured_values(tmp_path: Path) -> None:
    cfg = load_text(tmp_path, glob("v3_checksum_as_v2\n vrrp_owner_ignore_adverts\n"
                                   " state_file_location /run/x/ka.data\n"
                                   " stats_dump_file /run/x/\n json_dump_file rel.json")
                    .replace("priority 100", "priority 255")).config
    g = cfg.global_defs
    assert (g.state_dump_file, g.stats_dump_file, g.json_dump_file) == (
        "/run/x/ka.data", "/run/x/", "/rel.json")
    i = cfg.vrrp_instances[0]
    assert i.v3_checksum_as_v2 and i.owner_ignore_adverts
    # an instance's own value wins over the global default
    cfg = load_text(tmp_path, glob("v3_checksum_as_v2").replace(
        "priority 100", "priority 100\n v3_checksum_as_v2 false")).config
    assert not cfg.vrrp_instances[0].v3_checksum_as_v2
    # only an address owner ignores adverts (2.3.3: a config error otherwise)
    res = load_text(tmp_path, glob("vrrp_owner_ignore_adverts"))
    assert res.exit_code() == 0 and not res.config.vrrp_instances[0].owner_ignore_adverts


def test_dump_file_locations(tmp_path: Path) -> None:
    """As keepalived 2.3.3 writes them (checked by running it): a file, or a directory."""
    cfg = load_text(tmp_path, glob("state_dump_file /run/ka/st.data\n"
                                   " stats_dump_file /run/kb/\n json_dump_file /run/kc/j")).config
    args = argparse.Namespace(dump_dir=None)
    g = cfg.global_defs
    assert paths.dump_file(args, "data", g) == "/run/ka/st.data"
    assert paths.dump_file(args, "check_data", g) == "/run/ka/st_checker.data"
    assert paths.dump_file(args, "parent_data", g) == "/run/ka/st_parent.data"  # as 2.3.3
    assert paths.dump_file(args, "stats", g) == "/run/kb/keepalived.stats"
    assert paths.dump_file(args, "json", g) == "/run/kc/j"
    # no keyword: /tmp as before; --dump-dir on the command line wins over the config
    assert paths.dump_file(args, "data", load_text(tmp_path, inst("")).config.global_defs) \
        == "/tmp/keepalived.data"
    assert paths.dump_file(argparse.Namespace(dump_dir=str(tmp_path)), "data", g) \
        == str(tmp_path / "keepalived.data")


def test_noop_keywords_say_what_they_do_not_do(tmp_path: Path) -> None:
    res = load_text(tmp_path, inst(" auth_hmac {\n  key 00\n }\n nopreempt\n timer_expired_backup"))
    said = " ".join(d.message for d in res.diagnostics.warnings)
    assert "auth_hmac" in said and "HMAC" in said and "timer_expired_backup" in said
    assert res.exit_code() == 0


def test_env_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """keepalived 2.4's ${_ENV NAME}: the value of an environment variable."""
    monkeypatch.setenv("PYK_TEST_PRIO", "123")
    cfg = load_text(tmp_path, inst("").replace("priority 100", "priority ${_ENV PYK_TEST_PRIO}"))
    assert cfg.config.vrrp_instances[0].priority == 123


def test_owner_ignore_adverts_drops_every_advert(tmp_path: Path) -> None:
    conf = inst(" owner_ignore_adverts", prio=255).replace("VI {", "VI_1 {") \
        .replace("virtual_router_id 1", "virtual_router_id 51")
    eng, rt = engine_rt(tmp_path, conf)
    assert rt.cfg.owner_ignore_adverts
    peer = IPv4Address("192.0.2.13")
    msg = codec.encode_advert(version=2, vrid=51, priority=255, adver_int=1,
                              addresses=[IPv4Address("192.0.2.1")])
    pkt = codec.build_ipv4(peer, codec.VRRP_MCAST4, msg, ident=1)

    async def main() -> None:
        eng.loop = asyncio.get_running_loop()
        eng._feed(rt, fsm.Startup())
        before = rt.st
        for _ in range(3):
            eng._on_packet(rt, RxPacket(4, pkt))
        assert rt.st is before
        if rt.timer is not None:
            rt.timer.cancel()

    asyncio.run(main())
    assert rt.counters["drop_owner_ignore"] == 3
    assert rt.counters.get("advert_rcvd", 0) == 0


# ------------------------------------------------------------------ against keepalived 2.3.3
@pytest.fixture(scope="module")
def ns() -> Iterator[str]:
    reason = kad233.skip_reason()
    if reason:
        pytest.skip(reason)
    with netns("pyk-k233") as name:
        add_veth_pair(name, "eth0", "eth1", "192.0.2.11/24")
        yield name


@requires_netns
@pytest.mark.netns
@pytest.mark.keepalived
@pytest.mark.parametrize("name,text", PROBES, ids=[p[0] for p in PROBES])
def test_same_verdict_as_keepalived_233(ns: str, tmp_path: Path, name: str, text: str) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n enable_script_security\n script_user root\n}\n" + text)
    rc3, lines = kad233.run(conf, tmp_path, ns)
    msgs = [m for _, m in kad233.parse(lines)]
    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "pykeepalived", "-t",
                        "--json", "-f", str(conf)], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert "Traceback" not in p.stderr, p.stderr
    ours = json.loads(p.stdout or "[]")
    report = f"2.3.3 rc={rc3}: {msgs}\nours rc={p.returncode}: {[d['message'] for d in ours]}"
    if name.split("-")[0] in NOT_IN_233:
        # 2.3.3 rejects the keyword; we accept it on purpose (listed in compat.py)
        first = f"Unknown keyword '{name.split('-')[0]}'"
        assert first in msgs and is_intended_for(first, "2.3.3"), report
        assert rc3 != 0 and p.returncode == 0, report
        return
    assert p.returncode == rc3, report


def test_promote_secondaries(tmp_path: Path) -> None:
    """Honoured on the interface (tests/integration/test_vrrp_promote_secondaries.py); with a
    VMAC keepalived 2.2.7 and 2.3.3 both call it a config error (corpus kdt/1887)."""
    assert load_text(tmp_path, inst(" promote_secondaries")).config.vrrp_instances[0] \
        .promote_secondaries
    res = load_text(tmp_path, inst(" promote_secondaries\n use_vmac"))
    assert res.exit_code() == 5
    assert "promote_secondaries is automatically set for vmacs" in " ".join(
        d.message for d in res.diagnostics.errors)
