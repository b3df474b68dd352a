"""Shared fuzz targets for the hardening tests and bench/fuzz_*.py.

Why one module: the short CI runs (hypothesis), the long runs (atheris or hypothesis) and the
corpus replay must exercise exactly the same code and the same invariants, so a crash found by
a long run replays unchanged as a regression test.

VRRP target: a packet goes through codec.validate_ipv4 / validate_ipv6 for several realistic
instance expectations; accepted packets are fed to fsm.step in BACKUP and MASTER states.
Invariants: no exception; dropped packets never reach the FSM (and, in the engine, leave the
state object untouched); accepted packets leave a well-formed FSM state.
Config target: the whole loader (reader, Lark, keyword table, model) on arbitrary text.
"""

from __future__ import annotations

import hashlib
import json
import struct
import tempfile
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

from pykeepalived.vrrp import codec, fsm

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
DATA = HERE.parent / "data" / "vrrp"
VECTORS: list[dict[str, Any]] = json.loads((DATA / "vectors.json").read_text())
PASSWORDS = {"vrrp2-multi-advert": "secret12"}


def _expect(v: dict[str, Any]) -> codec.RxExpect:
    f, r = v["fields"], v["fields"]["vrrp"]
    kw: dict[str, Any] = {
        "vrid": r["vrid"], "version": r["version"],
        "family": 4 if f["kind"] == "vrrp4" else 6,
        "adver_int": r["adver_int_s"] if r["version"] == 2 else r["max_adver_int_cs"],
        "addresses": tuple(ip_address(a) for a in r["addresses"]),
        "unicast": not ip_address(f["ip_dst"]).is_multicast,
    }
    if r["version"] == 2 and r["auth_type"] == codec.AuthType.PASS:
        kw["auth_type"] = codec.AuthType.PASS
        kw["auth_key"] = codec.auth_key(PASSWORDS.get(v["id"], "1111"))
    return codec.RxExpect(**kw)


def _pcap_frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(endian + "I", data, off + 8)[0]
        out.append(data[off + 16 : off + 16 + incl])
        off += 16 + incl
    return out


V4 = [v for v in VECTORS if v["fields"]["kind"] == "vrrp4"]
V6 = [v for v in VECTORS if v["fields"]["kind"] == "vrrp6"]
# (IP datagram, expectation) seeds: every golden v4 advert, plus the AH captures
SEEDS4: list[bytes] = [bytes.fromhex(v["hex"])[14:] for v in V4]
SEEDS4 += [fr[14:] for fr in _pcap_frames(DATA / "vrrp2-ah-advert.pcap")]
SEEDS4 += [fr[14:] for fr in _pcap_frames(DATA / "vrrp2-ah-unicast-advert.pcap")]
SEEDS6: list[tuple[bytes, IPv6Address, IPv6Address]] = [
    (bytes.fromhex(v["hex"])[54:], IPv6Address(v["fields"]["ip_src"]),
     IPv6Address(v["fields"]["ip_dst"])) for v in V6]
EXPECT4: list[codec.RxExpect] = [_expect(v) for v in V4] + [
    codec.RxExpect(vrid=51, auth_type=codec.AuthType.AH, auth_key=codec.auth_key("secret123"),
                   addresses=(IPv4Address("192.0.2.100"),)),
    codec.RxExpect(vrid=52, auth_type=codec.AuthType.AH, auth_key=codec.auth_key("pw"),
                   addresses=(IPv4Address("192.0.2.200"),), unicast=True),
    # skip_check_adv_addr: the address list is not checked, so more packets reach the FSM
    codec.RxExpect(vrid=51, check_addresses=False, auth_type=codec.AuthType.PASS,
                   auth_key=codec.auth_key("1111")),
    codec.RxExpect(vrid=51, version=3, adver_int=100, check_addresses=False),
]
EXPECT6: list[codec.RxExpect] = [_expect(v) for v in V6] + [
    codec.RxExpect(vrid=51, version=3, family=6, adver_int=100, check_addresses=False)]
# de-duplicate expectations (several vectors share a config)
EXPECT4 = list({repr(e): e for e in EXPECT4}.values())
EXPECT6 = list({repr(e): e for e in EXPECT6}.values())


def _fsm_states(exp: codec.RxExpect) -> list[tuple[fsm.InstanceState, float]]:
    """A BACKUP and a MASTER instance for the expectation's VRID, as the engine builds them."""
    addr = IPv4Address("192.0.2.12") if exp.family == 4 else IPv6Address("fe80::12")
    ival = float(exp.adver_int) if exp.version == 2 else exp.adver_int / 100
    cfg = fsm.FsmConfig(vrid=exp.vrid, address=addr, priority=100, advert_int=ival,
                        version=exp.version)
    backup, _ = fsm.step(fsm.initial_state(cfg), fsm.Startup(), 1000.0)
    t_master = 1000.0 + 10 * ival + 1  # past Master_Down_Interval: the down timer fires
    master, _ = fsm.step(backup, fsm.Tick(), t_master)
    assert master.state is fsm.State.MASTER
    return [(backup, 1000.01), (master, t_master + 0.01)]


_STATES: dict[str, list[tuple[fsm.InstanceState, float]]] = {}


def check_fsm(st: fsm.InstanceState, res: codec.Accepted, now: float) -> None:
    """Feed one accepted advert; the result must be a sane state with a future wake-up."""
    adv = res.advert
    ival = adv.adver_int / 100 if adv.version == 3 else float(adv.adver_int)
    new, actions = fsm.step(st, fsm.AdvertReceived(adv.priority, res.src, ival), now)
    assert new.state in (fsm.State.BACKUP, fsm.State.MASTER), new.state
    assert new.priority == st.priority and new.cfg is st.cfg
    dl = fsm.next_deadline(new)
    assert dl is not None and dl >= now, (dl, now)
    # nothing in the FSM may schedule a timer unboundedly far away (a "hang" by zero interval)
    assert dl - now <= 4 * max(ival, new.master_adver_int, st.cfg.advert_int) + 1
    for a in actions:
        assert isinstance(a, fsm.SendAdvert | fsm.AddVips | fsm.DelVips | fsm.Announce
                          | fsm.Notify | fsm.RequestMaster), a


def run_vrrp4(data: bytes, seq: int = 0) -> int:
    """One IPv4 input through every expectation; returns how many were accepted."""
    accepted = 0
    for exp in EXPECT4:
        res = codec.validate_ipv4(data, exp, ah_last_seq=seq)
        if isinstance(res, codec.Dropped):
            assert isinstance(res.reason, codec.DropReason) and res.detail
            continue
        assert isinstance(res, codec.Accepted), res
        assert res.advert.vrid == exp.vrid and res.advert.version == exp.version
        accepted += 1
        key = repr(exp)
        if key not in _STATES:
            _STATES[key] = _fsm_states(exp)
        for st, now in _STATES[key]:
            check_fsm(st, res, now)
    return accepted


def run_vrrp6(data: bytes, src: IPv6Address, dst: IPv6Address, hop: int | None) -> int:
    accepted = 0
    for exp in EXPECT6:
        res = codec.validate_ipv6(data, exp, src=src, dst=dst, hop_limit=hop)
        if isinstance(res, codec.Dropped):
            assert isinstance(res.reason, codec.DropReason) and res.detail
            continue
        accepted += 1
        key = repr(exp)
        if key not in _STATES:
            _STATES[key] = _fsm_states(exp)
        for st, now in _STATES[key]:
            check_fsm(st, res, now)
    return accepted


def run_vrrp_bytes(blob: bytes) -> None:
    """Byte-level entry for atheris and the corpus: byte 0 picks the family and hop limit."""
    if not blob:
        return
    sel, rest = blob[0], blob[1:]
    if sel & 1:
        seed = SEEDS6[(sel >> 1) % len(SEEDS6)]
        run_vrrp6(rest, seed[1], seed[2], None if sel & 2 else 255)
    else:
        run_vrrp4(rest, seq=sel >> 1)
    for fam in (4, 6):
        assert isinstance(codec.decode_advert(rest, fam), codec.VrrpAdvert | codec.Dropped)


def run_config_text(text: str) -> None:
    """The whole loader on arbitrary text: never raises, every diagnostic is actionable."""
    from pykeepalived.config import LoadOptions, load_config
    from pykeepalived.config.host import HostInfo

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "k.conf"
        p.write_text(text, errors="surrogateescape")
        res = load_config(str(p), LoadOptions(host=HostInfo(frozenset({"eth0"})),
                                              check_scripts=False))
        for diag in res.diagnostics.items:
            assert diag.message


def save_crash(kind: str, data: bytes) -> Path:
    """Store a crashing input where test_corpus.py replays it."""
    d = CORPUS / kind
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"crash-{hashlib.sha1(data).hexdigest()[:16]}"
    p.write_bytes(data)
    return p
