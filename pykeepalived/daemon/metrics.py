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

from pykeepalived.config.model import Config
from pykeepalived.daemon.dumps import STATE_NUM, instance_stats

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

    def add(self, name: str, kind: str, help_: str, value: float, **labels: object) -> None:
        fam = self.families.setdefault(name, (kind, help_, []))
        fam[2].append(f"{name}{_labels(**labels) if labels else ''} {_num(value)}")

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


def render(vrrp_snap: dict[str, Any] | None, checker_snap: Any = None,
           config: Config | None = None) -> str:
    """Prometheus text (version 0.0.4) for one VRRP snapshot and one checker snapshot;
    with the config, also mehdy's keepalived_gratuitous_arp_delay_total."""
    o = _Out()
    o.add("keepalived_up", "gauge", "Status", 1 if vrrp_snap or checker_snap else 0)
    for name, s in ((vrrp_snap or {}).get("instances") or {}).items():
        state_name = s.get("state", "INIT")
        state = STATE_NUM.get(state_name, 0)
        intf = s.get("interface") or ""
        vrid = s.get("vrid", 0)
        for vip in s.get("vips") or []:
            parts = vip.split(" ")
            ip = parts[0]
            dev = parts[2] if len(parts) >= 3 else intf
            o.add("keepalived_vrrp_state", "gauge", "State of vrrp", state,
                  iname=name, intf=dev, vrid=vrid, ip_address=ip)
        st = instance_stats(s)
        common = {"iname": name, "intf": intf, "vrid": vrid, "state": state_name}
        for metric, key, help_ in VRRP_COUNTERS:
            o.add(metric, "counter", help_, st[key], **common)
        cfg = config.instance(name) if config is not None else None
        if cfg is not None:
            o.add("keepalived_gratuitous_arp_delay_total", "counter", "Gratuitous ARP delay",
                  cfg.garp_master_delay, **common)
        # ours: things keepalived's dumps do not carry
        o.add("pykeepalived_vrrp_priority", "gauge", "Effective priority",
              s.get("effective_priority", 0), iname=name, vrid=vrid)
        o.add("pykeepalived_vrrp_base_priority", "gauge", "Configured priority",
              s.get("base_priority", 0), iname=name, vrid=vrid)
        o.add("pykeepalived_vrrp_last_transition_timestamp_seconds", "gauge",
              "Wall-clock time of the last state change", s.get("last_transition") or 0,
              iname=name, vrid=vrid)
        last = (s.get("last_advert") or {}).get("time")
        if last:
            o.add("pykeepalived_vrrp_last_advert_timestamp_seconds", "gauge",
                  "Wall-clock time of the last accepted advert", last, iname=name, vrid=vrid)
        o.add("pykeepalived_gratuitous_arp_sent_total", "counter",
              "GARP/NA packets sent", s.get("garp_sent", 0), iname=name, vrid=vrid)
        for key, val in sorted((s.get("counters") or {}).items()):
            if key.startswith("drop_"):
                o.add("pykeepalived_vrrp_dropped_packets_total", "counter",
                      "Received packets dropped, by reason", val, iname=name, vrid=vrid,
                      reason=key[5:])
        if s.get("counters", {}).get("send_error"):
            o.add("pykeepalived_vrrp_send_errors_total", "counter", "Adverts not sent",
                  s["counters"]["send_error"], iname=name, vrid=vrid)
    loop = (vrrp_snap or {}).get("loop")
    if loop:
        o.add("pykeepalived_loop_lateness_max_seconds", "gauge",
              "Worst timer lateness of the VRRP loop since start", loop.get("lateness_max", 0))
        o.add("pykeepalived_loop_lateness_avg_seconds", "gauge",
              "Mean timer lateness of the VRRP loop", loop.get("lateness_avg", 0))
        o.add("pykeepalived_loop_lateness_recent_max_seconds", "gauge",
              "Worst lateness over the last 256 timers", loop.get("lateness_recent_max", 0))
        o.add("pykeepalived_loop_timers_total", "counter", "Timers fired",
              loop.get("timers", 0))
    _render_checker(o, _pool_dict(checker_snap))
    return o.text()


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
        o.add("pykeepalived_lvs_vs_weight_sum", "gauge", "Sum of alive real server weights",
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


SnapshotFn = Callable[[], tuple[dict[str, Any] | None, Any]]


async def serve(host: str = "127.0.0.1", port: int = 9650,
                snapshot_fn: SnapshotFn | None = None,
                path: str = "/metrics") -> asyncio.base_events.Server:
    """Start the endpoint; returns the asyncio Server (caller closes it). GET path only."""

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
                vs, cs = snapshot_fn() if snapshot_fn else (None, None)
                body = render(vs, cs).encode()
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
