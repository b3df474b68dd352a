"""Dumps vs real keepalived 2.2.7 files (tests/data/kad-dumps/), parsed as the exporters do."""

from __future__ import annotations

import json
import re
import time

import pytest
from kad_snapshots import backup_b, config, kad, master_a, pool

from pykeepalived.daemon import dumps

TIMESTAMPED = ("Read timeout",)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The reference dumps were taken on a UTC host; ctime() output depends on TZ."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _sections(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.startswith("------<")]


def _strip_ts(lines: list[str]) -> list[str]:
    return [re.sub(r"= .*", "= <ts>", ln) if ln.strip().split(" =")[0] in TIMESTAMPED else ln
            for ln in lines]


def _upto(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    return lines[:lines.index(header)] if header in lines else lines


@pytest.mark.parametrize(("snap", "conf", "real"), [
    (master_a, "v2pass-a.conf", "keepalived.data.master-a"),
    (backup_b, "v2pass-b.conf", "keepalived.data.backup-b"),
])
def test_data_matches_keepalived(snap, conf, real) -> None:  # type: ignore[no-untyped-def]
    ours = dumps.vrrp_data(snap(), config(conf))
    theirs = kad(real)
    # byte-identical up to the sockpool section, except the read timeout (a live timer)
    # and the socket fd line (the engine does not expose fds yet)
    t = [ln for ln in _upto(theirs, "------< VRRP Sockpool >------") if "fd_in" not in ln]
    assert _strip_ts(_upto(ours, "------< VRRP Sockpool >------")) == _strip_ts(t)
    assert _sections(ours) == ["------< Global definitions >------",
                               "------< VRRP Topology >------"]


def test_data_fd_line_when_known() -> None:
    snap = master_a()
    snap["instances"]["VI_1"]["fds"] = (13, 14)
    assert "   fd_in 13, fd_out 14" in dumps.vrrp_data(snap, config("v2pass-a.conf"))


def test_parent_data_matches_keepalived() -> None:
    ours = dumps.parent_data(config("a-reload-final.conf"))
    assert ours == kad("keepalived_parent.data.master-a-after-reload")


@pytest.mark.parametrize(("snap", "real"), [
    (lambda: master_a(), "keepalived.stats.master-a"),
    (lambda: backup_b(advert_rcvd=6), "keepalived.stats.backup-b"),
])
def test_stats_byte_for_byte(snap, real) -> None:  # type: ignore[no-untyped-def]
    text = kad(real)
    sent = int(re.search(r"Sent: (\d+)", text).group(1))  # type: ignore[union-attr]
    s = snap()
    s["instances"]["VI_1"]["counters"]["advert_sent"] = sent
    assert dumps.vrrp_stats(s) == text


@pytest.mark.parametrize(("snap", "conf", "real"), [
    (master_a, "v2pass-a.conf", "keepalived.json.master-a"),
    (backup_b, "v2pass-b.conf", "keepalived.json.backup-b"),
])
def test_json_byte_for_byte(snap, conf, real) -> None:  # type: ignore[no-untyped-def]
    ours = dumps.vrrp_json(snap(), config(conf))
    theirs = kad(real)
    assert ours.rstrip("\n") == theirs.rstrip("\n")
    a, b = json.loads(ours), json.loads(theirs)
    assert [list(x["data"]) for x in a] == [list(x["data"]) for x in b]
    for x, y in zip(a, b, strict=True):
        for part in ("data", "stats"):
            assert {k: type(v) for k, v in x[part].items()} == \
                {k: type(v) for k, v in y[part].items()}
    assert "\\/24" in ours  # keepalived's json_writer escapes '/'


# ---------------------------------------------------------------- exporter parsers
# Re-implementations of the parsing logic of mehdy/keepalived-exporter
# (internal/collector/parser.go: ParseVRRPData, ParseStats) and gen2brain/keepalived_exporter.

def mehdy_parse_data(text: str) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = {}
    inst = key = val = ""
    for line in text.splitlines():
        if line.startswith(" VRRP Instance") and "=" in line:
            inst = line.strip().split("=")[1].strip()
            data[inst] = {"vips": []}
        elif line.startswith("   ") and inst:
            if line.startswith("     "):
                val = line.strip()
            else:
                if "=" in line:
                    args = line.strip().split("=")
                elif ":" in line:
                    args = line.strip().split(":")
                else:
                    continue
                key = args[0].strip()
                if key == "Virtual IP":
                    continue
                val = args[1].strip()
            if (key.startswith("Virtual IP (") or key == "Virtual IP") and val:
                data[inst]["vips"].append(val)  # type: ignore[union-attr]
            if key in ("State", "Wantstate"):
                assert val in ("INIT", "BACKUP", "MASTER", "FAULT"), val
                data[inst][key] = val
            elif key in ("Interface", "Listening device"):
                data[inst]["intf"] = val
            elif key in ("Gratuitous ARP delay", "Virtual Router ID"):
                data[inst][key] = int(val)
        elif line.startswith((" VRRP Version", " VRRP Script")):
            continue
        else:
            inst = ""
    return data


def mehdy_parse_stats(text: str) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = {}
    inst = section = ""
    for line in text.splitlines():
        if line.startswith("VRRP Instance") and ":" in line:
            inst = line.strip().split(":")[1].strip()
            stats[inst] = {}
        elif line.startswith("  ") and line.endswith(":"):
            section = line.strip().split(":")[0].strip()
        elif line.startswith("    ") and section:
            k, v = (x.strip() for x in line.strip().split(":")[:2])
            stats[inst][f"{section}/{k}"] = int(v)
        elif line.startswith("  ") and not line.endswith(":") and not line.startswith("    "):
            k, v = (x.strip() for x in line.strip().split(":")[:2])
            section = ""
            stats[inst][k] = int(v)
    return stats


def test_mehdy_parses_our_text_dumps_like_keepalived_s() -> None:
    for snap, conf, real in ((master_a, "v2pass-a.conf", "master-a"),
                             (backup_b, "v2pass-b.conf", "backup-b")):
        ours = mehdy_parse_data(dumps.vrrp_data(snap(), config(conf)))
        theirs = mehdy_parse_data(kad(f"keepalived.data.{real}"))
        assert ours == theirs
        assert ours["VI_1"]["intf"] == "eth0" and ours["VI_1"]["Virtual Router ID"] == 51
    s = master_a(advert_sent=7)
    assert mehdy_parse_stats(dumps.vrrp_stats(s)) == \
        mehdy_parse_stats(kad("keepalived.stats.master-a"))
    assert mehdy_parse_stats(dumps.vrrp_stats(s))["VI_1"]["Became master"] == 1


def test_json_decodes_into_exporter_structs() -> None:
    # both exporters decode into typed structs: ints must be ints, vips a list of strings
    doc = json.loads(dumps.vrrp_json(backup_b(), config("v2pass-b.conf")))
    d, st = doc[0]["data"], doc[0]["stats"]
    for k in ("state", "wantstate", "vrid", "garp_delay"):
        assert isinstance(d[k], int) and not isinstance(d[k], bool)
    assert isinstance(d["last_transition"], float)
    assert d["ifp_ifname"] == "eth0" and d["iname"] == "VI_1"
    assert all(isinstance(v, str) for v in d["vips"])
    assert set(st) == set(dumps.STATS_KEYS) and st["advert_rcvd"] == 8
    # mehdy's parseVIP: fields[0] = address, fields[2] = interface
    assert d["vips"][0].split(" ")[0] == "192.0.2.100/24"
    assert d["vips"][0].split(" ")[2] == "eth0"


def test_drop_counters_are_not_in_keepalived_stats() -> None:
    text = dumps.vrrp_stats(backup_b())
    assert "wrong_vrid" not in text and "drop" not in text


def test_vips_excluded_and_scripts_section() -> None:
    cfg = config("v2pass-a.conf")
    snap = master_a()
    snap["scripts"] = {}
    assert "VRRP Scripts" not in dumps.vrrp_data(snap, cfg)


def test_checker_data_layout() -> None:
    text = dumps.checker_data(pool(), config("lvs.conf"))
    assert _sections(text) == ["------< Global definitions >------",
                               "------< LVS Topology >------",
                               "------< Health checkers >------"]
    assert " Router ID = lvs_a" in text
    assert " VS VIP = 192.0.2.100, VPORT = 80" in text
    assert "   RIP = 198.51.100.10, RPORT = 80, WEIGHT = 1" in text
    assert "   RIP = 198.51.100.11, RPORT = 80, WEIGHT = 1" in text
    assert " [192.0.2.100]:tcp:80 -> [198.51.100.11]:tcp:80" in text
    assert text.count("   Up = no") == 1 and text.count("   Up = yes") == 1
    assert "   alive = 1" in text and "   quorum_state_up = 1" in text
    # keepalived 2.2.7 brackets IPv4 too (tests/ipvs/test_check_data_in_guest.py)
    assert "     Dest = [198.51.100.10]:80" in text and "     Timeout = 3.000000" in text


def test_ka_time_format() -> None:
    # keepalived prints ctime() with the microseconds spliced in before the year
    s = dumps.ka_time(1795259314.897460)
    assert re.fullmatch(r"1795259314\.897460 \(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d\.897460 "
                        r"\d{4}\)", s)
