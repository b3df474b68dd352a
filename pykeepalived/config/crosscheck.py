"""Checks across sections, after every block is complete: tracking references, sync group
members, VRID clashes, what the announcements name (keepalived's post-read checks)."""

from __future__ import annotations

from dataclasses import replace

from pykeepalived.config.announce import check_refs as check_announce_refs
from pykeepalived.config.diagnostics import Diagnostics
from pykeepalived.config.model import Config, GlobalDefs, TrackRef, VrrpInstance
from pykeepalived.config.sections.completion import Completion


# -- whole-config checks ---------------------------------------------------------------
def cross_checks(cx: Completion, cfg: Config) -> Config:
    instances = list(cfg.vrrp_instances)
    names = {i.name for i in instances}
    # tracking references
    scripts = {s.name for s in cfg.vrrp_scripts}
    files = {f.name for f in cfg.track_files}
    procs = {p.name for p in cfg.track_processes}
    fixed = []
    for inst in instances:
        ok_scripts = [r for r in inst.track_script
                      if _ref(cx, r, scripts, inst.name, "track script", "vrrp_script")]
        ok_files = [r for r in inst.track_file
                    if _ref(cx, r, files, inst.name, "track file")]
        ok_procs = [r for r in inst.track_process
                    if _ref(cx, r, procs, inst.name, "track process")]
        fixed.append(replace(inst, track_script=tuple(ok_scripts),
                             track_file=tuple(ok_files), track_process=tuple(ok_procs)))
    # a sync group's tracking too (keepalived 2.2.7: each a config error)
    cfg = replace(cfg, sync_groups=tuple(replace(
        g, track_script=tuple(r for r in g.track_script
                              if _ref(cx, r, scripts, g.name, "track script")),
        track_file=tuple(r for r in g.track_file if _ref(cx, r, files, g.name, "track file")),
        track_process=tuple(r for r in g.track_process
                            if _ref(cx, r, procs, g.name, "track process")))
        for g in cfg.sync_groups))
    # keepalived resolves track_* names as it reads the instance (with their line): what
    # follows is found once the config is read
    cx.after_read_from = len(cx.diag.items)
    # with an interface missing, keepalived's VRRP process stops before it completes the
    # config: none of these checks is reported then (the model is corrected all the same)
    reported = cx.diag
    if cx.missing_interface:
        cx.later.clear()
        cx.diag = Diagnostics()
    cx.flush_completion()
    duplicate_vrids(cx, instances, cfg.global_defs)
    # sync groups
    member_of: dict[str, str] = {}
    groups = []
    for g in cfg.sync_groups:
        members = []
        for m in g.group:
            if m not in names:
                cx.diag.error(f"Virtual router {m} specified in sync group {g.name} "
                                "doesn't exist - ignoring", g.loc)
                continue
            if m in member_of:
                cx.diag.error(f"Virtual router {m} cannot exist in more than one sync "
                                f"group; ignoring {g.name}", g.loc)
                continue
            member_of[m] = g.name
            members.append(m)
        if len(members) == 1:  # keepalived 2.2.7 counts it as a config error
            cx.diag.error(f"Sync group {g.name} has only 1 virtual router(s) - this "
                            "probably isn't what you want", g.loc,
                            hint="a sync group keeps two or more instances in step")
        groups.append(replace(g, group=tuple(members)))
    fixed = [replace(i, sync_group=member_of.get(i.name)) for i in fixed]
    cx.diag = reported
    # virtual_server groups referenced
    vsg_names = {g.name for g in cfg.virtual_server_groups}
    vss = []
    for vs in cfg.virtual_servers:
        if vs.group is not None and vs.group not in vsg_names:
            cx.diag.error(f"Virtual server group {vs.group} not found - ignoring the "
                            "virtual server", vs.loc)
            continue
        vss.append(vs)
    sync = cfg.global_defs.lvs_sync_daemon
    if sync and sync.instance and sync.instance not in names:
        cx.diag.error(f"lvs_sync_daemon: vrrp instance {sync.instance} not found", None)
    return check_announce_refs(replace(cfg, vrrp_instances=tuple(fixed),
                                       sync_groups=tuple(groups), virtual_servers=tuple(vss)),
                               cx.diag)


def duplicate_vrids(cx: Completion, instances: list[VrrpInstance], g: GlobalDefs) -> None:
    """Two instances on one interface and family with one VRID clash only when their
    adverts meet: multicast ones sent to the same group (mcast_dst_ip, else the global
    default), unicast ones sharing a peer. Multicast and unicast never clash."""
    seen: dict[tuple[object, ...], VrrpInstance] = {}
    for inst in instances:
        base = (inst.virtual_router_id, inst.family, inst.interface)
        if inst.unicast_peer:
            for p in inst.unicast_peer:
                first = seen.get((*base, "peer", str(p.address)))
                if first is not None and first is not inst:
                    cx.diag.error(f"({first.name}) duplicate VRID conflict with "
                                    f"{inst.name} VRID {inst.virtual_router_id}", inst.loc,
                                    hint=f"{first.name} (at {first.loc}) sends to the "
                                    f"same peer {p.address}; give one another VRID")
                    break
            for p in inst.unicast_peer:
                seen.setdefault((*base, "peer", str(p.address)), inst)
            continue
        group = inst.mcast_dst_ip or (g.vrrp_mcast_group6 if inst.family == 6
                                      else g.vrrp_mcast_group4)
        dom = (*base, "mcast", str(group))
        first = seen.get(dom)
        if first is not None:
            fam = "IPv6" if inst.family == 6 else "IPv4"
            cx.diag.error(f"{first.name} and {inst.name} both use VRID "
                            f"{inst.virtual_router_id} with {fam} on interface "
                            f"{inst.interface}", inst.loc,
                            hint=f"{first.name} is at {first.loc}; give one another VRID")
        else:
            seen[dom] = inst


def _ref(cx: Completion, r: TrackRef, known: set[str], owner: str, what: str,
         block: str | None = None) -> bool:
    """Whether the tracked name is defined; else keepalived's error, with a hint at the
    nearest name of the BLOCK kind when given."""
    if r.name in known:
        return True
    cx.diag.error(f"({owner}) {what} {r.name} not found, ignoring...", r.loc,
                  hint=near(r.name, known, block) if block else None)
    return False


def near(name: str, known: set[str], what: str) -> str | None:
    import difflib

    m = difflib.get_close_matches(name, known, n=1)
    return f"did you mean '{m[0]}'?" if m else f"define it with a {what} block"
