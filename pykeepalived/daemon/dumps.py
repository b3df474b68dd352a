"""keepalived 2.2.7's signal dump formats, produced from one snapshot.

Why: existing exporters (mehdy/keepalived-exporter, gen2brain/keepalived_exporter) and operator
scripts signal the daemon and parse /tmp/keepalived.{data,stats,json}; they must keep working
after a migration. Pure functions: the caller takes one engine snapshot and writes every file
from it, so data and stats never disagree (keepalived's own two dumps can race).

Layouts follow real 2.2.7 dumps (tests/data/kad-dumps/) line by line; the checker dump follows
keepalived's check_data.c / check_api.c (no real sample: this host has no IPVS).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from pykeepalived.config.model import Config, GlobalDefs, VirtualServer, VrrpInstance
from pykeepalived.vrrp.snapshot import InstanceSnapshot, VrrpSnapshot

STATE_NUM = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}
AUTH_NUM = {None: 0, "PASS": 1, "AH": 2}
AUTH_NAME = {"PASS": "SIMPLE_PASSWORD", "AH": "IPSEC_AH"}
LVS_VERSION = "1.2.1"

# (label in keepalived.stats, section or None, JSON key) in keepalived's order
STATS_LAYOUT: tuple[tuple[str | None, str, str], ...] = (
    ("Advertisements", "Received", "advert_rcvd"),
    ("Advertisements", "Sent", "advert_sent"),
    (None, "Became master", "become_master"),
    (None, "Released master", "release_master"),
    ("Packet Errors", "Length", "packet_len_err"),
    ("Packet Errors", "TTL", "ip_ttl_err"),
    ("Packet Errors", "Invalid Type", "invalid_type_rcvd"),
    ("Packet Errors", "Advertisement Interval", "advert_interval_err"),
    ("Packet Errors", "Address List", "addr_list_err"),
    ("Authentication Errors", "Invalid Type", "invalid_authtype"),
    ("Authentication Errors", "Type Mismatch", "authtype_mismatch"),
    ("Authentication Errors", "Failure", "auth_failure"),
    ("Priority Zero", "Received", "pri_zero_rcvd"),
    ("Priority Zero", "Sent", "pri_zero_sent"),
)
# keepalived's JSON "stats" key order (differs from the text order)
STATS_KEYS: tuple[str, ...] = (
    "advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err",
    "advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err",
    "invalid_authtype", "authtype_mismatch", "auth_failure", "pri_zero_rcvd", "pri_zero_sent")


# ------------------------------------------------------------------ helpers
def _tf(b: bool) -> str:
    return "true" if b else "false"


def _ed(b: bool) -> str:
    return "enabled" if b else "disabled"


def ka_time(t: float) -> str:
    """keepalived's timestamp: '1795259314.897460 (Sat Nov 21 11:08:34.897460 2026)'."""
    sec = int(t)
    usec = round((t - sec) * 1e6)
    if usec >= 1_000_000:
        sec, usec = sec + 1, usec - 1_000_000
    c = time.ctime(sec)  # 'Sat Nov 21 11:08:34 2026'
    return f"{sec}.{usec:06d} ({c[:19]}.{usec:06d}{c[19:]})"


def _inst_cfg(config: Config | None, name: str) -> VrrpInstance | None:
    return config.instance(name) if config is not None else None


def _down_timer_us(cfg: VrrpInstance | None, prio: int) -> int:
    """RFC master down interval as keepalived prints it: adverts*int + skew, in us."""
    adv = round((cfg.advert_int if cfg else 1.0) * 1e6)
    n = cfg.down_timer_adverts if cfg else 3
    return n * adv + (256 - prio) * adv // 256


# ------------------------------------------------------------------ global definitions
def global_section(g: GlobalDefs, vrrp_child: bool = True) -> list[str]:
    """'------< Global definitions >------' as the VRRP child (or parent) prints it."""
    lp_delay = g.vrrp_garp_lower_prio_delay
    lp_rep = g.vrrp_garp_lower_prio_repeat
    if vrrp_child:  # the child resolves unset values to the master delay/repeat
        lp_delay = g.vrrp_garp_master_delay if lp_delay is None else lp_delay
        lp_rep = g.vrrp_garp_master_repeat if lp_rep is None else lp_rep
    unset = 4294967295  # keepalived_parent.data prints unset values as (unsigned)-1
    out = [
        "------< Global definitions >------",
        " Network namespace = (default)",
        " Network namespace ipvs = (main namespace)",
        f" Router ID = {g.router_id or socket.gethostname()}",
        " Default smtp_alert = unset",
        " Default smtp_alert_vrrp = unset",
        " Default smtp_alert_checker = unset",
        f" Checkers log all failures = {_tf(g.checker_log_all_failures)}",
        " No test config before reload",
        f" Dynamic interfaces = {_tf(g.dynamic_interfaces)}",
    ]
    if vrrp_child:
        out.append(f" Default interface = {g.default_interface}")
    out += [
        " Disable local IGMP = no",
        f" LVS flush = {_tf(g.lvs_flush)}",
        f" LVS flush on stop = {'full' if g.lvs_flush_on_stop else 'disabled'}",
        " FIFO write vrrp states on reload = false",
        f" VRRP notify priority changes = {_tf(g.vrrp_notify_priority_changes)}",
        f" VRRP IPv4 mcast group = {g.vrrp_mcast_group4}",
        f" VRRP IPv6 mcast group = {g.vrrp_mcast_group6}",
        f" Gratuitous ARP delay = {g.vrrp_garp_master_delay}",
        f" Gratuitous ARP repeat = {g.vrrp_garp_master_repeat}",
        f" Gratuitous ARP refresh timer = {g.vrrp_garp_master_refresh}",
        f" Gratuitous ARP refresh repeat = {g.vrrp_garp_master_refresh_repeat}",
        f" Gratuitous ARP lower priority delay = {unset if lp_delay is None else lp_delay}",
        f" Gratuitous ARP lower priority repeat = {unset if lp_rep is None else lp_rep}",
        f" Num adverts before down = {g.vrrp_down_timer_adverts}",
        " Gratuitous ARP for each secondary VMAC = 0s",
        " Send advert after receive lower priority advert = "
        f"{_tf(not g.vrrp_lower_prio_no_advert)}",
        " Send advert after receive higher priority advert = "
        f"{_tf(g.vrrp_higher_prio_send_advert)}",
        f" Gratuitous ARP interval = {g.vrrp_garp_interval:f}",
        f" Gratuitous NA interval = {g.vrrp_gna_interval:f}",
        f" VRRP default protocol version = {g.vrrp_version}",
        " nftables without counters",
        " libnftnl version 1.2.3",
        f" VRRP check unicast_src = {_tf(g.vrrp_check_unicast_src)}",
        f" VRRP skip check advert addresses = {_tf(g.vrrp_skip_check_adv_addr)}",
        f" VRRP strict mode = {_tf(g.vrrp_strict)}",
        f" Max auto priority = {g.max_auto_priority or 0}",
        " Min auto priority delay = 1000000 usecs",
    ]
    for who in ("VRRP", "Checker", "BFD"):
        out += [f" {who} process priority = 0", f" {who} don't swap = false",
                f" {who} realtime priority = 0", f" {who} realtime limit = 10000"]
    out += [
        " SNMP vrrp disabled", " SNMP checker disabled", " SNMP RFCv2 disabled",
        " SNMP RFCv3 disabled", " SNMP traps disabled",
        " SNMP socket = default (unix:/var/agentx/master)",
        " DBus disabled", " DBus service name = ",
        f" Script security {_ed(g.enable_script_security)}",
        " Default script uid:gid 0:0",
    ]
    for nl in ("vrrp_netlink_cmd", "vrrp_netlink_monitor", "process_monitor",
               "lvs_netlink_cmd", "lvs_netlink_monitor"):
        out += [f" {nl}_rcv_bufs = 0", f" {nl}_rcv_bufs_force = 0"]
    out += [" rs_init_notifies = 0", " no_checker_emails = 0", " rx_bufs_multiples = 3",
            " umask = 0177"]
    return out


def parent_data(config: Config) -> str:
    """/tmp/keepalived_parent.data: the parent only knows the global definitions."""
    return "\n".join(global_section(config.global_defs, vrrp_child=False)) + "\n"


# ------------------------------------------------------------------ keepalived.data
def cmd_str(script: Any) -> str:
    """A command as keepalived prints it: every argument quoted, the program as the path it
    resolved (symlinks followed: /bin/true is '/usr/bin/true' on a merged-/usr system)."""
    argv = list(script.argv)
    if argv and os.path.isabs(argv[0]) and os.path.exists(argv[0]):
        argv[0] = os.path.realpath(argv[0])
    return " ".join(f"'{a}'" for a in argv)


def _script_line(label: str, script: Any) -> str:
    return f"   {label} = {cmd_str(script)}, uid:gid 0:0"


def _instance_lines(s: InstanceSnapshot, cfg: VrrpInstance | None,
                    now: float, config_scripts: dict[str, int]) -> list[str]:
    name = s.name
    state = s.state or "INIT"
    prio, base, version = s.effective_priority, s.base_priority, s.version
    out = [f" VRRP Instance = {name}", f"   VRRP Version = {version}", f"   State = {state}"]
    if state == "BACKUP" and s.master_address:
        out.append(f"   Master router = {s.master_address}")
        out.append(f"   Master priority = {s.master_priority or 0}")
    faults = s.faults
    down_us = _down_timer_us(cfg, prio)
    adv = cfg.advert_int if cfg else 1.0
    read_to = now + (adv if state == "MASTER" else down_us / 1e6)
    out += [
        "   Flags: none",
        f"   Wantstate = {state}",
        "   Number of config faults = 0",
        f"   Number of interface and track script faults = {len(faults)}",
        "   Number of track scripts init = 0",
        f"   Last transition = {ka_time(float(s.last_transition or now))}",
        f"   Read timeout = {ka_time(read_to)}",
        f"   Master down timer = {down_us} usecs",
        f"   Interface = {s.interface or (cfg.interface if cfg else '')}",
    ]
    if s.source:
        out.append(f"   Using src_ip = {s.source}")
    if cfg is not None and cfg.unicast_peer:
        out.append(f"   Unicast TTL = {cfg.unicast_ttl}")
        out.append(f"   Unicast Peers ({len(cfg.unicast_peer)}):")
        out += [f"     {p.address}" for p in cfg.unicast_peer]
    else:
        fam = s.family
        grp = (cfg.mcast_dst_ip if cfg and cfg.mcast_dst_ip else
               ("224.0.0.18" if fam == 4 else "ff02::12"))
        out.append(f"   Multicast address {grp}")
    if cfg is not None:
        out += [
            f"   Gratuitous ARP delay = {cfg.garp_master_delay}",
            f"   Gratuitous ARP repeat = {cfg.garp_master_repeat}",
            f"   Gratuitous ARP refresh = {cfg.garp_master_refresh}",
            f"   Gratuitous ARP refresh repeat = {cfg.garp_master_refresh_repeat}",
            f"   Gratuitous ARP lower priority delay = {cfg.garp_lower_prio_delay}",
            f"   Gratuitous ARP lower priority repeat = {cfg.garp_lower_prio_repeat}",
            f"   Down timer adverts = {cfg.down_timer_adverts}",
            "   Send advert after receive lower priority advert = "
            f"{_tf(not cfg.lower_prio_no_advert)}",
            "   Send advert after receive higher priority advert = "
            f"{_tf(cfg.higher_prio_send_advert)}",
        ]
    out += [
        f"   Virtual Router ID = {s.vrid}",
        f"   Priority = {base}",
        f"   Effective priority = {prio}",
        f"   Total priority = {prio}",
    ]
    if version == 3:
        out.append(f"   Advert interval = {round(adv * 1000)} milli-sec")
    else:
        out.append(f"   Advert interval = {max(1, round(adv))} sec")
    if cfg is not None:
        out.append(f"   Accept = {_ed(cfg.accept)}")
        out.append(f"   Preempt = {_ed(not cfg.nopreempt)}")
        if cfg.preempt_delay:
            out.append(f"   Preempt delay = {cfg.preempt_delay:g} secs")
        out.append("   Promote_secondaries = disabled")
        if version == 2:
            out.append("   Authentication type = "
                       f"{AUTH_NAME.get(cfg.auth_type, cfg.auth_type) or 'none'}")
            if cfg.auth_type == "PASS":
                out.append(f"   Password = {cfg.auth_pass or ''}")
    vips = list(s.vips)
    n_excl = len(cfg.virtual_ipaddress_excluded) if cfg is not None else 0
    main, excl = vips[:len(vips) - n_excl], vips[len(vips) - n_excl:]
    if main:
        out.append(f"   Virtual IP ({len(main)}):")
        out += [f"     {v}" for v in main]
    if excl:
        out.append(f"   Virtual IP Excluded ({len(excl)}):")
        out += [f"     {v}" for v in excl]
    fds = s.fds  # (fd_in, fd_out) when the engine exposes its socket
    if fds:
        out.append(f"   fd_in {fds[0]}, fd_out {fds[1]}")
    if cfg is not None:
        if cfg.track_interface:
            out.append("   Tracked interfaces :")
            out += [f"     {t.name} weight {t.weight or 0}" for t in cfg.track_interface]
        if cfg.track_script:
            out.append("   Tracked scripts :")
            out += [f"     {t.name} weight {_ref_weight(t, config_scripts)}"
                    for t in cfg.track_script]
        out.append(f"   Using smtp notification = {'yes' if cfg.smtp_alert else 'no'}")
        out.append(f"   Notify deleted = {'Deleted' if cfg.notify_deleted else 'Fault'}")
        for label, sc in (("Backup state transition script", cfg.notify_backup),
                          ("Master state transition script", cfg.notify_master),
                          ("Fault state transition script", cfg.notify_fault),
                          ("Stop state transition script", cfg.notify_stop),
                          ("Generic state transition script", cfg.notify)):
            if sc is not None:
                out.append(_script_line(label, sc))
        out.append("   Notify priority changes = false")
    return out


def _ref_weight(ref: Any, scripts: dict[str, int]) -> int:
    """A track_script entry's weight, or the vrrp_script's own one."""
    return int(ref.weight) if ref.weight is not None else scripts.get(ref.name, 0)


def _scripts_section(snap: VrrpSnapshot, config: Config) -> list[str]:
    """'------< VRRP Scripts >------': mehdy's exporter reads Status/State from here."""
    if not config.vrrp_scripts:
        return []
    results = snap.scripts
    running = set(snap.scripts_running)
    out = ["------< VRRP Scripts >------"]
    for sc in config.vrrp_scripts:
        res = results.get(sc.name)
        status = "INIT" if res is None else ("GOOD" if res else "BAD")
        # keepalived's result runs 0 .. rise+fall-1: the top when steadily good, 0 when bad
        result = 0 if not res else sc.rise + sc.fall - 1
        out += [
            f" VRRP Script = {sc.name}",
            f"   Command = {cmd_str(sc.script)}",
            f"   Interval = {sc.interval:g} sec",
            f"   Timeout = {sc.timeout_configured:g} sec",
            f"   Weight = {sc.weight}",
            f"   Rise = {sc.rise}",
            f"   Fall = {sc.fall}",
            f"   Result = {result}",
            "   Insecure = no",
            f"   Init state = {'failed' if sc.init_fail else 'unknown'}",
            f"   Status = {status}",
            "   Script uid:gid = 0:0",
            "   VRRP instances :",
            "   Tracking instances :",
        ]
        for inst in config.vrrp_instances:
            for t in inst.track_script:
                if t.name == sc.name:
                    w = t.weight if t.weight is not None else sc.weight
                    out.append(f"     {inst.name}, weight {w}")
        out.append(f"   State = {'running' if sc.name in running else 'idle'}")
    return out


def _sockpool_section(snap: VrrpSnapshot) -> list[str]:
    """'------< VRRP Sockpool >------': one entry per socket and the instances on it (ours
    reads and sends on one socket, so fd_in and fd_out are the same number)."""
    if not snap.sockpool:
        return []
    out = ["------< VRRP Sockpool >------"]
    for p in snap.sockpool:
        out += [f" fd_in {p.fd} fd_out = {p.fd}",
                f"   Interface = {p.interface}",
                f"   Family = IPv{p.family}",
                f"   Protocol = {'AH' if p.proto == 51 else 'VRRP'}",
                f"   Type = {'Unicast' if p.unicast else 'Multicast'}",
                "   Rx buf size = 0",
                "   VRRP instances"]
        out += [f"     {name} vrid {vrid}" for name, vrid in p.instances]
    return out


def _if_state(flags: int) -> str:
    from pykeepalived.daemon import ifinfo as f

    return (f"{'' if flags & f.IFF_UP else 'not '}UP, "
            f"{'' if flags & f.IFF_RUNNING else 'not '}RUNNING"
            + ("" if flags & f.IFF_BROADCAST else ", no broadcast")
            + (", loopback" if flags & f.IFF_LOOPBACK else "")
            + (", point to point" if flags & f.IFF_POINTOPOINT else "")
            + (", no arp" if flags & f.IFF_NOARP else "")
            + ("" if flags & f.IFF_MULTICAST else ", no multicast"))


def interfaces_section(ifaces: list[Any], config: Config) -> list[str]:
    """'------< Interfaces >------' from ifinfo.collect(): every interface, and on each the
    instances that track it (their own interface with weight 0, track_interface weights)."""
    if not ifaces:
        return []
    tracking: dict[str, list[str]] = {}
    for inst in config.vrrp_instances:
        if inst.interface:
            tracking.setdefault(inst.interface, []).append(f"{inst.name}, weight 0")
        for t in inst.track_interface:
            tracking.setdefault(t.name, []).append(f"{inst.name}, weight {t.weight or 0}")
    hw = {1: "ETHERNET", 772: "LOOPBACK"}
    out = ["------< Interfaces >------"]
    for i in ifaces:
        out += [f" Name = {i.name}", f"   index = {i.index}",
                f"   IPv4 address = {i.ipv4 or '(none)'}",
                f"   IPv6 address = {i.ipv6 or '(none)'}"]
        if i.mac:
            out += [f"   MAC = {i.mac}", f"   MAC broadcast = {i.broadcast}"]
        out += [f"   State = {_if_state(i.flags)}",
                f"   Seen up = {int(bool(i.flags & 1))}",
                "   Delayed state change running = false",
                "   Up debounce timer = 0us", "   Down debounce timer = 0us",
                f"   MTU = {i.mtu}",
                f"   HW Type = {hw.get(i.hw_type, f'UNKNOWN ({i.hw_type})')}",
                "   NIC netlink status update",
                "   Reset ARP config counter 0",
                f"   Original arp_ignore {i.arp_ignore}",
                f"   Original arp_filter {i.arp_filter}",
                f"   Original promote_secondaries {i.promote_secondaries}",
                "   Reset promote_secondaries counter 0"]
        if i.name in tracking:
            out.append("   Tracking VRRP instances :")
            out += [f"     {t}" for t in tracking[i.name]]
    return out


def as_vrrp(snap: VrrpSnapshot | Mapping[str, Any]) -> VrrpSnapshot:
    """The typed snapshot, from itself or from its published (state file) form."""
    return snap if isinstance(snap, VrrpSnapshot) else VrrpSnapshot.from_dict(snap)


def vrrp_data(snap: VrrpSnapshot | Mapping[str, Any], config: Config,
              now: float | None = None, ifaces: list[Any] | None = None) -> str:
    """/tmp/keepalived.data as the VRRP child writes it on USR1 (ifaces: ifinfo.collect())."""
    now = time.time() if now is None else now
    v = as_vrrp(snap)
    lines = global_section(config.global_defs)
    weights = {sc.name: sc.weight for sc in config.vrrp_scripts}
    if v.instances:
        lines.append("------< VRRP Topology >------")
        for s in v.instances:
            lines += _instance_lines(s, _inst_cfg(config, s.name), now, weights)
    lines += _sockpool_section(v)
    lines += _scripts_section(v, config)
    lines += interfaces_section(ifaces or [], config)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ keepalived.stats
def instance_stats(s: InstanceSnapshot) -> dict[str, int]:
    """keepalived's 14 counters from one instance's snapshot counters (missing = 0)."""
    return {k: int(s.counters.get(k, 0)) for k in STATS_KEYS}


def vrrp_stats(snap: VrrpSnapshot | Mapping[str, Any]) -> str:
    """/tmp/keepalived.stats as the VRRP child writes it on USR2."""
    lines: list[str] = []
    for s in as_vrrp(snap).instances:
        st = instance_stats(s)
        lines.append(f"VRRP Instance: {s.name}")
        section: str | None = None
        for sec, label, key in STATS_LAYOUT:
            if sec is None:
                lines.append(f"  {label}: {st[key]}")
            else:
                if sec != section:
                    lines.append(f"  {sec}:")
                lines.append(f"    {label}: {st[key]}")
            section = sec
    return "\n".join(lines) + "\n" if lines else ""


# ------------------------------------------------------------------ keepalived.json
def _js(v: Any) -> str:
    """keepalived's json_writer: compact, floats as %f, '/' escaped as '\\/'."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:f}"
    if isinstance(v, str):
        return json.dumps(v).replace("/", "\\/")
    if isinstance(v, dict):
        return "{" + ",".join(f"{_js(str(k))}:{_js(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ",".join(_js(x) for x in v) + "]"
    if v is None:
        return "null"
    return _js(str(v))


def instance_json_data(s: InstanceSnapshot, cfg: VrrpInstance | None,
                       now: float) -> dict[str, Any]:
    """The "data" object of one instance, keys and types as keepalived's vrrp_json.c."""
    name = s.name
    state = STATE_NUM.get(s.state or "INIT", 0)
    adv = cfg.advert_int if cfg else 1.0
    return {
        "iname": name,
        "dont_track_primary": int(bool(cfg and cfg.dont_track_primary)),
        "skip_check_adv_addr": int(bool(cfg and cfg.skip_check_adv_addr)),
        "strict_mode": int(bool(cfg and cfg.strict_mode)),
        "vmac_ifname": (cfg.use_vmac or "") if cfg else "",
        "ifp_ifname": s.interface or (cfg.interface if cfg else "") or "",
        "master_priority": int(s.master_priority or 0) if state != 2 else 0,
        "last_transition": float(s.last_transition or now),
        "garp_delay": cfg.garp_master_delay if cfg else 5,
        "garp_refresh": cfg.garp_master_refresh if cfg else 0,
        "garp_rep": cfg.garp_master_repeat if cfg else 5,
        "garp_refresh_rep": cfg.garp_master_refresh_repeat if cfg else 1,
        "garp_lower_prio_delay": cfg.garp_lower_prio_delay if cfg else 5,
        "garp_lower_prio_rep": cfg.garp_lower_prio_repeat if cfg else 5,
        "lower_prio_no_advert": int(bool(cfg and cfg.lower_prio_no_advert)),
        "higher_prio_send_advert": int(bool(cfg and cfg.higher_prio_send_advert)),
        "vrid": s.vrid,
        "base_priority": s.base_priority,
        "effective_priority": s.effective_priority,
        "vipset": s.vips_set,
        "promote_secondaries": False,
        "adver_int": int(adv),
        "master_adver_int": int(adv),
        "accept": int(bool(cfg.accept)) if cfg else 1,
        "nopreempt": bool(cfg and cfg.nopreempt),
        "preempt_delay": int(cfg.preempt_delay) if cfg else 0,
        "state": state,
        "wantstate": state,
        "version": s.version,
        "smtp_alert": bool(cfg and cfg.smtp_alert),
        "notify_deleted": bool(cfg and cfg.notify_deleted),
        "vips": list(s.vips),
        "auth_type": AUTH_NUM.get(cfg.auth_type, 0) if cfg else 0,
        "auth_data": (cfg.auth_pass or "") if cfg and cfg.auth_type == "PASS" else "",
    }


def vrrp_json(snap: VrrpSnapshot | Mapping[str, Any], config: Config,
              now: float | None = None) -> str:
    """/tmp/keepalived.json (one line, like keepalived's JSON signal dump)."""
    now = time.time() if now is None else now
    items = [{"data": instance_json_data(s, _inst_cfg(config, s.name), now),
              "stats": instance_stats(s)}
             for s in as_vrrp(snap).instances]
    return _js(items) + "\n"


# ------------------------------------------------------------------ keepalived_check.data
def _as_dict(pool: Any) -> dict[str, Any]:
    """Accept a PoolSnapshot dataclass or its JSON form (the checker state file)."""
    if pool is None:
        return {"virtual_servers": []}
    if dataclasses.is_dataclass(pool) and not isinstance(pool, type):
        return dataclasses.asdict(pool)
    return dict(pool)


def _rs_fmt(ip: str, port: int | None, proto: str) -> str:
    return f"[{ip}]:{proto.lower()}:{port or 0}"


def checker_data(pool_snapshot: Any, config: Config) -> str:
    """/tmp/keepalived_check.data as the checker child writes it on USR1."""
    pool = _as_dict(pool_snapshot)
    live = {v["key"]: v for v in pool.get("virtual_servers", [])}
    lines = global_section(config.global_defs, vrrp_child=False)
    checks: list[str] = []
    if config.virtual_servers:
        lines += ["------< LVS Topology >------",
                  f" System is compiled with LVS v{LVS_VERSION}"]
    for vs in config.virtual_servers:
        lv = live.get(vs.key, {})
        lines += _vs_lines(vs, lv)
        rs_live = {tuple(r["key"]): r for r in lv.get("real_servers", [])}
        for rs in vs.real_servers:
            r = rs_live.get(rs.key, {})
            lines += _rs_lines(rs, r, vs)
            for i, ch in enumerate(rs.checkers):
                cl = (r.get("checkers") or [])
                c = cl[i] if i < len(cl) else {}
                checks += _checker_lines(vs, rs, ch, c)
    if checks:
        lines.append("------< Health checkers >------")
        lines += checks
    return "\n".join(lines) + "\n"


def _vs_lines(vs: VirtualServer, lv: dict[str, Any]) -> list[str]:
    out = [" ------< Virtual server >------"]
    if vs.group:
        out.append(f" VS GROUP = {vs.key}")
    elif vs.fwmark is not None:
        out.append(f" VS FWMARK = {vs.fwmark}")
    else:
        out.append(f" VS VIP = {vs.ip}, VPORT = {vs.port or 0}")
    if vs.virtualhost:
        out.append(f"   VirtualHost = {vs.virtualhost}")
    if vs.ip is not None:
        out.append(f"   Address family = inet{'' if vs.family == 4 else '6'}")
    out += [
        "   connection timeout = 5.000000",
        f"   delay_loop = {vs.delay_loop:f}",
        f"   lvs_sched = {vs.lvs_sched}",
        "   Hashed = disabled",
        "   flag-1 = disabled", "   flag-2 = disabled", "   flag-3 = disabled",
        "   One packet scheduling = disabled",
    ]
    if vs.persistence_timeout:
        out.append(f"   persistence timeout = {vs.persistence_timeout}")
    if vs.persistence_granularity:
        out.append(f"   persistence granularity = {vs.persistence_granularity}")
    out += [
        f"   protocol = {vs.protocol}",
        f"   alpha is {'ON' if vs.alpha else 'OFF'}",
        f"   omega is {'ON' if vs.omega else 'OFF'}",
        f"   Inhibit on failure is {'ON' if vs.inhibit_on_failure else 'OFF'}",
        f"   quorum = {vs.quorum}, hysteresis = {vs.hysteresis}",
    ]
    if vs.quorum_up:
        out.append(f"   Quorum up notify script = {vs.quorum_up.command}, uid:gid 0:0")
    if vs.quorum_down:
        out.append(f"   Quorum down notify script = {vs.quorum_down.command}, uid:gid 0:0")
    if vs.ha_suspend:
        out.append("   Using HA suspend")
    out.append(f"   Using smtp notification = {'yes' if vs.smtp_alert else 'no'}")
    out.append(f"   default forwarding method = {vs.lvs_method}")
    if vs.sorry_server:
        ip, port = vs.sorry_server
        out.append(f"   sorry server = {_rs_fmt(str(ip), port, vs.protocol)}")
        out.append(f"   sorry server forwarding method = "
                   f"{vs.sorry_server_lvs_method or vs.lvs_method}")
    alive = sum(1 for r in lv.get("real_servers", []) if r.get("alive"))
    out += [f"   alive = {alive}",
            f"   quorum_state_up = {int(bool(lv.get('quorum_up', True)))}",
            "   reloaded = 0"]
    return out


def _rs_lines(rs: Any, r: dict[str, Any], vs: VirtualServer) -> list[str]:
    eff = int(r.get("effective_weight", rs.weight))
    alive = bool(r.get("alive", False))
    # keepalived 2.2.7 prints an unset real_server smtp_alert (-1) as "yes"
    smtp = rs.smtp_alert or not getattr(rs, "smtp_alert_set", False)
    failed = sum(1 for c in (r.get("checkers") or []) if not c.get("up", True))
    dl = rs.checkers[0].delay_loop if rs.checkers else vs.delay_loop
    out = [
        "   ------< Real server >------",
        f"   RIP = {rs.ip}, RPORT = {rs.port or 0}, WEIGHT = {rs.weight} EFF WEIGHT = {eff}",
        f"   forwarding method = {rs.lvs_method}",
        f"   Alpha is {'ON' if rs.alpha else 'OFF'}",
        "   connection timeout = 5.000000",
        f"   connection limit range = {rs.lthreshold} -> {rs.uthreshold}",
        f"   Delay loop = {dl:f}",
        f"   Inhibit on failure is {'ON' if rs.inhibit_on_failure else 'OFF'}",
    ]
    if rs.notify_up:
        out.append(f"     RS up notify script = {rs.notify_up.command}, uid:gid 0:0")
    if rs.notify_down:
        out.append(f"     RS down notify script = {rs.notify_down.command}, uid:gid 0:0")
    out += [
        f"   Using smtp notification = {'yes' if smtp else 'no'}",
        f"   initial weight = {rs.weight}",
        f"   effective weight = {eff}",
        # the weight before the last dynamic change (MISC_CHECK misc_dynamic): not tracked,
        # 0 as keepalived shows for a weight that never changed
        "   previous effective_weight = 0",
        f"   alive = {int(alive)}",
        f"   num failed checkers = {failed}",
        f"   RS set = {int(alive or rs.inhibit_on_failure)}",
        "   reloaded = 0",
    ]
    return out


def _checker_lines(vs: VirtualServer, rs: Any, ch: Any, c: dict[str, Any]) -> list[str]:
    vsname = vs.key
    rsname = _rs_fmt(str(rs.ip), rs.port, vs.protocol)
    out = [
        f" {vsname} -> {rsname}",
        "   Enabled = yes",
        f"   Up = {'yes' if c.get('up', not ch.alpha) else 'no'}",
        f"   Has run = {'yes' if c.get('has_run') else 'no'}",
        f"   Current weight = {ch.weight or 0}",
    ]
    if ch.kind != "FILE_CHECK":
        out += [
            f"   Alpha = {'yes' if ch.alpha else 'no'}",
            f"   Delay loop = {int(ch.delay_loop * 1e6)} us",
            # unset warmup is the delay_loop (keepalived's default)
            f"   Warmup = {int((ch.delay_loop if ch.warmup is None else ch.warmup) * 1e6)} us",
            f"   Retries = {ch.retry}",
        ]
        if ch.retry:
            out += [f"   Delay before retry = {int(ch.delay_before_retry * 1e6)} us",
                    f"   Retries iterations = {int(c.get('retry_it', 0))}"]
        out.append("   Default delay before retry = 1000000 us")
    out.append(f"   Log all failures = {'yes' if ch.log_all_failures else 'no'}")
    if ch.kind not in ("MISC_CHECK", "FILE_CHECK", "BFD_CHECK"):
        ip = ch.connect_ip or rs.ip
        port = ch.connect_port or rs.port or 0
        out += ["   Connection", f"     Dest = [{ip}]:{port}"]
        if ch.bindto is not None:
            out.append(f"     Bind to = {ch.bindto}:{ch.bind_port or 0}")
        if ch.bind_if:
            out.append(f"     Bind i/f = {ch.bind_if}")
        if ch.fwmark:
            out.append(f"     Mark = {ch.fwmark}")
        out.append(f"     Timeout = {ch.connect_timeout:f}")
    out.append(f"   Keepalive method = {ch.kind}")
    if ch.kind == "MISC_CHECK" and ch.misc_path is not None:
        out += [f"   script = {cmd_str(ch.misc_path)}",
                f"   timeout = {ch.misc_timeout or 0:g}",
                f"   dynamic = {'YES' if ch.misc_dynamic else 'NO'}",
                "   uid:gid = 0:0"]
        if c.get("last_check"):
            t = float(c["last_check"])
            sec, usec = int(t), round((t - int(t)) * 1e6) % 1_000_000
            out.append(f"   Last ran = {sec}.{usec:06d} ({time.ctime(sec)}.{usec:06d})")
            out.append(f"   Last status = {c.get('last_code') or 0}")
    return out
