"""Parse ``ipvsadm -S -n`` (and run ipvsadm) as an independent oracle for the IPVS table.

Used inside the guest; stdlib only, so it also parses dumps captured elsewhere.
"""

from __future__ import annotations

import ipaddress
import shlex
import subprocess
from dataclasses import dataclass, field

PROTO_OPTS = {"-t": "tcp", "-u": "udp", "--sctp-service": "sctp", "-f": None}
FWD_OPTS = {"-g": "route", "-m": "masq", "-i": "tunnel"}


@dataclass
class OService:
    """One `-A` line: the key and every option as ipvsadm prints it."""

    protocol: str | None
    addr: str | None
    port: int
    fwmark: int
    af: int  # 4 or 6
    scheduler: str = "wlc"
    persistent: int | None = None  # -p TIMEOUT
    netmask: str | None = None  # -M (dotted mask for IPv4, prefix for IPv6)
    sched_flags: frozenset[str] = frozenset()  # -b sh-port,sh-fallback ...
    ops: bool = False
    pe: str | None = None
    dests: dict[tuple[str, int], ODest] = field(default_factory=dict)


@dataclass
class ODest:
    addr: str
    port: int
    fwd: str = "route"
    weight: int = 1
    u_thresh: int = 0
    l_thresh: int = 0
    tun_type: str | None = None
    tun_port: int = 0


def _hostport(s: str) -> tuple[str, int, int]:
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    ip = ipaddress.ip_address(host)
    return str(ip), int(port), ip.version


def parse_save(text: str) -> dict[tuple, OService]:
    """``ipvsadm -S -n`` output → {key: OService}.

    key = (proto, addr, port), or ("fwmark", 4|6, mark).
    """
    services: dict[tuple, OService] = {}
    for line in text.splitlines():
        a = shlex.split(line)
        if not a:
            continue
        kind, opt, target = a[0], a[1], a[2]
        if opt == "-f":
            mark = int(target)
            # ipvsadm -S prints "-6" for IPv6 fwmark services
            af = 6 if "-6" in a else 4
            key: tuple = ("fwmark", af, mark)
            proto, addr, port = None, None, 0
        else:
            addr, port, af = _hostport(target)
            proto = PROTO_OPTS[opt]
            key = (proto, addr, port)
        rest = a[3:]
        if kind == "-A":
            svc = OService(proto, addr, port, mark if opt == "-f" else 0, af)
            i = 0
            while i < len(rest):
                o = rest[i]
                if o == "-s":
                    svc.scheduler = rest[i + 1]
                    i += 1
                elif o == "-p":
                    svc.persistent = int(rest[i + 1])
                    i += 1
                elif o == "-M":
                    svc.netmask = rest[i + 1]
                    i += 1
                elif o == "-b":
                    svc.sched_flags = frozenset(rest[i + 1].split(","))
                    i += 1
                elif o in ("-o", "--ops"):
                    svc.ops = True
                elif o == "--pe":
                    svc.pe = rest[i + 1]
                    i += 1
                i += 1
            services[key] = svc
        elif kind == "-a":
            r = rest.index("-r")
            daddr, dport, _ = _hostport(rest[r + 1])
            d = ODest(daddr, dport)
            i = 0
            while i < len(rest):
                o = rest[i]
                if o in FWD_OPTS:
                    d.fwd = FWD_OPTS[o]
                elif o == "-w":
                    d.weight = int(rest[i + 1])
                    i += 1
                elif o == "-x":
                    d.u_thresh = int(rest[i + 1])
                    i += 1
                elif o == "-y":
                    d.l_thresh = int(rest[i + 1])
                    i += 1
                elif o == "--tun-type":
                    d.tun_type = rest[i + 1]
                    i += 1
                elif o == "--tun-port":
                    d.tun_port = int(rest[i + 1])
                    i += 1
                i += 1
            services[key].dests[(daddr, dport)] = d
    return services


def ipvsadm(*args: str, timeout: float = 20) -> str:
    """Run ipvsadm ARGS; raise with its stderr on failure."""
    p = subprocess.run(["ipvsadm", *args], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"ipvsadm {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p.stdout


def parse_thresholds(text: str) -> dict[tuple, dict[tuple[str, int], tuple[int, int]]]:
    """``ipvsadm -Ln --thresholds`` → {service key: {(addr, port): (upper, lower)}}.

    Needed because ``ipvsadm -S`` does not save the thresholds."""
    out: dict[tuple, dict[tuple[str, int], tuple[int, int]]] = {}
    cur: dict[tuple[str, int], tuple[int, int]] | None = None
    protos = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
    for line in text.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] in protos:
            addr, port, _ = _hostport(w[1])
            cur = out.setdefault((protos[w[0]], addr, port), {})
        elif w[0] == "FWM":
            af = 6 if "IPv6" in w else 4
            cur = out.setdefault(("fwmark", af, int(w[1])), {})
        elif w[0] == "->" and cur is not None and (w[1][0].isdigit() or w[1].startswith("[")):
            addr, port, _ = _hostport(w[1])
            cur[(addr, port)] = (int(w[2]), int(w[3]))
    return out


def saved_table() -> dict[tuple, OService]:
    """The table as ipvsadm sees it: ``-S -n`` plus the thresholds from ``-Ln --thresholds``."""
    table = parse_save(ipvsadm("-S", "-n"))
    for key, dests in parse_thresholds(ipvsadm("-L", "-n", "--thresholds")).items():
        for dkey, (u, lo) in dests.items():
            d = table[key].dests[dkey]
            d.u_thresh, d.l_thresh = u, lo
    return table
