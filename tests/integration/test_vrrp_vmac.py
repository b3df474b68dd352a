"""use_vmac in network namespaces: the macvlan, the VMAC on the wire, failover, interop.

The wire checks compare with keepalived 2.2.7's own frames (tests/data/vrrp/
vrrp2-vmac-advert.pcap and garp-v4-vmac.pcap, captured with research/kad-conf/v2vmac-a.conf):
the GARP is byte-identical, the advert identical except the IP id (and so the header checksum).
"""

from __future__ import annotations

import signal
import struct
import time
from pathlib import Path

import pytest
from nsrig import IP4, MAC, Proc, Rig, read_pcap, vrrp_conf, wait_for

pytestmark = pytest.mark.netns

DATA = Path(__file__).resolve().parents[1] / "data" / "vrrp"
VIP = "192.0.2.100"
VMAC = "00:00:5e:00:01:33"  # VRID 51
VMAC_IF = "vrrp.51"
MDI_V2_90 = 3 + (256 - 90) / 256  # v2, advert_int 1, priority 90


def _raw_frames(path: Path) -> list[tuple[float, bytes]]:
    """(timestamp, frame bytes) of a classic pcap file (what tcpdump -w writes)."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    endian = "<" if struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append((sec + usec / 1e6, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out


def _vector(name: str) -> bytes:
    return _raw_frames(DATA / name)[0][1]


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _is_vrrp4(f: bytes, src: str) -> bool:
    return len(f) > 34 and f[12:14] == b"\x08\x00" and f[23] == 112 and \
        f[26:30] == bytes(int(x) for x in src.split("."))


def _is_garp(f: bytes) -> bool:
    return len(f) >= 42 and f[12:14] == b"\x08\x06"


def _vmac_conf(state: str, prio: int, *, extra: str = "", use_vmac: str = "use_vmac") -> str:
    """keepalived's v2vmac capture config (v2, 1 s, PASS 1111) with use_vmac."""
    return vrrp_conf(state=state, priority=prio, version=2, advert_int=1, auth="1111",
                     extra=f"    {use_vmac}\n{extra}")


def _link(rig: Rig, node: str, ifname: str) -> str:
    return rig.exec(node, "ip", "-d", "-o", "link", "show", "dev", ifname).stdout


def _addrs(rig: Rig, node: str, ifname: str) -> str:
    return rig.exec(node, "ip", "-o", "addr", "show", "dev", ifname).stdout


def _vip_on_vmac(rig: Rig, node: str) -> bool:
    return f" {VIP}/" in _addrs(rig, node, VMAC_IF)


def _start(rig: Rig, kind: str, node: str, conf: str) -> Proc:
    return rig.start_py(node, conf) if kind == "py" else rig.start_kad(node, conf)


def _sysctl(rig: Rig, node: str, key: str) -> str:
    return rig.exec(node, "sysctl", "-n", key).stdout.strip()


def test_vmac_pair_wire_failover_and_cleanup(rig: Rig) -> None:
    """Two pykeepalived nodes: VMAC on the wire (byte-compared with keepalived's frames), VIP
    on vrrp.51, failover moves it, stop removes the macvlan, a restart adopts a leftover one."""
    rig.start_capture()
    a = rig.start_py("a", _vmac_conf("MASTER", 100))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 6), a.text()
    assert wait_for(lambda: _vip_on_vmac(rig, "a"), 2), a.text()
    assert not rig.has_vip("a", VIP)  # not on eth0
    link = _link(rig, "a", VMAC_IF)
    assert f"link/ether {VMAC}" in link and "macvlan mode private" in link
    assert "@eth0" in link
    assert "(VI_1): Success creating VMAC interface vrrp.51" in a.text()
    # keepalived's sysctls
    assert _sysctl(rig, "a", "net.ipv4.conf.vrrp/51.arp_ignore") == "1"
    assert _sysctl(rig, "a", "net.ipv4.conf.vrrp/51.accept_local") == "1"
    assert _sysctl(rig, "a", "net.ipv4.conf.vrrp/51.rp_filter") == "0"
    assert _sysctl(rig, "a", "net.ipv6.conf.vrrp/51.disable_ipv6") == "1"
    assert _sysctl(rig, "a", "net.ipv4.conf.eth0.arp_ignore") == "1"
    assert _sysctl(rig, "a", "net.ipv4.conf.eth0.arp_filter") == "1"

    b = rig.start_py("b", _vmac_conf("BACKUP", 90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    assert f"link/ether {VMAC}" in _link(rig, "b", VMAC_IF)
    time.sleep(MDI_V2_90 + 0.5)
    assert "Entering MASTER" not in b.text(), b.text()
    assert not _vip_on_vmac(rig, "b")
    rig.stop_capture()
    assert rig.cap_file is not None
    frames = [f for _t, f in _raw_frames(rig.cap_file)]

    adverts = [f for f in frames if _is_vrrp4(f, IP4["a"])]
    assert len(adverts) >= 3
    assert {_mac(f[6:12]) for f in adverts} == {VMAC}
    want = _vector("vrrp2-vmac-advert.pcap")
    first = adverts[0]
    assert len(first) == len(want) == 54
    # identical but for the IP id and the header checksum that covers it
    assert first[:18] + first[20:24] + first[26:] == want[:18] + want[20:24] + want[26:]
    garps = [f for f in frames if _is_garp(f)]
    assert garps, "no gratuitous ARP"
    assert garps[0] == _vector("garp-v4-vmac.pcap")  # byte for byte
    assert not [f for f in frames if _is_vrrp4(f, IP4["b"])], "the BACKUP sent adverts"

    # hard failover: b takes the VIP on its own vrrp.51 and announces it from the VMAC
    rig.start_capture("failover.pcap")
    t0 = rig.kill(a, signal.SIGKILL, wait=5)
    t1 = wait_for(lambda: _vip_on_vmac(rig, "b"), MDI_V2_90 + 2)
    assert t1 is not None, b.text()
    time.sleep(1.2)
    rig.stop_capture()
    frames = [f for _t, f in _raw_frames(rig.cap_file)]
    b_adv = [f for f in frames if _is_vrrp4(f, IP4["b"])]
    assert b_adv and {_mac(f[6:12]) for f in b_adv} == {VMAC}
    b_garp = [f for f in frames if _is_garp(f)]
    assert b_garp and {(_mac(f[6:12]), _mac(f[22:28])) for f in b_garp} == {(VMAC, VMAC)}
    print(f"kill -9 -> VIP on b's vrrp.51: {(t1 - t0) * 1000:.0f} ms")

    # a SIGKILLed daemon leaves its macvlan behind: the restart adopts it and preempts back
    assert VMAC_IF in _link(rig, "a", VMAC_IF)
    rig.exec("a", "ip", "addr", "flush", "dev", VMAC_IF)
    a2 = rig.start_py("a", _vmac_conf("MASTER", 100))
    assert rig.wait_log(a2, "adopting existing VMAC interface vrrp.51", 5), a2.text()
    assert wait_for(lambda: _vip_on_vmac(rig, "a"), 6), a2.text()
    assert wait_for(lambda: not _vip_on_vmac(rig, "b"), 2), b.text()

    # graceful stop removes the macvlan (and b's too when it stops)
    rig.kill(a2, signal.SIGTERM, wait=10)
    assert a2.popen.returncode == 0, a2.text()
    assert _link(rig, "a", VMAC_IF) == ""
    assert "(VI_1) Success removing VMAC interface vrrp.51" in a2.text()
    assert wait_for(lambda: _vip_on_vmac(rig, "b"), 3), b.text()
    rig.kill(b, signal.SIGTERM, wait=10)
    assert b.popen.returncode == 0, b.text()
    assert _link(rig, "b", VMAC_IF) == ""
    # the base sysctls are put back when the last macvlan goes
    assert _sysctl(rig, "b", "net.ipv4.conf.eth0.arp_ignore") == "0"
    assert _sysctl(rig, "b", "net.ipv4.conf.eth0.arp_filter") == "0"


def test_vmac_ipv6(rig: Rig) -> None:
    """VRRPv3/IPv6 with use_vmac: vrrp6.51 with 00:00:5e:00:02:33, no auto link-local but the
    base's link-local as advert source, the VIP on the macvlan, a stable BACKUP, failover."""
    vmac6, vif6, vip6 = "00:00:5e:00:02:33", "vrrp6.51", "2001:db8::100"

    def conf(state: str, prio: int) -> str:
        return vrrp_conf(state=state, priority=prio, version=3, advert_int=0.1,
                         vips=(f"{vip6}/64",), extra="    use_vmac\n")

    def vip_on(node: str) -> bool:
        return f" {vip6}/" in _addrs(rig, node, vif6)

    rig.start_capture()
    a = rig.start_py("a", conf("MASTER", 100))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 5), a.text()
    assert wait_for(lambda: vip_on("a"), 2), a.text()
    assert f"link/ether {vmac6}" in _link(rig, "a", vif6)
    lladdrs = [ln for ln in _addrs(rig, "a", vif6).splitlines() if "fe80:" in ln]
    assert len(lladdrs) == 1 and "fe80::ff:fe00:a/64" in lladdrs[0]  # eth0's, not EUI-64(VMAC)
    b = rig.start_py("b", conf("BACKUP", 90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    time.sleep(1.0)
    assert "Entering MASTER" not in b.text(), b.text()
    rig.stop_capture()
    assert rig.cap_file is not None
    adv = [f for f in read_pcap(rig.cap_file) if f.kind == "vrrp6" and f.vrid == 51]
    assert adv and {(f.src_mac, f.src) for f in adv} == {(vmac6, "fe80::ff:fe00:a")}
    na = [f for f in read_pcap(rig.cap_file) if f.kind == "na" and f.target == vip6]
    assert na and {f.src_mac for f in na} == {vmac6}

    t0 = rig.kill(a, signal.SIGKILL, wait=5)
    t1 = wait_for(lambda: vip_on("b"), 2)
    assert t1 is not None, b.text()
    print(f"IPv6 kill -9 -> VIP on b's vrrp6.51: {(t1 - t0) * 1000:.0f} ms")
    rig.kill(b, signal.SIGTERM, wait=10)
    assert _link(rig, "b", vif6) == ""


def test_vmac_named_interface_and_xmit_base(rig: Rig) -> None:
    """vmac_xmit_base: adverts leave from eth0 with its real MAC; VIP and GARPs stay on the
    (here explicitly named) macvlan with the VMAC."""
    extra = "    vmac_xmit_base\n"
    rig.start_capture()
    a = rig.start_py("a", _vmac_conf("MASTER", 100, extra=extra, use_vmac="use_vmac vmac51"))
    assert rig.wait_log(a, "(VI_1) Entering MASTER STATE", 6), a.text()
    assert wait_for(lambda: f" {VIP}/" in _addrs(rig, "a", "vmac51"), 2), a.text()
    b = rig.start_py("b", _vmac_conf("BACKUP", 90, extra=extra, use_vmac="use_vmac vmac51"))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE (init)", 5), b.text()
    time.sleep(MDI_V2_90 + 0.5)
    assert "Entering MASTER" not in b.text(), b.text()
    rig.stop_capture()
    assert rig.cap_file is not None
    frames = [f for _t, f in _raw_frames(rig.cap_file)]
    adverts = [f for f in frames if _is_vrrp4(f, IP4["a"])]
    assert adverts and {_mac(f[6:12]) for f in adverts} == {MAC["a"]}
    garps = [f for f in frames if _is_garp(f)]
    assert garps and {_mac(f[22:28]) for f in garps} == {VMAC}

    rig.kill(a, signal.SIGTERM, wait=10)
    assert wait_for(lambda: f" {VIP}/" in _addrs(rig, "b", "vmac51"), 3), b.text()
    assert _link(rig, "a", "vmac51") == ""


@pytest.mark.keepalived
@pytest.mark.parametrize("master_kind", ["py", "kad"], ids=["py-master", "kad-master"])
def test_vmac_interop(rig: Rig, master_kind: str) -> None:
    """keepalived 2.2.7 and pykeepalived, both with use_vmac: the MASTER keeps the other in
    BACKUP (no complaints in keepalived's log), the BACKUP takes over when it dies."""
    backup_kind = "kad" if master_kind == "py" else "py"
    rig.start_capture()
    m = _start(rig, master_kind, "a", _vmac_conf("MASTER", 100))
    assert rig.wait_log(m, "(VI_1) Entering MASTER STATE", 6), m.text()
    assert wait_for(lambda: _vip_on_vmac(rig, "a"), 3), m.text()
    b = _start(rig, backup_kind, "b", _vmac_conf("BACKUP", 90))
    assert rig.wait_log(b, "(VI_1) Entering BACKUP STATE", 5), b.text()
    assert wait_for(lambda: VMAC in _link(rig, "b", VMAC_IF), 3), b.text()
    time.sleep(2 * MDI_V2_90 + 0.3)
    assert "Entering MASTER" not in b.text(), b.text()
    assert not _vip_on_vmac(rig, "b")
    rig.stop_capture()
    assert rig.cap_file is not None
    frames = [f for _t, f in _raw_frames(rig.cap_file)]
    adverts = [f for f in frames if _is_vrrp4(f, IP4["a"])]
    assert adverts and {_mac(f[6:12]) for f in adverts} == {VMAC}
    for p in (m, b):
        if p.kind == "kad":
            bad = [ln for ln in p.text().splitlines()
                   if any(w in ln.lower() for w in ("invalid", "mismatch", "error", "wrong"))]
            assert bad == [], bad

    t0 = rig.kill(m, signal.SIGKILL, wait=5)
    t1 = wait_for(lambda: _vip_on_vmac(rig, "b"), MDI_V2_90 + 2)
    assert t1 is not None, b.text()
    print(f"[{master_kind} master] kill -9 -> VIP on {backup_kind}'s vrrp.51: "
          f"{(t1 - t0) * 1000:.0f} ms")
    rig.kill(b, signal.SIGTERM, wait=10)
    assert wait_for(lambda: _link(rig, "b", VMAC_IF) == "", 3), b.text()
