"""VRRP wire codec: adverts (v2/v3, IPv4/IPv6), IPsec AH, receive checks, GARP/NA frames.

Pure functions over bytes; no sockets, no scapy. Wire behaviour follows keepalived 2.2.7
(see research/vrrp-rfc.md and the captures in tests/data/vrrp/), not the RFC where they differ:

* VRRPv3 over IPv4 includes an IPv4 pseudo-header in the checksum unless
  ``v3_checksum_as_v2`` (RFC 9568 reading) is set.
* v2 auth data is the password truncated / NUL-padded to 8 bytes, present (zero) even with no
  authentication; AH is RFC 2402 with HMAC-MD5-96 keyed with those same 8 bytes.
* Receive checks run in keepalived's order and map onto its stats counters, including its
  deviations: a v2 interval mismatch is dropped; an address count/list mismatch is dropped
  even when the sender is the address owner (RFC: accept from the owner).

Everything here is on the daemon's hot path, so it is plain ``struct`` with precompiled
formats, and the validators never raise on any input bytes: malformed input is a DropReason.
"""

from __future__ import annotations

import struct

# hmac.compare_digest without importing hmac, which loads OpenSSL (3.6 MB RSS, 4 ms in the VRRP
# child, which needs it for AH only); it is the very function hmac falls back to
from _operator import _compare_digest as compare_digest
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from ipaddress import IPv4Address, IPv6Address, ip_address

__all__ = [
    "AH_HEADER_LEN",
    "ETH_P_ARP",
    "ETH_P_IP",
    "ETH_P_IPV6",
    "IPPROTO_AH",
    "IPPROTO_VRRP",
    "VRRP_MCAST4",
    "VRRP_MCAST6",
    "VRRP_TOS",
    "VRRP_TTL",
    "Accepted",
    "AuthType",
    "DropReason",
    "Dropped",
    "IPAddress",
    "RxExpect",
    "RxResult",
    "VrrpAdvert",
    "auth_key",
    "build_garp",
    "build_ipv4",
    "build_ipv4_ah",
    "build_unsolicited_na",
    "decode_advert",
    "encode_advert",
    "inet_checksum",
    "mac_bytes",
    "validate_ipv4",
    "validate_ipv6",
    "vrrp_vmac",
]

IPAddress = IPv4Address | IPv6Address

IPPROTO_VRRP = 112
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
VRRP_TTL = 255
VRRP_TOS = 0xC0  # keepalived: "internet network control"
VRRP_TYPE_ADVERT = 1
VRRP_MCAST4 = IPv4Address("224.0.0.18")
VRRP_MCAST6 = IPv6Address("ff02::12")
VRRP_AUTH_LEN = 8
AH_HEADER_LEN = 24  # next hdr, len, reserved, SPI, seq, 96-bit ICV
AH_PAYLOAD_LEN = 4  # RFC 2402 length field: 32-bit words minus 2
AH_ICV_LEN = 12
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD

_BROADCAST = b"\xff" * 6
_ALL_NODES = IPv6Address("ff02::1")
_ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"

_HDR = struct.Struct("!BBBBBBH")  # vers_type, vrid, prio, naddr, auth/int-hi, int-lo, csum
_HDR_V3 = struct.Struct("!BBBBHH")  # vers_type, vrid, prio, naddr, rsvd|max_adver_int, csum
_IP4 = struct.Struct("!BBHHHBBH4s4s")
_AH = struct.Struct("!BBH4sI")  # next_header, payload_len, reserved, spi, seq (ICV follows)
_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
_IP6 = struct.Struct("!IHBB16s16s")
_PSEUDO4 = struct.Struct("!4s4sBBH")
_PSEUDO6 = struct.Struct("!16s16sI3xB")
_NA = struct.Struct("!BBHI16sBB6s")


class AuthType(IntEnum):
    """VRRPv2 Auth Type values (RFC 2338; keepalived's auth_type NONE/PASS/AH)."""

    NONE = 0
    PASS = 1
    AH = 2


class DropReason(Enum):
    """Why a received packet was dropped; ``counter`` is keepalived's stats key (or None).

    Counter keys are those of keepalived's JSON dump (``packet_len_err`` …); the text dump
    shows them as "Packet Errors: Length" etc. Reasons with no counter are dropped silently
    by keepalived (or only counted in its SNMP MIB: checksum, version).
    """

    TRUNCATED = ("truncated", None)  # too short for IP + VRRP fixed header
    NOT_VRRP = ("not_vrrp", None)  # not IPv4, bad IHL, or protocol not 112/51
    WRONG_VRID = ("wrong_vrid", None)  # keepalived demuxes by VRID before checking
    AUTH_TYPE_MISMATCH = ("auth_type_mismatch", "authtype_mismatch")
    PACKET_LENGTH = ("packet_length", "packet_len_err")
    TTL = ("ttl", "ip_ttl_err")
    VERSION = ("version", None)
    INVALID_AUTH_TYPE = ("invalid_auth_type", "invalid_authtype")
    AUTH_FAILURE = ("auth_failure", "auth_failure")
    AH_NOT_VRRP = ("ah_not_vrrp", None)  # AH protecting some other protocol: ignored
    ADVERT_INTERVAL = ("advert_interval", "advert_interval_err")
    INVALID_TYPE = ("invalid_type", "invalid_type_rcvd")
    ADDRESS_COUNT = ("address_count", "addr_list_err")
    CHECKSUM = ("checksum", None)
    DEST_KIND = ("dest_kind", "addr_list_err")  # multicast received in unicast mode or v.v.
    ADDRESS_LIST = ("address_list", "addr_list_err")
    OWNER_IGNORE = ("owner_ignore", None)  # owner_ignore_adverts: the owner ignores them all

    def __init__(self, slug: str, counter: str | None) -> None:
        self.slug = slug
        self.counter = counter
        self.drop_key = f"drop_{slug}"  # the engine's counter key, built once (not per packet)

    @property
    def counts_as_received(self) -> bool:
        """keepalived bumps advert_rcvd before its per-address check, so that drop counts."""
        return self is DropReason.ADDRESS_LIST


@dataclass(frozen=True, slots=True)
class VrrpAdvert:
    """A decoded advert. ``adver_int`` is seconds for v2 and centiseconds for v3."""

    version: int
    vrid: int
    priority: int
    adver_int: int
    addresses: tuple[IPAddress, ...]
    family: int = 4
    auth_type: int = 0  # v2 only
    auth_data: bytes = b""  # v2 only: the 8 raw bytes after the addresses
    checksum: int = 0  # as received
    type: int = VRRP_TYPE_ADVERT


@dataclass(frozen=True, slots=True)
class Accepted:
    """A packet that passed every receive check."""

    advert: VrrpAdvert
    src: IPAddress
    dst: IPAddress
    ttl: int | None
    ah_seq: int | None = None  # caller keeps it as the new replay floor


@dataclass(frozen=True, slots=True)
class Dropped:
    """A packet to drop; ``detail`` is a log-ready explanation."""

    reason: DropReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RxExpect:
    """What the local instance expects; build once per instance (it precomputes)."""

    vrid: int
    version: int = 2
    family: int = 4
    adver_int: int = 1  # v2 seconds / v3 centiseconds (v3 does not check it)
    auth_type: AuthType = AuthType.NONE
    auth_key: bytes = bytes(VRRP_AUTH_LEN)
    addresses: tuple[IPAddress, ...] = ()
    check_addresses: bool = True  # keepalived: not skip_check_adv_addr (or new master)
    unicast: bool = False  # unicast peers: no TTL check, dst must be unicast
    v3_checksum_as_v2: bool = False
    _addr_set: frozenset[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.version not in (2, 3):
            raise ValueError(f"VRRP version must be 2 or 3, not {self.version}")
        if self.family not in (4, 6):
            raise ValueError(f"family must be 4 or 6, not {self.family}")
        if self.family == 6 and self.version != 3:
            raise ValueError("IPv6 needs VRRPv3")
        if len(self.auth_key) != VRRP_AUTH_LEN:
            raise ValueError("auth_key must be 8 bytes; use auth_key()")
        addrs = tuple(ip_address(a) for a in self.addresses)
        if any(a.version != self.family for a in addrs):
            raise ValueError("address family does not match")
        object.__setattr__(self, "addresses", addrs)
        object.__setattr__(self, "_addr_set", frozenset(a.packed for a in addrs))


RxResult = Accepted | Dropped


# --------------------------------------------------------------------------- helpers


def inet_checksum(data: bytes) -> int:
    """RFC 1071 checksum; modular big-int arithmetic is much faster than a Python loop."""
    if len(data) & 1:
        data += b"\0"
    total = int.from_bytes(data, "big")
    s = total % 0xFFFF
    if s == 0 and total:
        s = 0xFFFF  # one's-complement "negative zero"
    return ~s & 0xFFFF


def auth_key(password: str | bytes) -> bytes:
    """The 8 auth bytes keepalived uses: truncated to 8 (it warns), NUL-padded."""
    raw = password.encode() if isinstance(password, str) else bytes(password)
    return raw[:VRRP_AUTH_LEN].ljust(VRRP_AUTH_LEN, b"\0")


def mac_bytes(mac: str | bytes) -> bytes:
    """Accept ``aa:bb:…`` / ``aa-bb-…`` strings or 6 raw bytes."""
    if isinstance(mac, bytes | bytearray):
        raw = bytes(mac)
    else:
        raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return raw


def vrrp_vmac(vrid: int, family: int = 4) -> bytes:
    """RFC 5798 virtual router MAC: 00:00:5e:00:01:VRID (IPv4), 00:00:5e:00:02:VRID (IPv6)."""
    if not 1 <= vrid <= 255:
        raise ValueError(f"VRID out of range: {vrid}")
    if family not in (4, 6):
        raise ValueError(f"family must be 4 or 6, not {family}")
    return bytes((0, 0, 0x5E, 0, 1 if family == 4 else 2, vrid))


def _addr(a: IPAddress | str) -> IPAddress:
    return a if isinstance(a, IPv4Address | IPv6Address) else ip_address(a)


def _pseudo(src: IPAddress, dst: IPAddress, length: int, proto: int) -> bytes:
    if src.version == 4:
        return _PSEUDO4.pack(src.packed, dst.packed, 0, proto, length)
    return _PSEUDO6.pack(src.packed, dst.packed, length, proto)


# --------------------------------------------------------------------------- encode


def encode_advert(
    *,
    version: int,
    vrid: int,
    priority: int,
    adver_int: int,
    addresses: Iterable[IPAddress | str],
    auth_type: AuthType = AuthType.NONE,
    auth_data: bytes | str = b"",
    src: IPAddress | str | None = None,
    dst: IPAddress | str | None = None,
    v3_checksum_as_v2: bool = False,
    family: int | None = None,
) -> bytes:
    """Build the VRRP message (no IP header) with its checksum.

    ``auth_data`` is the password (v2 PASS only; truncated/padded like keepalived). For AH,
    pass ``auth_type=AuthType.AH`` here and wrap the result with :func:`build_ipv4_ah`.
    v3 needs ``src``/``dst`` for the pseudo-header unless IPv4 with ``v3_checksum_as_v2``.
    """
    addrs = [_addr(a) for a in addresses]
    s = _addr(src) if src is not None else None
    d = _addr(dst) if dst is not None else None
    fam = family or (s.version if s else addrs[0].version if addrs else 4)
    if any(a.version != fam for a in addrs) or (s and s.version != fam) or (d and d.version != fam):
        raise ValueError("mixed address families")
    if not 1 <= vrid <= 255:
        raise ValueError(f"VRID out of range: {vrid}")
    if not 0 <= priority <= 255:
        raise ValueError(f"priority out of range: {priority}")
    if len(addrs) > 255:
        raise ValueError("more than 255 addresses")
    body = b"".join(a.packed for a in addrs)
    n = len(addrs)
    if version == 2:
        if fam != 4:
            raise ValueError("VRRPv2 is IPv4 only (keepalived forces v3 for IPv6)")
        if not 0 <= adver_int <= 255:
            raise ValueError(f"v2 advert interval is 8-bit seconds: {adver_int}")
        at = AuthType(auth_type)
        tail = auth_key(auth_data) if at == AuthType.PASS else bytes(VRRP_AUTH_LEN)
        msg = _HDR.pack(0x21, vrid, priority, n, at, adver_int, 0) + body + tail
        csum = inet_checksum(msg)
    elif version == 3:
        if not 0 <= adver_int <= 0x0FFF:
            raise ValueError(f"v3 advert interval is 12-bit centiseconds: {adver_int}")
        msg = _HDR_V3.pack(0x31, vrid, priority, n, adver_int, 0) + body
        if fam == 4 and v3_checksum_as_v2:
            csum = inet_checksum(msg)
        else:
            if s is None or d is None:
                raise ValueError("VRRPv3 checksum needs src and dst for the pseudo-header")
            csum = inet_checksum(_pseudo(s, d, len(msg), IPPROTO_VRRP) + msg)
    else:
        raise ValueError(f"VRRP version must be 2 or 3, not {version}")
    return msg[:6] + csum.to_bytes(2, "big") + msg[8:]


def build_ipv4(
    src: IPv4Address | str,
    dst: IPv4Address | str,
    payload: bytes,
    *,
    ident: int,
    ttl: int = VRRP_TTL,
    tos: int = VRRP_TOS,
    proto: int = IPPROTO_VRRP,
) -> bytes:
    """IPv4 header as keepalived writes it for IP_HDRINCL (no DF, no options) + payload."""
    s, d = _addr(src), _addr(dst)
    hdr = _IP4.pack(0x45, tos, 20 + len(payload), ident, 0, ttl, proto, 0, s.packed, d.packed)
    return hdr[:10] + inet_checksum(hdr).to_bytes(2, "big") + hdr[12:] + payload


def _ah_icv(key: bytes, ip_hdr: bytes, ah_hdr: bytes, vrrp: bytes, zero_ttl: bool) -> bytes:
    # Mutable IP fields zeroed as keepalived does: TOS, flags/fragment, checksum, and TTL only
    # in unicast mode (a multicast TTL is 255 by rule, so it stays in the ICV).
    hdr = bytearray(ip_hdr)
    hdr[1] = 0
    hdr[6:8] = b"\0\0"
    hdr[10:12] = b"\0\0"
    if zero_ttl:
        hdr[8] = 0
    import hashlib  # here, not at the top: they load OpenSSL (see compare_digest)
    import hmac

    mac = hmac.new(key, bytes(hdr) + ah_hdr + bytes(AH_ICV_LEN) + vrrp, hashlib.md5)
    return mac.digest()[:AH_ICV_LEN]


def build_ipv4_ah(
    src: IPv4Address | str,
    dst: IPv4Address | str,
    vrrp: bytes,
    *,
    key: bytes,
    seq: int,
    ident: int,
    ttl: int = VRRP_TTL,
    tos: int = VRRP_TOS,
    zero_ttl: bool = False,
) -> bytes:
    """IPv4 + AH (HMAC-MD5-96) + VRRPv2, as keepalived's ``auth_type AH``.

    SPI = sender's IPv4 address; ``seq`` must grow per advert (keepalived starts at 1);
    ``key`` is :func:`auth_key` of the password; ``zero_ttl`` = unicast mode.
    """
    s, d = _addr(src), _addr(dst)
    if len(key) != VRRP_AUTH_LEN:
        raise ValueError("AH key must be 8 bytes; use auth_key()")
    ah_hdr = _AH.pack(IPPROTO_VRRP, AH_PAYLOAD_LEN, 0, s.packed, seq)
    ip = build_ipv4(
        s, d, bytes(AH_HEADER_LEN) + vrrp, ident=ident, ttl=ttl, tos=tos, proto=IPPROTO_AH
    )
    icv = _ah_icv(key, ip[:20], ah_hdr, vrrp, zero_ttl)
    return ip[:20] + ah_hdr + icv + vrrp


# --------------------------------------------------------------------------- decode


def _parse(msg: bytes, off: int, family: int) -> VrrpAdvert:
    """Decode at ``off``; caller has checked the length covers header+addresses(+auth)."""
    vt, vrid, prio, n, b4, b5, csum = _HDR.unpack_from(msg, off)
    version = vt >> 4
    alen = 4 if family == 4 else 16
    start = off + 8
    end = start + n * alen
    cls = IPv4Address if family == 4 else IPv6Address
    addrs = tuple(cls(msg[i : i + alen]) for i in range(start, end, alen))
    if version == 2 and family == 4:
        return VrrpAdvert(
            version, vrid, prio, b5, addrs, family, b4, msg[end : end + 8], csum, vt & 0x0F
        )
    adv = ((b4 << 8) | b5) & 0x0FFF if version == 3 else b5
    return VrrpAdvert(version, vrid, prio, adv, addrs, family, 0, b"", csum, vt & 0x0F)


def _needed(msg: bytes, off: int, family: int) -> int:
    n = msg[off + 3]
    extra = VRRP_AUTH_LEN if family == 4 and msg[off] >> 4 == 2 else 0
    return 8 + n * (4 if family == 4 else 16) + extra


def decode_advert(msg: bytes, family: int = 4) -> VrrpAdvert | Dropped:
    """Decode a bare VRRP message (no IP header, no checks beyond length; never raises).

    Trailing bytes are ignored; use the validators for keepalived's exact-length rule.
    """
    if family not in (4, 6):
        raise ValueError(f"family must be 4 or 6, not {family}")
    if len(msg) < 8:
        return Dropped(DropReason.TRUNCATED, f"VRRP packet too short - {len(msg)} bytes")
    need = _needed(msg, 0, family)
    if len(msg) < need:
        return Dropped(
            DropReason.PACKET_LENGTH, f"vrrp packet too short, length {len(msg)} and expect {need}"
        )
    return _parse(msg, 0, family)


# --------------------------------------------------------------------------- receive checks


def validate_ipv4(packet: bytes, expect: RxExpect, *, ah_last_seq: int = 0) -> RxResult:
    """Check a raw IPv4 datagram (IP header + [AH +] VRRP) the way keepalived 2.2.7 does.

    ``ah_last_seq`` is the highest AH sequence number already accepted (replay floor).
    """
    ln = len(packet)
    if ln < 20:
        return Dropped(DropReason.TRUNCATED, f"IPv4 VRRP packet too short - {ln} bytes")
    vihl = packet[0]
    ihl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or ihl < 20:
        return Dropped(DropReason.NOT_VRRP, f"not an IPv4 header (0x{vihl:02x})")
    proto = packet[9]
    if proto == IPPROTO_VRRP:
        off = ihl
    elif proto == IPPROTO_AH:
        off = ihl + AH_HEADER_LEN
    else:
        return Dropped(DropReason.NOT_VRRP, f"IP protocol {proto}")
    if ln < off + 8:
        return Dropped(DropReason.TRUNCATED, f"IPv4 VRRP packet too short - {ln} bytes")
    vrid = packet[off + 1]
    if vrid != expect.vrid:
        return Dropped(DropReason.WRONG_VRID, f"VRID {vrid}, expect {expect.vrid}")
    is_ah = proto == IPPROTO_AH
    if is_ah != (expect.auth_type == AuthType.AH):
        return Dropped(
            DropReason.AUTH_TYPE_MISMATCH,
            "Received AH header but auth type not AH"
            if is_ah
            else "No AH header but auth type is AH",
        )
    need = off + _needed(packet, off, 4)
    if ln != need:
        return Dropped(
            DropReason.PACKET_LENGTH,
            f"vrrp packet too {'long' if ln > need else 'short'}, length {ln} and expect {need}",
        )
    ttl = packet[8]
    if not expect.unicast and ttl != VRRP_TTL:
        return Dropped(DropReason.TTL, f"invalid TTL/HL. Received {ttl} and expect {VRRP_TTL}")
    vt, _vrid, _prio, naddr, b4, b5, _csum = _HDR.unpack_from(packet, off)
    version = vt >> 4
    if version != expect.version:
        return Dropped(
            DropReason.VERSION, f"wrong version. Received {version} and expect {expect.version}"
        )
    ah_seq: int | None = None
    if version == 2:
        drop = _check_v2_auth(packet, off, ihl, need, b4, b5, expect, ah_last_seq)
        if isinstance(drop, Dropped):
            return drop
        ah_seq = drop
    if vt & 0x0F != VRRP_TYPE_ADVERT:
        return Dropped(
            DropReason.INVALID_TYPE,
            f"Invalid packet type. {vt & 0x0F} and expect {VRRP_TYPE_ADVERT}",
        )
    if expect.check_addresses and naddr != len(expect.addresses):
        return Dropped(
            DropReason.ADDRESS_COUNT,
            f"received an unexpected ip number count {naddr}, expected {len(expect.addresses)}!",
        )
    tot_len = (packet[2] << 8) | packet[3]
    if tot_len != ln:
        return Dropped(
            DropReason.PACKET_LENGTH,
            f"ip_tot_len mismatch against received length. {tot_len} and received {ln}",
        )
    dst = IPv4Address(packet[16:20])
    msg = packet[off:need]
    if version == 3 and not expect.v3_checksum_as_v2:
        vlen = 8 + 4 * naddr
        bad = (
            inet_checksum(
                _PSEUDO4.pack(packet[12:16], packet[16:20], 0, IPPROTO_VRRP, vlen) + msg[:vlen]
            )
            != 0
        )
    else:
        bad = inet_checksum(msg) != 0
    if bad:
        return Dropped(DropReason.CHECKSUM, f"Invalid VRRPv{version} checksum")
    if dst.is_multicast == expect.unicast:
        return _dest_kind(expect.unicast)
    advert = _parse(packet, off, 4)
    if expect.check_addresses:
        missing = _missing(advert, expect)
        if missing is not None:
            return missing
    return Accepted(advert, IPv4Address(packet[12:16]), dst, ttl, ah_seq)


def _check_v2_auth(
    packet: bytes,
    off: int,
    ihl: int,
    end: int,
    auth: int,
    adv: int,
    expect: RxExpect,
    ah_last_seq: int,
) -> Dropped | int | None:
    """v2 auth and interval checks; returns the AH sequence number when AH passed."""
    if auth not in (AuthType.NONE, AuthType.PASS, AuthType.AH):
        return Dropped(DropReason.INVALID_AUTH_TYPE, f"Invalid auth type: {auth}")
    if auth != expect.auth_type:
        return Dropped(
            DropReason.AUTH_TYPE_MISMATCH,
            f"received a {auth} auth, expecting {int(expect.auth_type)}!",
        )
    seq: int | None = None
    if auth == AuthType.PASS:
        if not compare_digest(packet[end - VRRP_AUTH_LEN : end], expect.auth_key):
            return Dropped(DropReason.AUTH_FAILURE, "received an invalid passwd!")
    elif auth == AuthType.AH:
        nh, _plen, _rsvd, spi, seq = _AH.unpack_from(packet, ihl)
        if nh != IPPROTO_VRRP:
            return Dropped(DropReason.AH_NOT_VRRP, f"AH next header {nh}")
        icv = _ah_icv(
            expect.auth_key, packet[:ihl], packet[ihl : ihl + 12], packet[off:end], expect.unicast
        )
        if not compare_digest(packet[ihl + 12 : ihl + AH_HEADER_LEN], icv):
            return Dropped(
                DropReason.AUTH_FAILURE,
                "IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !",
            )
        if spi != packet[12:16]:
            return Dropped(DropReason.AUTH_FAILURE, "IPSEC AH : invalid IPSEC SPI value")
        if seq <= ah_last_seq:
            return Dropped(
                DropReason.AUTH_FAILURE,
                f"IPSEC-AH : sequence number {seq} already processed. "
                f"Packet dropped. Local({ah_last_seq})",
            )
    if adv != expect.adver_int:
        return Dropped(
            DropReason.ADVERT_INTERVAL,
            f"advertisement interval mismatch mine={expect.adver_int} sec rcv'd={adv} sec",
        )
    return seq


def _dest_kind(unicast: bool) -> Dropped:
    want, got = ("un", "mult") if unicast else ("mult", "un")
    return Dropped(
        DropReason.DEST_KIND, f"Expected {want}icast packet but received {got}icast packet"
    )


def _missing(advert: VrrpAdvert, expect: RxExpect) -> Dropped | None:
    got = {a.packed for a in advert.addresses}
    if expect._addr_set <= got:  # fast path; keepalived checks configured ⊆ received
        return None
    for a in expect.addresses:
        if a.packed not in got:
            return Dropped(
                DropReason.ADDRESS_LIST,
                f"ip address associated with VRID {expect.vrid} not present in MASTER advert : {a}",
            )
    return None


def validate_ipv6(
    payload: bytes,
    expect: RxExpect,
    *,
    src: IPv6Address | str,
    dst: IPv6Address | str,
    hop_limit: int | None,
    verify_checksum: bool = True,
) -> RxResult:
    """Check a VRRPv3 message from a raw IPv6 socket (which strips the IPv6 header).

    ``hop_limit`` comes from IPV6_HOPLIMIT ancillary data (None = unknown, not checked).
    With IPV6_CHECKSUM set the kernel has already verified the checksum;
    ``verify_checksum=False`` skips the repeat.
    """
    ln = len(payload)
    if ln < 8:
        return Dropped(DropReason.TRUNCATED, f"IPv6 VRRP packet too short - {ln} bytes")
    vrid = payload[1]
    if vrid != expect.vrid:
        return Dropped(DropReason.WRONG_VRID, f"VRID {vrid}, expect {expect.vrid}")
    need = _needed(payload, 0, 6)
    if ln != need:
        return Dropped(
            DropReason.PACKET_LENGTH,
            f"vrrp packet too {'long' if ln > need else 'short'}, length {ln} and expect {need}",
        )
    if not expect.unicast and hop_limit is not None and hop_limit != VRRP_TTL:
        return Dropped(
            DropReason.TTL, f"invalid TTL/HL. Received {hop_limit} and expect {VRRP_TTL}"
        )
    vt = payload[0]
    version = vt >> 4
    if version != expect.version:
        return Dropped(
            DropReason.VERSION, f"wrong version. Received {version} and expect {expect.version}"
        )
    if vt & 0x0F != VRRP_TYPE_ADVERT:
        return Dropped(
            DropReason.INVALID_TYPE,
            f"Invalid packet type. {vt & 0x0F} and expect {VRRP_TYPE_ADVERT}",
        )
    naddr = payload[3]
    if expect.check_addresses and naddr != len(expect.addresses):
        return Dropped(
            DropReason.ADDRESS_COUNT,
            f"received an unexpected ip number count {naddr}, expected {len(expect.addresses)}!",
        )
    s, d = _addr(src), _addr(dst)
    if verify_checksum and inet_checksum(_pseudo(s, d, ln, IPPROTO_VRRP) + payload) != 0:
        return Dropped(DropReason.CHECKSUM, "Invalid VRRPv3 checksum")
    if d.is_multicast == expect.unicast:
        return _dest_kind(expect.unicast)
    advert = _parse(payload, 0, 6)
    if expect.check_addresses:
        missing = _missing(advert, expect)
        if missing is not None:
            return missing
    return Accepted(advert, s, d, hop_limit)


# --------------------------------------------------------------------------- L2 frames


def build_garp(src_mac: str | bytes, vip: IPv4Address | str) -> bytes:
    """Gratuitous ARP as keepalived sends it: a broadcast *request*, spa = tpa = VIP,
    tha = ff:ff:ff:ff:ff:ff (not zeros), 42 bytes with no padding."""
    mac = mac_bytes(src_mac)
    ip = _addr(vip).packed
    return _ETH.pack(_BROADCAST, mac, ETH_P_ARP) + _ARP.pack(
        1, ETH_P_IP, 6, 4, 1, mac, ip, _BROADCAST, ip
    )


def build_unsolicited_na(
    src_mac: str | bytes, target: IPv6Address | str, *, router: bool = False
) -> bytes:
    """Unsolicited NA as keepalived sends it: from the VIP itself to ff02::1, hop limit 255,
    O=1 S=0, R = the interface's IPv6 forwarding setting, one target link-layer option."""
    mac = mac_bytes(src_mac)
    tgt = _addr(target)
    if tgt.version != 6:
        raise ValueError("NA target must be IPv6")
    flags = (0x80000000 if router else 0) | 0x20000000
    icmp = _NA.pack(136, 0, 0, flags, tgt.packed, 2, 1, mac)
    csum = inet_checksum(_pseudo(tgt, _ALL_NODES, len(icmp), IPPROTO_ICMPV6) + icmp)
    icmp = icmp[:2] + csum.to_bytes(2, "big") + icmp[4:]
    ip6 = _IP6.pack(0x60000000, len(icmp), IPPROTO_ICMPV6, 255, tgt.packed, _ALL_NODES.packed)
    return _ETH.pack(_ALL_NODES_MAC, mac, ETH_P_IPV6) + ip6 + icmp
