"""VRRP codec against keepalived 2.2.7 captures, crafted bad packets, scapy, and fuzzing."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.vrrp.codec import (
    Accepted,
    AuthType,
    Dropped,
    DropReason,
    RxExpect,
    VrrpAdvert,
    auth_key,
    build_garp,
    build_ipv4,
    build_ipv4_ah,
    build_unsolicited_na,
    decode_advert,
    encode_advert,
    inet_checksum,
    mac_bytes,
    validate_ipv4,
    validate_ipv6,
    vrrp_vmac,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "vrrp"
VECTORS: list[dict[str, Any]] = json.loads((DATA / "vectors.json").read_text())
BY_ID = {v["id"]: v for v in VECTORS}
VRRP_IDS = [v["id"] for v in VECTORS if v["fields"]["kind"] in ("vrrp4", "vrrp6")]
V4_IDS = [v["id"] for v in VECTORS if v["fields"]["kind"] == "vrrp4"]
V6_IDS = [v["id"] for v in VECTORS if v["fields"]["kind"] == "vrrp6"]
# Passwords from the keepalived configs the vectors were captured with (research/kad-conf/).
PASSWORDS = {"vrrp2-multi-advert": "secret12"}
DEFAULT_PASSWORD = "1111"
# keys of keepalived's JSON "stats" object (research/kad-dumps/README.md)
KEEPALIVED_STATS = {
    "advert_rcvd",
    "advert_sent",
    "become_master",
    "release_master",
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "pri_zero_rcvd",
    "pri_zero_sent",
}


# --------------------------------------------------------------------------- pcap reader


def read_pcap(path: Path) -> list[bytes]:
    """Frames of a classic libpcap file (either byte order, µs or ns); Ethernet only."""
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path}: not a pcap file")
    (linktype,) = struct.unpack_from(endian + "I", data, 20)
    assert linktype == 1, f"{path}: linktype {linktype}, expected Ethernet"
    frames = []
    off = 24
    while off + 16 <= len(data):
        _sec, _frac, caplen, _origlen = struct.unpack_from(endian + "IIII", data, off)
        frames.append(data[off + 16 : off + 16 + caplen])
        off += 16 + caplen
    assert off == len(data), f"{path}: trailing garbage"
    return frames


def frame(vid: str) -> bytes:
    (f,) = read_pcap(DATA / f"{vid}.pcap")
    return f


def ip_part(vid: str) -> bytes:
    return frame(vid)[14:]


def expect_for(vid: str, **over: Any) -> RxExpect:
    f = BY_ID[vid]["fields"]
    v = f["vrrp"]
    kw: dict[str, Any] = {
        "vrid": v["vrid"],
        "version": v["version"],
        "family": 4 if f["kind"] == "vrrp4" else 6,
        "adver_int": v["adver_int_s"] if v["version"] == 2 else v["max_adver_int_cs"],
        "addresses": tuple(ip_address(a) for a in v["addresses"]),
        "unicast": not ip_address(f["ip_dst"]).is_multicast,
    }
    if v["version"] == 2 and v["auth_type"] == AuthType.PASS:
        kw["auth_type"] = AuthType.PASS
        kw["auth_key"] = auth_key(PASSWORDS.get(vid, DEFAULT_PASSWORD))
    kw.update(over)
    return RxExpect(**kw)


def accept_v4(packet: bytes, expect: RxExpect, **kw: Any) -> Accepted:
    res = validate_ipv4(packet, expect, **kw)
    assert isinstance(res, Accepted), res
    return res


def drop_v4(packet: bytes, expect: RxExpect, **kw: Any) -> DropReason:
    res = validate_ipv4(packet, expect, **kw)
    assert isinstance(res, Dropped), res
    assert res.detail
    return res.reason


def fix_v2_checksum(ip: bytes) -> bytes:
    """Recompute a v2 VRRP checksum after a crafted change (independent of the codec)."""
    body = bytearray(ip[20:])
    body[6:8] = b"\0\0"
    words = sum(struct.unpack(f"!{len(body) // 2}H", bytes(body)))
    while words >> 16:
        words = (words & 0xFFFF) + (words >> 16)
    body[6:8] = struct.pack("!H", ~words & 0xFFFF)
    return ip[:20] + bytes(body)


def patch(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


def assert_matches_vector(adv: VrrpAdvert, vid: str) -> None:
    v = BY_ID[vid]["fields"]["vrrp"]
    assert adv.version == v["version"]
    assert adv.type == v["type"]
    assert adv.vrid == v["vrid"]
    assert adv.priority == v["priority"]
    assert len(adv.addresses) == v["count_ip"]
    assert [str(a) for a in adv.addresses] == v["addresses"]
    assert adv.checksum == v["checksum"]
    if v["version"] == 2:
        assert adv.adver_int == v["adver_int_s"]
        assert adv.auth_type == v["auth_type"]
        assert adv.auth_data.hex() == v["auth_data"]
    else:
        assert adv.adver_int == v["max_adver_int_cs"]
        assert adv.auth_data == b""


# --------------------------------------------------------------------------- golden vectors


@pytest.mark.parametrize("vid", [v["id"] for v in VECTORS])
def test_pcap_reader_matches_json_hex(vid: str) -> None:
    assert frame(vid).hex() == BY_ID[vid]["hex"]
    assert len(frame(vid)) == BY_ID[vid]["fields"]["frame_len"]


@pytest.mark.parametrize("vid", V4_IDS)
def test_decode_ipv4_vector(vid: str) -> None:
    f = BY_ID[vid]["fields"]
    res = accept_v4(ip_part(vid), expect_for(vid))
    assert_matches_vector(res.advert, vid)
    assert str(res.src) == f["ip_src"]
    assert str(res.dst) == f["ip_dst"]
    assert res.ttl == f["ip_ttl"] == 255
    assert res.ah_seq is None
    bare = decode_advert(ip_part(vid)[20:], 4)
    assert isinstance(bare, VrrpAdvert)
    assert bare == res.advert


@pytest.mark.parametrize("vid", V6_IDS)
def test_decode_ipv6_vector(vid: str) -> None:
    f = BY_ID[vid]["fields"]
    ip6 = ip_part(vid)
    assert ip6[6] == 112  # next header VRRP directly
    res = validate_ipv6(
        ip6[40:], expect_for(vid), src=f["ip_src"], dst=f["ip_dst"], hop_limit=ip6[7]
    )
    assert isinstance(res, Accepted), res
    assert_matches_vector(res.advert, vid)
    assert res.advert.family == 6
    assert res.ttl == f["ip6_hlim"] == 255
    assert decode_advert(ip6[40:], 6) == res.advert


def _encode_from_vector(vid: str, **over: Any) -> bytes:
    f = BY_ID[vid]["fields"]
    v = f["vrrp"]
    kw: dict[str, Any] = {
        "version": v["version"],
        "vrid": v["vrid"],
        "priority": v["priority"],
        "adver_int": v["adver_int_s"] if v["version"] == 2 else v["max_adver_int_cs"],
        "addresses": v["addresses"],
        "src": f["ip_src"],
        "dst": f["ip_dst"],
    }
    if v["version"] == 2:
        kw["auth_type"] = AuthType(v["auth_type"])
        kw["auth_data"] = PASSWORDS.get(vid, DEFAULT_PASSWORD)
    kw.update(over)
    return encode_advert(**kw)


@pytest.mark.parametrize("vid", V4_IDS)
def test_encode_ipv4_vector_byte_identical(vid: str) -> None:
    f = BY_ID[vid]["fields"]
    ip = ip_part(vid)
    msg = _encode_from_vector(vid)
    assert msg == ip[20:]
    # whole datagram as keepalived builds it for IP_HDRINCL: TOS 0xc0, TTL 255, its own IP id
    assert build_ipv4(f["ip_src"], f["ip_dst"], msg, ident=f["ip_id"]) == ip


@pytest.mark.parametrize("vid", V6_IDS)
def test_encode_ipv6_vector_byte_identical(vid: str) -> None:
    assert _encode_from_vector(vid) == ip_part(vid)[40:]


@pytest.mark.parametrize("vid", [i for i in V4_IDS if BY_ID[i]["fields"]["vrrp"]["version"] == 3])
def test_v3_checksum_as_v2_matches_nopseudo_reference(vid: str) -> None:
    """The RFC 9568 / Cisco form: the analyser's own no-pseudo-header checksum."""
    v = BY_ID[vid]["fields"]["vrrp"]
    msg = _encode_from_vector(vid, v3_checksum_as_v2=True, src=None, dst=None)
    assert int.from_bytes(msg[6:8], "big") == v["checksum_calc_nopseudo"]
    assert msg[:6] == ip_part(vid)[20:26] and msg[8:] == ip_part(vid)[28:]


def test_v2_password_truncated_to_8_like_keepalived() -> None:
    # the multi vector was configured with "secret12"; a longer password gives the same bytes
    assert (
        _encode_from_vector("vrrp2-multi-advert", auth_data="secret12345")
        == ip_part("vrrp2-multi-advert")[20:]
    )
    assert auth_key("1111") == b"1111\0\0\0\0"
    assert auth_key(b"abcdefghij") == b"abcdefgh"


def test_v2_noauth_carries_zero_auth_bytes_even_with_password() -> None:
    msg = _encode_from_vector("vrrp2-noauth-advert", auth_data="ignored")
    assert msg == ip_part("vrrp2-noauth-advert")[20:]


@pytest.mark.parametrize("vid", ["garp-v4", "garp-v4-vmac"])
def test_garp_byte_identical(vid: str) -> None:
    f = BY_ID[vid]["fields"]
    assert build_garp(f["eth_src"], f["arp_spa"]) == frame(vid)


def test_unsolicited_na_byte_identical() -> None:
    f = BY_ID["na-unsolicited-v6"]["fields"]
    assert build_unsolicited_na(f["eth_src"], f["target"]) == frame("na-unsolicited-v6")


def test_unsolicited_na_router_flag_keeps_checksum_valid() -> None:
    from scapy.layers.inet6 import ICMPv6ND_NA, IPv6
    from scapy.layers.l2 import Ether

    raw = build_unsolicited_na("02:00:00:00:00:0a", "2001:db8::100", router=True)
    pkt = Ether(raw)
    na = pkt[ICMPv6ND_NA]
    assert (na.R, na.S, na.O) == (1, 0, 1)
    sent = na.cksum
    del pkt[ICMPv6ND_NA].cksum
    assert Ether(bytes(pkt))[ICMPv6ND_NA].cksum == sent
    assert pkt[IPv6].hlim == 255


def test_vmac() -> None:
    assert vrrp_vmac(51) == mac_bytes(BY_ID["vrrp2-vmac-advert"]["fields"]["eth_src"])
    assert vrrp_vmac(51, 6) == bytes.fromhex("00005e000233")
    assert vrrp_vmac(255, 4) == bytes.fromhex("00005e0001ff")
    with pytest.raises(ValueError):
        vrrp_vmac(0)


# --------------------------------------------------------------------------- AH (real captures)

AH_MCAST = read_pcap(DATA / "vrrp2-ah-advert.pcap")
AH_UCAST = read_pcap(DATA / "vrrp2-ah-unicast-advert.pcap")
AH_MCAST_EXPECT = RxExpect(
    vrid=51,
    auth_type=AuthType.AH,
    auth_key=auth_key("secret123"),
    addresses=(IPv4Address("192.0.2.100"),),
)
AH_UCAST_EXPECT = RxExpect(
    vrid=52,
    auth_type=AuthType.AH,
    auth_key=auth_key("pw"),
    addresses=(IPv4Address("192.0.2.200"),),
    unicast=True,
)


@pytest.mark.parametrize(
    ("frames", "dst", "vrid", "vip", "password", "unicast"),
    [
        (AH_MCAST, "224.0.0.18", 51, "192.0.2.100", "secret123", False),
        (AH_UCAST, "192.0.2.12", 52, "192.0.2.200", "pw", True),
    ],
    ids=["multicast", "unicast"],
)
def test_ah_encode_byte_identical_to_keepalived(
    frames: list[bytes], dst: str, vrid: int, vip: str, password: str, unicast: bool
) -> None:
    assert len(frames) >= 3
    for i, fr in enumerate(frames, start=1):
        ip = fr[14:]
        msg = encode_advert(
            version=2,
            vrid=vrid,
            priority=100,
            adver_int=1,
            addresses=[vip],
            auth_type=AuthType.AH,
            auth_data=password,
        )
        built = build_ipv4_ah(
            "192.0.2.11", dst, msg, key=auth_key(password), seq=i, ident=i, zero_ttl=unicast
        )
        assert built == ip
        # TTL is in the ICV for multicast and zeroed for unicast: the wrong choice must differ
        other = build_ipv4_ah(
            "192.0.2.11", dst, msg, key=auth_key(password), seq=i, ident=i, zero_ttl=not unicast
        )
        assert other != ip


def test_ah_decode_and_sequence_numbers() -> None:
    last = 0
    for i, fr in enumerate(AH_MCAST, start=1):
        res = accept_v4(fr[14:], AH_MCAST_EXPECT, ah_last_seq=last)
        assert res.ah_seq == i
        assert res.advert.auth_type == AuthType.AH
        assert res.advert.auth_data == bytes(8)
        assert res.advert.priority == 100
        last = res.ah_seq
    # replay of an already seen sequence number
    assert drop_v4(AH_MCAST[1][14:], AH_MCAST_EXPECT, ah_last_seq=2) is DropReason.AUTH_FAILURE
    ures = accept_v4(AH_UCAST[0][14:], AH_UCAST_EXPECT)
    assert ures.ah_seq == 1 and str(ures.dst) == "192.0.2.12"


def test_ah_icv_against_independent_oracle() -> None:
    """Build the ICV input with scapy (mutable fields zeroed by hand) and stdlib hmac."""
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import AH

    ip = AH_MCAST[0][14:]
    hdr = IP(
        src="192.0.2.11",
        dst="224.0.0.18",
        tos=0,
        ttl=255,
        id=1,
        flags=0,
        proto=51,
        len=len(ip),
        chksum=0,
    )
    ah = AH(nh=112, payloadlen=4, spi=0xC000020B, seq=1, icv=bytes(12))
    zeroed = bytes(hdr)[:20] + bytes(ah)[:24] + ip[44:]
    icv = hmac.new(b"secret12", zeroed, hashlib.md5).digest()[:12]
    assert ip[32:44] == icv


def test_ah_failures() -> None:
    ip = AH_MCAST[0][14:]
    wrong_key = RxExpect(
        vrid=51,
        auth_type=AuthType.AH,
        auth_key=auth_key("secret"),
        addresses=(IPv4Address("192.0.2.100"),),
    )
    assert drop_v4(ip, wrong_key) is DropReason.AUTH_FAILURE
    # priority 100 -> 200 inside the protected VRRP part (VRRP checksum fixed up): ICV fails
    vr = bytearray(ip[44:])
    vr[2] = 200
    vr[6:8] = b"\0\0"
    vr[6:8] = inet_checksum(bytes(vr)).to_bytes(2, "big")
    assert drop_v4(ip[:44] + bytes(vr), AH_MCAST_EXPECT) is DropReason.AUTH_FAILURE
    # SPI must be the source address
    msg = ip[44:]
    forged = build_ipv4_ah(
        "192.0.2.11", "224.0.0.18", msg, key=auth_key("secret123"), seq=9, ident=9
    )
    bad_spi = patch(forged, 24, bytes([192, 0, 2, 99]))
    assert drop_v4(bad_spi, AH_MCAST_EXPECT) is DropReason.AUTH_FAILURE
    # AH protecting something else is ignored (keepalived returns DROP, no counter)
    other = patch(ip, 20, b"\x06")
    assert drop_v4(other, AH_MCAST_EXPECT) is DropReason.AH_NOT_VRRP
    # AH packet while expecting PASS and a PASS packet while expecting AH
    assert drop_v4(ip, expect_for("vrrp2-pass-advert")) is DropReason.AUTH_TYPE_MISMATCH
    assert drop_v4(
        ip_part("vrrp2-pass-advert"),
        AH_MCAST_EXPECT.__class__(vrid=51, auth_type=AuthType.AH, auth_key=auth_key("1111")),
    ) is (DropReason.AUTH_TYPE_MISMATCH)


def test_ah_mutable_fields_excluded() -> None:
    ip = AH_MCAST[0][14:]
    tos = patch(ip, 1, b"\x00")  # TOS is mutable: not in the ICV
    assert accept_v4(tos, AH_MCAST_EXPECT).ah_seq == 1
    # unicast: TTL zeroed for the ICV, and unicast skips the TTL==255 rule
    uip = AH_UCAST[0][14:]
    assert accept_v4(patch(uip, 8, b"\x3f"), AH_UCAST_EXPECT).ttl == 63
    # the IP id is not mutable
    assert drop_v4(patch(ip, 4, b"\x00\x07"), AH_MCAST_EXPECT) is DropReason.AUTH_FAILURE


# --------------------------------------------------------------------------- drop reasons

PASS_IP = ip_part("vrrp2-pass-advert")
PASS_EXPECT = expect_for("vrrp2-pass-advert")
V3_IP = ip_part("vrrp3-ipv4-advert")
V3_EXPECT = expect_for("vrrp3-ipv4-advert")


def test_baseline_vectors_are_accepted() -> None:
    accept_v4(PASS_IP, PASS_EXPECT)
    accept_v4(V3_IP, V3_EXPECT)


@pytest.mark.parametrize("data", [b"", b"\x45", PASS_IP[:19], PASS_IP[:20], PASS_IP[:27]])
def test_truncated(data: bytes) -> None:
    assert drop_v4(data, PASS_EXPECT) is DropReason.TRUNCATED


def test_not_vrrp() -> None:
    assert drop_v4(patch(PASS_IP, 9, b"\x06"), PASS_EXPECT) is DropReason.NOT_VRRP
    assert drop_v4(patch(PASS_IP, 0, b"\x65"), PASS_EXPECT) is DropReason.NOT_VRRP
    assert drop_v4(patch(PASS_IP, 0, b"\x44"), PASS_EXPECT) is DropReason.NOT_VRRP


def test_packet_length() -> None:
    assert drop_v4(PASS_IP[:-1], PASS_EXPECT) is DropReason.PACKET_LENGTH
    assert drop_v4(PASS_IP + b"\0", PASS_EXPECT) is DropReason.PACKET_LENGTH
    # count says 2 addresses but only one is there
    assert drop_v4(fix_v2_checksum(patch(PASS_IP, 23, b"\x02")), PASS_EXPECT) is (
        DropReason.PACKET_LENGTH
    )
    # IP total length disagrees with what was received
    assert drop_v4(patch(PASS_IP, 2, b"\x00\x29"), PASS_EXPECT) is DropReason.PACKET_LENGTH


def test_ttl() -> None:
    assert drop_v4(patch(PASS_IP, 8, b"\x40"), PASS_EXPECT) is DropReason.TTL
    # keepalived does not enforce TTL 255 in unicast mode
    uni = ip_part("vrrp2-unicast-advert")
    assert accept_v4(patch(uni, 8, b"\x40"), expect_for("vrrp2-unicast-advert")).ttl == 64


def test_version() -> None:
    assert drop_v4(PASS_IP, expect_for("vrrp2-pass-advert", version=3)) is DropReason.VERSION
    assert drop_v4(V3_IP, expect_for("vrrp3-ipv4-advert", version=2)) is DropReason.VERSION
    # version nibble 3 on a v2 layout: keepalived's length rule fires first (no auth bytes)
    assert drop_v4(patch(PASS_IP, 20, b"\x31"), PASS_EXPECT) is DropReason.PACKET_LENGTH


def test_wrong_vrid() -> None:
    assert drop_v4(PASS_IP, expect_for("vrrp2-pass-advert", vrid=52)) is DropReason.WRONG_VRID


def test_invalid_type() -> None:
    bad = fix_v2_checksum(patch(PASS_IP, 20, b"\x22"))
    assert drop_v4(bad, PASS_EXPECT) is DropReason.INVALID_TYPE


def test_invalid_auth_type() -> None:
    bad = fix_v2_checksum(patch(PASS_IP, 24, b"\x07"))
    assert drop_v4(bad, PASS_EXPECT) is DropReason.INVALID_AUTH_TYPE


def test_auth_type_mismatch() -> None:
    assert drop_v4(PASS_IP, expect_for("vrrp2-noauth-advert")) is DropReason.AUTH_TYPE_MISMATCH
    noauth = ip_part("vrrp2-noauth-advert")
    assert drop_v4(noauth, PASS_EXPECT) is DropReason.AUTH_TYPE_MISMATCH


def test_wrong_password() -> None:
    exp = expect_for("vrrp2-pass-advert", auth_key=auth_key("2222"))
    assert drop_v4(PASS_IP, exp) is DropReason.AUTH_FAILURE
    # only the first 8 characters count (the multi vector's password was "secret12")
    multi = ip_part("vrrp2-multi-advert")
    assert accept_v4(multi, expect_for("vrrp2-multi-advert", auth_key=auth_key("secret12XYZ")))
    # all 8 bytes are compared, NUL padding included
    assert drop_v4(PASS_IP, expect_for("vrrp2-pass-advert", auth_key=b"1111\0jun")) is (
        DropReason.AUTH_FAILURE
    )


def test_v2_advert_interval_mismatch_dropped() -> None:
    assert drop_v4(PASS_IP, expect_for("vrrp2-pass-advert", adver_int=2)) is (
        DropReason.ADVERT_INTERVAL
    )


def test_v3_advert_interval_mismatch_accepted_and_learned() -> None:
    res = accept_v4(V3_IP, expect_for("vrrp3-ipv4-advert", adver_int=200))
    assert res.advert.adver_int == 100


def test_address_count_and_list() -> None:
    two = (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))
    assert drop_v4(PASS_IP, expect_for("vrrp2-pass-advert", addresses=two)) is (
        DropReason.ADDRESS_COUNT
    )
    other = (IPv4Address("192.0.2.101"),)
    assert drop_v4(PASS_IP, expect_for("vrrp2-pass-advert", addresses=other)) is (
        DropReason.ADDRESS_LIST
    )
    assert accept_v4(
        PASS_IP, expect_for("vrrp2-pass-advert", addresses=other, check_addresses=False)
    )
    # keepalived 2.2.7 drops even when the sender is the address owner (RFC: accept)
    owner = fix_v2_checksum(patch(PASS_IP, 22, b"\xff"))
    assert drop_v4(owner, expect_for("vrrp2-pass-advert", addresses=other)) is (
        DropReason.ADDRESS_LIST
    )
    # order inside the advert does not matter
    multi = ip_part("vrrp2-multi-advert")
    exp = expect_for("vrrp2-multi-advert")
    rev = expect_for("vrrp2-multi-advert", addresses=tuple(reversed(exp.addresses)))
    assert accept_v4(multi, rev)


def test_checksum() -> None:
    bad = patch(PASS_IP, 26, bytes([PASS_IP[26] ^ 0x01]))
    assert drop_v4(bad, PASS_EXPECT) is DropReason.CHECKSUM
    assert drop_v4(patch(V3_IP, 27, bytes([V3_IP[27] ^ 0x80])), V3_EXPECT) is DropReason.CHECKSUM
    # a v3 advert with the pseudo-header fails a v3_checksum_as_v2 receiver and vice versa
    as_v2 = expect_for("vrrp3-ipv4-advert", v3_checksum_as_v2=True)
    assert drop_v4(V3_IP, as_v2) is DropReason.CHECKSUM
    msg = _encode_from_vector("vrrp3-ipv4-advert", v3_checksum_as_v2=True)
    pkt = build_ipv4("192.0.2.11", "224.0.0.18", msg, ident=1)
    assert accept_v4(pkt, as_v2)
    assert drop_v4(pkt, V3_EXPECT) is DropReason.CHECKSUM


def test_v3_unicast_pseudo_header_uses_peer_address() -> None:
    msg = _encode_from_vector("vrrp3-ipv4-advert", dst="192.0.2.12")
    pkt = build_ipv4("192.0.2.11", "192.0.2.12", msg, ident=1)
    assert accept_v4(pkt, expect_for("vrrp3-ipv4-advert", unicast=True))
    # keepalived <= 1.3.6 put the multicast group in the pseudo-header: not accepted here
    old = build_ipv4("192.0.2.11", "192.0.2.12", V3_IP[20:], ident=1)
    assert drop_v4(old, expect_for("vrrp3-ipv4-advert", unicast=True)) is DropReason.CHECKSUM


def test_dest_kind() -> None:
    assert drop_v4(PASS_IP, expect_for("vrrp2-pass-advert", unicast=True)) is (DropReason.DEST_KIND)
    uni = ip_part("vrrp2-unicast-advert")
    assert drop_v4(uni, expect_for("vrrp2-unicast-advert", unicast=False)) is (DropReason.DEST_KIND)


def test_ipv6_drops() -> None:
    vid = "vrrp3-ipv6-advert"
    f = BY_ID[vid]["fields"]
    payload = ip_part(vid)[40:]
    exp = expect_for(vid)
    kw: dict[str, Any] = {"src": f["ip_src"], "dst": f["ip_dst"], "hop_limit": 255}

    def reason(data: bytes, e: RxExpect = exp, **over: Any) -> DropReason:
        res = validate_ipv6(data, e, **{**kw, **over})
        assert isinstance(res, Dropped), res
        return res.reason

    assert reason(payload, hop_limit=64) is DropReason.TTL
    assert isinstance(validate_ipv6(payload, exp, **{**kw, "hop_limit": None}), Accepted)
    assert reason(payload[:7]) is DropReason.TRUNCATED
    assert reason(payload[:-1]) is DropReason.PACKET_LENGTH
    assert reason(payload, expect_for(vid, vrid=1)) is DropReason.WRONG_VRID
    bad = patch(payload, 6, b"\x00\x00")
    assert reason(bad) is DropReason.CHECKSUM
    assert isinstance(validate_ipv6(bad, exp, **kw, verify_checksum=False), Accepted)
    # a different source changes the pseudo-header
    assert reason(payload, src="fe80::ff:fe00:b") is DropReason.CHECKSUM
    assert reason(payload, expect_for(vid, addresses=(IPv6Address("2001:db8::1"),))) is (
        DropReason.ADDRESS_LIST
    )
    assert reason(payload, expect_for(vid, unicast=True)) is DropReason.DEST_KIND
    assert reason(patch(payload, 0, b"\x21")) is DropReason.VERSION
    assert reason(patch(payload, 0, b"\x32")) is DropReason.INVALID_TYPE


def test_drop_reasons_map_to_keepalived_counters() -> None:
    counters = {r.counter for r in DropReason if r.counter is not None}
    assert counters <= KEEPALIVED_STATS
    assert counters == {
        "packet_len_err",
        "ip_ttl_err",
        "invalid_type_rcvd",
        "advert_interval_err",
        "addr_list_err",
        "invalid_authtype",
        "authtype_mismatch",
        "auth_failure",
    }
    assert DropReason.ADDRESS_LIST.counts_as_received
    assert not DropReason.CHECKSUM.counts_as_received


# --------------------------------------------------------------------------- scapy oracle


def test_scapy_oracle_v2_multi_pass() -> None:
    from scapy.layers.inet import IP
    from scapy.layers.vrrp import VRRP

    addrs = ["198.51.100.1", "198.51.100.2", "203.0.113.9"]
    pw = b"abcdefgh"
    ref = bytes(
        VRRP(
            vrid=200,
            priority=254,
            authtype=1,
            adv=3,
            addrlist=addrs,
            auth1=int.from_bytes(pw[:4], "big"),
            auth2=int.from_bytes(pw[4:], "big"),
        )
    )
    assert (
        encode_advert(
            version=2,
            vrid=200,
            priority=254,
            adver_int=3,
            addresses=addrs,
            auth_type=AuthType.PASS,
            auth_data="abcdefghXYZ",
        )
        == ref
    )
    pkt = IP(build_ipv4("198.51.100.5", "224.0.0.18", ref, ident=77))
    assert pkt.ttl == 255 and pkt.tos == 0xC0 and pkt.id == 77
    del pkt.chksum
    assert (
        IP(bytes(pkt)).chksum == IP(build_ipv4("198.51.100.5", "224.0.0.18", ref, ident=77)).chksum
    )


def test_scapy_oracle_v3_ipv4_pseudo_header() -> None:
    from scapy.layers.inet import IP
    from scapy.layers.vrrp import VRRPv3

    addrs = ["192.0.2.1", "192.0.2.2"]
    ref = bytes(
        IP(src="192.0.2.7", dst="224.0.0.18", ttl=255)
        / VRRPv3(vrid=9, priority=150, adv=4095, addrlist=addrs)
    )[20:]
    assert (
        encode_advert(
            version=3,
            vrid=9,
            priority=150,
            adver_int=4095,
            addresses=addrs,
            src="192.0.2.7",
            dst="224.0.0.18",
        )
        == ref
    )


def test_scapy_oracle_v3_ipv6() -> None:
    from scapy.layers.inet6 import IPv6
    from scapy.layers.vrrp import VRRPv3

    addrs = ["fe80::1", "2001:db8::5", "2001:db8::6"]
    ref = bytes(
        IPv6(src="fe80::2", dst="ff02::12", hlim=255)
        / VRRPv3(vrid=255, priority=1, adv=1, addrlist=addrs)
    )[40:]
    mine = encode_advert(
        version=3, vrid=255, priority=1, adver_int=1, addresses=addrs, src="fe80::2", dst="ff02::12"
    )
    assert mine == ref


def test_scapy_decodes_our_garp() -> None:
    from scapy.layers.l2 import ARP, Ether

    pkt = Ether(build_garp("02:00:00:00:00:0c", "203.0.113.5"))
    assert pkt.dst == "ff:ff:ff:ff:ff:ff"
    assert pkt[ARP].op == 1
    assert pkt[ARP].psrc == pkt[ARP].pdst == "203.0.113.5"
    assert pkt[ARP].hwsrc == "02:00:00:00:00:0c"
    assert pkt[ARP].hwdst == "ff:ff:ff:ff:ff:ff"


@given(st.binary(max_size=300))
def test_checksum_matches_scapy(data: bytes) -> None:
    from scapy.utils import checksum

    assert inet_checksum(data) == checksum(data)


# --------------------------------------------------------------------------- encode errors


def test_encode_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        encode_advert(version=2, vrid=1, priority=100, adver_int=1, addresses=["2001:db8::1"])
    with pytest.raises(ValueError):
        encode_advert(version=3, vrid=1, priority=100, adver_int=100, addresses=["192.0.2.1"])
    with pytest.raises(ValueError):
        encode_advert(
            version=3,
            vrid=1,
            priority=100,
            adver_int=4096,
            addresses=["192.0.2.1"],
            src="192.0.2.2",
            dst="224.0.0.18",
        )
    with pytest.raises(ValueError):
        encode_advert(version=2, vrid=0, priority=100, adver_int=1, addresses=["192.0.2.1"])
    with pytest.raises(ValueError):
        encode_advert(version=4, vrid=1, priority=100, adver_int=1, addresses=["192.0.2.1"])
    with pytest.raises(ValueError):
        RxExpect(vrid=1, family=6, version=2)


# --------------------------------------------------------------------------- properties

_V4 = st.builds(IPv4Address, st.integers(0, 2**32 - 1))
_V6 = st.builds(IPv6Address, st.integers(0, 2**128 - 1))


@settings(max_examples=300)
@given(st.binary(max_size=200), st.integers(0, 2**32 - 1))
def test_validate_and_decode_never_raise_on_garbage(data: bytes, seq: int) -> None:
    for exp in (PASS_EXPECT, V3_EXPECT, AH_MCAST_EXPECT, AH_UCAST_EXPECT):
        assert isinstance(validate_ipv4(data, exp, ah_last_seq=seq), Accepted | Dropped)
    assert isinstance(
        validate_ipv6(
            data, expect_for("vrrp3-ipv6-advert"), src="fe80::1", dst="ff02::12", hop_limit=255
        ),
        Accepted | Dropped,
    )
    assert isinstance(decode_advert(data, 4), VrrpAdvert | Dropped)
    assert isinstance(decode_advert(data, 6), VrrpAdvert | Dropped)


_SEEDS = [ip_part(i) for i in V4_IDS] + [fr[14:] for fr in AH_MCAST + AH_UCAST]


@settings(max_examples=400)
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 80), st.integers(0, 255)), max_size=4),
    st.integers(0, 90),
)
def test_validate_never_raises_on_mutated_adverts(
    seed: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    """Random byte edits and truncations of real adverts reach the deep checks."""
    data = bytearray(seed)
    for pos, val in edits:
        if pos < len(data):
            data[pos] = val
    raw = bytes(data[: len(data) - cut % (len(data) + 1)])
    for exp in (PASS_EXPECT, V3_EXPECT, AH_MCAST_EXPECT, AH_UCAST_EXPECT):
        res = validate_ipv4(raw, exp)
        if isinstance(res, Dropped):
            assert isinstance(res.reason, DropReason)
        else:
            assert res.advert.vrid == exp.vrid


@given(
    version=st.sampled_from([2, 3]),
    vrid=st.integers(1, 255),
    priority=st.integers(0, 255),
    adv=st.integers(1, 255),
    addrs=st.lists(_V4, max_size=20),
    src=_V4,
    password=st.binary(max_size=12),
    auth=st.sampled_from([AuthType.NONE, AuthType.PASS]),
)
def test_encode_validate_roundtrip_v4(
    version: int,
    vrid: int,
    priority: int,
    adv: int,
    addrs: list[IPv4Address],
    src: IPv4Address,
    password: bytes,
    auth: AuthType,
) -> None:
    dst = IPv4Address("224.0.0.18")
    kw: dict[str, Any] = {}
    if version == 2:
        kw = {"auth_type": auth, "auth_data": password}
    msg = encode_advert(
        version=version,
        vrid=vrid,
        priority=priority,
        adver_int=adv,
        addresses=addrs,
        src=src,
        dst=dst,
        **kw,
    )
    exp = RxExpect(
        vrid=vrid,
        version=version,
        adver_int=adv,
        addresses=tuple(addrs),
        auth_type=auth if version == 2 else AuthType.NONE,
        auth_key=auth_key(password) if version == 2 and auth else bytes(8),
    )
    res = accept_v4(build_ipv4(src, dst, msg, ident=1), exp)
    assert res.advert.priority == priority
    assert res.advert.addresses == tuple(addrs)
    assert res.advert.adver_int == adv
    assert res.src == src


@given(
    vrid=st.integers(1, 255),
    priority=st.integers(0, 255),
    adv=st.integers(0, 4095),
    addrs=st.lists(_V6, max_size=10),
    src=_V6,
)
def test_encode_validate_roundtrip_v6(
    vrid: int, priority: int, adv: int, addrs: list[IPv6Address], src: IPv6Address
) -> None:
    dst = IPv6Address("ff02::12")
    msg = encode_advert(
        version=3, vrid=vrid, priority=priority, adver_int=adv, addresses=addrs, src=src, dst=dst
    )
    exp = RxExpect(vrid=vrid, version=3, family=6, addresses=tuple(addrs))
    res = validate_ipv6(msg, exp, src=src, dst=dst, hop_limit=255)
    assert isinstance(res, Accepted), res
    assert res.advert.addresses == tuple(addrs) and res.advert.adver_int == adv
