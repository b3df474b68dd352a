"""Prometheus text exposition, with the metric names of mehdy/keepalived-exporter.

Why those names: Grafana dashboards and alerts built on that exporter keep working when the
exporter is replaced by this endpoint (no signals, no /tmp race). Our own extras are prefixed
pykeepalived_. The server is a tiny asyncio HTTP/1.0 responder bound to loopback by default:
metrics reveal topology, and we must not pull in an HTTP framework for one GET.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

from pykeepalived.config.model import Config, VrrpInstance
from pykeepalived.daemon.dumps import STATE_NUM, STATS_KEYS
from pykeepalived.vrrp.snapshot import InstanceSnapshot, VrrpSnapshot

# (metric, JSON stats key, help) in mehdy's order; labels {iname,intf,vrid,state}
VRRP_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("keepalived_advertisements_received_total", "advert_rcvd", "Advertisements received"),
    ("keepalived_advertisements_sent_total", "advert_sent", "Advertisements sent"),
    ("keepalived_become_master_total", "become_master", "Became master"),
    ("keepalived_release_master_total", "release_master", "Released master"),
    ("keepalived_packet_length_errors_total", "packet_len_err", "Packet length errors"),
    ("keepalived_advertisements_interval_errors_total", "advert_interval_err",
     "Advertisement interval errors"),
    ("keepalived_ip_ttl_errors_total", "ip_ttl_err", "TTL errors"),
    ("keepalived_invalid_type_received_total", "invalid_type_rcvd", "Invalid type errors"),
    ("keepalived_address_list_errors_total", "addr_list_err", "Address list errors"),
    ("keepalived_authentication_invalid_total", "invalid_authtype", "Authentication invalid"),
    ("keepalived_authentication_mismatch_total", "authtype_mismatch",
     "Authentication mismatch"),
    ("keepalived_authentication_failure_total", "auth_failure", "Authentication failure"),
    ("keepalived_priority_zero_received_total", "pri_zero_rcvd", "Priority zero received"),
    ("keepalived_priority_zero_sent_total", "pri_zero_sent", "Priority zero sent"),
)


def _esc(v: object) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kv: object) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}"


def _num(v: float) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int) or float(v).is_integer():
        return str(int(v))
    return repr(float(v))


class _Out:
    """Collects samples grouped by metric so each family gets one HELP/TYPE header."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, str, list[str]]] = {}

    def add(self, metric: str, kind: str, help_: str, value: float, /,
            **labels: object) -> None:
        fam = self.families.setdefault(metric, (kind, help_, []))
        fam[2].append(f"{metric}{_labels(**labels) if labels else ''} {_num(value)}")

    def text(self) -> str:
        out: list[str] = []
        for name, (kind, help_, samples) in self.families.items():
            out += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", *samples]
        return "\n".join(out) + "\n"


def _pool_dict(pool: Any) -> dict[str, Any] | None:
    if pool is None:
        return None
    if dataclasses.is_dataclass(pool) and not isinstance(pool, type):
        return dataclasses.asdict(pool)
    return dict(pool)


# keepalived's tracker script Status/State as mehdy's exporter numbers them
SCRIPT_STATUS = {False: 0, True: 1}  # BAD, GOOD (INIT: no sample, as the exporter skips it)
SCRIPT_STATES = ("idle", "running", "requested termination", "forcing termination")
# gen2brain's IPVS counters: (suffix, IPVS stats key, help); labels {addr, proto}
LVS_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("in_packets", "inpkts", "in packets"),
    ("out_packets", "outpkts", "out packets"),
    ("in_bytes", "inbytes", "in bytes"),
    ("out_bytes", "outbytes", "out bytes"),
    ("conn", "conns", "connections"),
)


def render(vrrp_snap: VrrpSnapshot | dict[str, Any] | None, checker_snap: Any = None,
           config: Config | None = None, parent: dict[str, Any] | None = None) -> str:
    """Prometheus text (version 0.0.4) for one VRRP snapshot (typed, or the state file's
    form), one checker snapshot and the parent's record of its children. With the config,
    also the per-instance GARP delay."""
    o = _Out()
    o.add("keepalived_up", "gauge", "Status", _up(vrrp_snap, checker_snap, parent))
    v = vrrp_snap if isinstance(vrrp_snap, VrrpSnapshot) or vrrp_snap is None else \
        VrrpSnapshot.from_dict(vrrp_snap)
    if v is not None:
        for inst in v.instances:
            _render_instance(o, inst, config.instance(inst.name) if config else None)
        _render_scripts(o, v)
        loop = v.loop
        if loop is not None:
            o.add("pykeepalived_loop_lateness_max_seconds", "gauge",
                  "Worst timer lateness of the VRRP loop since start", loop.lateness_max)
            o.add("pykeepalived_loop_lateness_avg_seconds", "gauge",
                  "Mean timer lateness of the VRRP loop", loop.lateness_avg)
            o.add("pykeepalived_loop_lateness_recent_max_seconds", "gauge",
                  "Worst lateness over the last 256 timers", loop.lateness_recent_max)
            o.add("pykeepalived_loop_timers_total", "counter", "Timers fired", loop.timers)
    pool = _pool_dict(checker_snap)
    _render_checker(o, pool)
    _render_lvs(o, (pool or {}).get("lvs_stats"))
    _render_children(o, parent)
    return o.text()


def _up(vrrp: Any, checker: Any, parent: dict[str, Any] | None) -> int:
    """1 only when every child the config needs is running and publishing: a checker that
    keeps dying must not hide behind a healthy VRRP child."""
    if parent is None:
        return 1 if vrrp or checker else 0
    kids = parent.get("children") or {}
    live = {"vrrp": bool(vrrp), "checker": bool(checker)}
    wanted = [k for k, c in kids.items() if c.get("wanted")]
    return 1 if wanted and all(live.get(k) and kids[k].get("running") for k in wanted) else 0


def _render_instance(o: _Out, s: InstanceSnapshot, cfg: VrrpInstance | None) -> None:
    name = s.name
    state = STATE_NUM.get(s.state or "INIT", 0)
    intf = s.interface
    vrid = s.vrid
    vips = list(s.vips)
    n_excl = len(cfg.virtual_ipaddress_excluded) if cfg is not None else 0
    main, excl = vips[:len(vips) - n_excl], vips[len(vips) - n_excl:]
    for metric, help_, group in (("keepalived_vrrp_state", "State of vrrp", main),
                                 ("keepalived_vrrp_excluded_state",
                                  "State of vrrp with excluded VIP", excl)):
        for vip in group:
            parts = vip.split(" ")
            dev = parts[2] if len(parts) >= 3 and parts[1] == "dev" else intf
            o.add(metric, "gauge", help_, state, iname=name, intf=dev, vrid=vrid,
                  ip_address=parts[0])
    if not vips:  # the exporter still reports the state, with an empty address
        o.add("keepalived_vrrp_state", "gauge", "State of vrrp", state, iname=name, intf=intf,
              vrid=vrid, ip_address="")
    # mehdy's labels since v1.3.0: no `state`, so a failover does not split the series
    common = {"iname": name, "intf": intf, "vrid": vrid}
    st = {k: int(s.counters.get(k, 0)) for k in STATS_KEYS}
    for metric, key, help_ in VRRP_COUNTERS:
        o.add(metric, "counter", help_, st[key], **common)
    if cfg is not None:
        o.add("keepalived_gratuitous_arp_delay_total", "counter", "Gratuitous ARP delay",
              cfg.garp_master_delay, **common)
    # ours: things keepalived's dumps do not carry
    o.add("pykeepalived_vrrp_priority", "gauge", "Effective priority",
          s.effective_priority, iname=name, vrid=vrid)
    o.add("pykeepalived_vrrp_base_priority", "gauge", "Configured priority",
          s.base_priority, iname=name, vrid=vrid)
    o.add("pykeepalived_vrrp_last_transition_timestamp_seconds", "gauge",
          "Wall-clock time of the last state change", s.last_transition or 0,
          iname=name, vrid=vrid)
    if s.last_advert.time:
        o.add("pykeepalived_vrrp_last_advert_timestamp_seconds", "gauge",
              "Wall-clock time of the last accepted advert", s.last_advert.time, iname=name,
              vrid=vrid)
    o.add("pykeepalived_gratuitous_arp_sent_total", "counter",
          "GARP/NA packets sent", s.garp_sent, iname=name, vrid=vrid)
    for key, val in sorted(s.counters.items()):
        if key.startswith("drop_"):
            o.add("pykeepalived_vrrp_dropped_packets_total", "counter",
                  "Received packets dropped, by reason", val, iname=name, vrid=vrid,
                  reason=key[5:])
    if s.counters.get("send_error"):
        o.add("pykeepalived_vrrp_send_errors_total", "counter", "Adverts not sent",
              s.counters["send_error"], iname=name, vrid=vrid)


def _render_scripts(o: _Out, snap: VrrpSnapshot) -> None:
    """keepalived_script_status/state{name}: what mehdy's exporter reads from the
    "VRRP Scripts" section of keepalived.data (GOOD 1 / BAD 0; idle 0 / running 1 ...)."""
    running = set(snap.scripts_running)
    for name, ok in sorted(snap.scripts.items()):
        if ok is None:
            continue
        o.add("keepalived_script_status", "gauge", "Tracker Script Status",
              SCRIPT_STATUS[bool(ok)], name=name)
        o.add("keepalived_script_state", "gauge", "Tracker Script State",
              SCRIPT_STATES.index("running" if name in running else "idle"), name=name)


def _render_checker(o: _Out, pool: dict[str, Any] | None) -> None:
    if not pool:
        return
    o.add("pykeepalived_checks_total", "counter", "Health check attempts", pool.get("checks", 0))
    for a in pool.get("announce") or []:  # announce_* lines (health-driven ECMP)
        o.add("pykeepalived_announce_vip_announced", "gauge",
              "1 while the VIP is announced to the routing daemon", bool(a.get("announced")),
              vs=a.get("vs", ""), vip=a.get("vip", ""), reason=a.get("reason", ""))
    for vs in pool.get("virtual_servers") or []:
        v = vs["key"]
        o.add("pykeepalived_lvs_vs_quorum_up", "gauge", "1 when the VS quorum is met",
              bool(vs.get("quorum_up")), vs=v)
        # not *_weight_sum: promtool reserves _sum for histograms and summaries
        o.add("pykeepalived_lvs_vs_alive_weight", "gauge", "Sum of alive real server weights",
              vs.get("weight_sum", 0), vs=v)
        for rs in vs.get("real_servers") or []:
            ip, port = rs["key"][0], rs["key"][1]
            rsname = f"{ip}:{port or 0}"
            o.add("pykeepalived_lvs_rs_up", "gauge", "1 when the real server is alive",
                  bool(rs.get("alive")), vs=v, rs=rsname)
            o.add("pykeepalived_lvs_rs_weight", "gauge", "Weight programmed for the real server",
                  rs.get("effective_weight", 0) if rs.get("alive") else 0, vs=v, rs=rsname)
            for c in rs.get("checkers") or []:
                lab = {"vs": v, "rs": rsname, "checker": c.get("kind", "")}
                o.add("pykeepalived_checker_up", "gauge", "Checker verdict", bool(c.get("up")),
                      **lab)
                o.add("pykeepalived_checker_checks_total", "counter", "Checks run",
                      c.get("checks", 0), **lab)
                o.add("pykeepalived_checker_failures_total", "counter", "Checks failed",
                      c.get("failures", 0), **lab)
                if c.get("last_duration") is not None:
                    o.add("pykeepalived_checker_last_duration_seconds", "gauge",
                          "Duration of the last check", c["last_duration"], **lab)


def lvs_stats_plain(services: Any) -> list[dict[str, Any]]:
    """IPVSKernel.stats() as the checker child publishes it: addresses the way gen2brain's
    exporter prints them ("ip:port", IPv6 without brackets; "fwmark:N" for a fwmark
    service) and the IP protocol number (0 for fwmark)."""
    out = []
    for ss in services:
        svc = ss.service
        proto = {"tcp": 6, "udp": 17, "sctp": 132}.get(svc.protocol or "", 0)
        addr = f"fwmark:{svc.fwmark}" if svc.fwmark else f"{svc.addr}:{svc.port}"
        out.append({"addr": addr, "proto": proto, "stats": dict(ss.stats),
                    "dests": [{"addr": f"{d.addr}:{d.port}", "stats": dict(st)}
                              for d, st in ss.dests]})
    return out


def _render_lvs(o: _Out, services: list[dict[str, Any]] | None) -> None:
    """gen2brain's keepalived_lvs_{vip,rs}_* from the kernel's IPVS stats, labels {addr, proto}
    as that exporter sets them (addr "ip:port", proto the IP protocol number; a real server
    carries its service's proto). TYPE untyped: the names predate the _total convention and
    dashboards use them as they are; promtool lints only TYPE counter names for _total."""
    for svc in services or ():
        proto = str(svc.get("proto", 0))
        st = svc.get("stats") or {}
        for suffix, key, help_ in LVS_COUNTERS:
            o.add(f"keepalived_lvs_vip_{suffix}", "untyped", f"VIP {help_}", st.get(key, 0),
                  addr=svc.get("addr", ""), proto=proto)
        for d in svc.get("dests") or ():
            ds = d.get("stats") or {}
            for suffix, key, help_ in LVS_COUNTERS:
                o.add(f"keepalived_lvs_rs_{suffix}", "untyped", f"RS {help_}", ds.get(key, 0),
                      addr=d.get("addr", ""), proto=proto)


def _render_children(o: _Out, parent: dict[str, Any] | None) -> None:
    """Child processes as the parent sees them: a crash loop shows as a climbing counter and
    the last exit's reason, never as a silent gap."""
    for kind, c in sorted(((parent or {}).get("children") or {}).items()):
        if not c.get("wanted"):
            continue
        o.add("pykeepalived_child_up", "gauge", "1 while the child process runs",
              bool(c.get("running")), child=kind)
        o.add("pykeepalived_child_restarts_total", "counter", "Child processes respawned",
              c.get("restarts", 0), child=kind)
        last = c.get("last_exit")
        if last:
            o.add("pykeepalived_child_last_exit_timestamp_seconds", "gauge",
                  "Wall-clock time the child last exited", last.get("time", 0), child=kind)
            o.add("pykeepalived_child_last_exit_info", "gauge",
                  "Why the child last exited (value always 1)", 1, child=kind,
                  status=last.get("status", ""), reason=str(last.get("reason", ""))[:200])


Snapshot = tuple[dict[str, Any] | None, Any, dict[str, Any] | None]
SnapshotFn = Callable[[], Snapshot]


async def serve(host: str = "127.0.0.1", port: int = 9650,
                snapshot_fn: SnapshotFn | None = None,
                path: str = "/metrics",
                config_fn: Callable[[], Config | None] | None = None,
                ) -> asyncio.base_events.Server:
    """Start the endpoint; returns the asyncio Server (caller closes it). GET path only.
    snapshot_fn gives (vrrp snapshot, checker snapshot, parent record)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            parts = head.split(b"\r\n", 1)[0].split()
            method = parts[0] if parts else b""
            target = parts[1].decode("latin-1").split("?", 1)[0] if len(parts) > 1 else ""
            if method != b"GET":
                status, body, ctype = "405 Method Not Allowed", b"GET only\n", "text/plain"
            elif target != path:
                status, body, ctype = "404 Not Found", b"try /metrics\n", "text/plain"
            else:
                vs, cs, ps = snapshot_fn() if snapshot_fn else (None, None, None)
                cfg = config_fn() if config_fn else None
                body = render(vs, cs, cfg, ps).encode()
                status, ctype = "200 OK", "text/plain; version=0.0.4; charset=utf-8"
            writer.write(f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                         + body)
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, limit=8192)
