"""`pykeepalived status [--json] [--state-dir DIR]`: what the running daemon is doing now.

Why a state file and not a signal: reading needs no privileges beyond the file, never
disturbs the VRRP loop, and data and counters come from one snapshot. Each child rewrites
/run/pykeepalived/{vrrp,checker}.json every second, so a file older than STALE_AFTER seconds
or naming a dead pid means that child is not running.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pykeepalived.daemon.dumps import STATS_KEYS
from pykeepalived.daemon.files import pid_alive
from pykeepalived.vrrp.snapshot import VrrpSnapshot

EXIT_OK = 0
EXIT_NOT_RUNNING = 3  # LSB "program is not running"
STALE_AFTER = 5.0
ROLES = ("vrrp", "checker")


@dataclass(frozen=True)
class ChildState:
    """One child's state file as read, with why it is (not) usable."""

    role: str
    path: str
    data: dict[str, Any] | None
    problem: str | None  # None when fresh and the pid is alive


def read_state(state_dir: str, role: str, now: float | None = None) -> ChildState:
    now = time.time() if now is None else now
    path = os.path.join(state_dir, f"{role}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return ChildState(role, path, None, "no state file")
    except (OSError, ValueError) as e:
        return ChildState(role, path, None, f"unreadable state file: {e}")
    if not isinstance(data, dict):
        return ChildState(role, path, None, "malformed state file")
    age = now - float(data.get("time") or 0)
    pid = data.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return ChildState(role, path, data, f"process {pid} is not running")
    if age > STALE_AFTER:
        return ChildState(role, path, data, f"state is {age:.0f} s old")
    return ChildState(role, path, data, None)


def read_parent(state_dir: str) -> dict[str, Any] | None:
    """The parent's record of its children (parent.json): which ones the config needs, their
    restarts and last exit; after a permanent error, why the daemon stopped."""
    try:
        with open(os.path.join(state_dir, "parent.json"), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def child_problems(parent: dict[str, Any] | None,
                   states: dict[str, ChildState]) -> dict[str, str]:
    """Every child the config needs and that is not running fresh is a problem, with the
    parent's restart count and last exit reason when there is one."""
    kids = (parent or {}).get("children") or {}
    out: dict[str, str] = {}
    for role, st in states.items():
        wanted = bool((kids.get(role) or {}).get("wanted"))
        if st.problem is None or (st.problem == "no state file" and not wanted):
            continue
        why = st.problem
        rec = kids.get(role) or {}
        last = rec.get("last_exit") or {}
        if rec.get("restarts"):
            why += f"; restarted {rec['restarts']} times"
        if last.get("reason"):
            why += f"; last exit: {last['reason']}"
        out[role] = why
    return out


def _age(t: float | None, now: float) -> str:
    if not t:
        return "never"
    d = max(0.0, now - float(t))
    if d < 120:
        return f"{d:.1f}s ago"
    if d < 7200:
        return f"{d / 60:.0f}m ago"
    return f"{d / 3600:.1f}h ago"


def _nonzero_counters(c: Mapping[str, int]) -> dict[str, int]:
    keys = list(STATS_KEYS) + sorted(k for k in c if k not in STATS_KEYS)
    return {k: int(c[k]) for k in keys if c.get(k)}


def summarize(vrrp: dict[str, Any] | None, checker: dict[str, Any] | None,
              now: float) -> dict[str, Any]:
    """The JSON document `status --json` prints (stable keys for scripts)."""
    out: dict[str, Any] = {"time": now, "vrrp": None, "checker": None}
    if vrrp is not None:
        insts = []
        for i in VrrpSnapshot.from_dict(vrrp).instances:  # fields, not string keys
            last = i.last_advert
            insts.append({
                "name": i.name, "state": i.state, "vrid": i.vrid, "version": i.version,
                "interface": i.interface, "base_priority": i.base_priority,
                "effective_priority": i.effective_priority,
                "master_address": i.master_address, "last_advert_source": last.source,
                "last_advert_priority": last.priority,
                "last_advert_age": (now - last.time) if last.time else None,
                "last_transition": i.last_transition, "faults": list(i.faults),
                "vips": list(i.vips), "counters": _nonzero_counters(i.counters),
            })
        out["vrrp"] = {"pid": vrrp.get("pid"), "config": vrrp.get("config"),
                       "instances": insts, "groups": vrrp.get("groups") or {},
                       "loop": vrrp.get("loop")}
    if checker is not None:
        vss = []
        for vs in checker.get("virtual_servers") or []:
            rss = []
            for rs in vs.get("real_servers") or []:
                key = rs.get("key") or ["?", None]
                chs = rs.get("checkers") or []
                last = max((c.get("last_check") or 0 for c in chs), default=0) or None
                rss.append({
                    "address": f"{key[0]}:{key[1] or 0}", "up": bool(rs.get("alive")),
                    "weight": rs.get("effective_weight") if rs.get("alive") else 0,
                    "configured_weight": rs.get("weight"), "last_check": last,
                    "checkers": [{"kind": c.get("kind"), "up": c.get("up"),
                                  "last_ok": c.get("last_ok"),
                                  "detail": c.get("last_detail") or ""} for c in chs],
                })
            vss.append({"key": vs.get("key"), "quorum": vs.get("quorum"),
                        "quorum_up": vs.get("quorum_up"), "weight_sum": vs.get("weight_sum"),
                        "real_servers": rss})
        out["checker"] = {"pid": checker.get("pid"), "virtual_servers": vss,
                          "announce": checker.get("announce") or []}
    return out


def format_text(doc: dict[str, Any], now: float) -> str:
    lines: list[str] = []
    v = doc.get("vrrp")
    if v is not None:
        lines.append(f"VRRP (pid {v['pid']}, {v.get('config') or '?'})")
        for i in v["instances"]:
            prio = f"{i['effective_priority']}"
            if i["effective_priority"] != i["base_priority"]:
                prio += f" (base {i['base_priority']})"
            lines.append(f"  {i['name']}: {i['state']}  vrid {i['vrid']} v{i['version']} "
                         f"on {i['interface']}  priority {prio}")
            if i["state"] != "MASTER" and i["master_address"]:
                lines.append(f"    master: {i['master_address']}")
            if i["last_advert_source"]:
                age = _age(now - i["last_advert_age"], now) \
                    if i["last_advert_age"] is not None else "never"
                lines.append(f"    last advert: from {i['last_advert_source']} priority "
                             f"{i['last_advert_priority']}, {age}")
            lines.append(f"    last transition: {_age(i['last_transition'], now)}")
            if i["faults"]:
                lines.append(f"    faults: {', '.join(i['faults'])}")
            for vip in i["vips"]:
                lines.append(f"    vip {vip}")
            if i["counters"]:
                lines.append("    counters: " + ", ".join(
                    f"{k}={n}" for k, n in i["counters"].items()))
        for g, gs in (v.get("groups") or {}).items():
            lines.append(f"  group {g}: {gs.get('state')} ({', '.join(gs.get('members', []))})")
        loop = v.get("loop") or {}
        if loop:
            lines.append(f"  loop lateness: max {loop.get('lateness_max', 0) * 1000:.1f} ms, "
                         f"recent max {loop.get('lateness_recent_max', 0) * 1000:.1f} ms")
    for kind, k in sorted((doc.get("children") or {}).items()):
        if not k.get("wanted"):
            continue
        last = k.get("last_exit") or {}
        line = (f"{kind} child: {'running' if k.get('running') else 'NOT RUNNING'}, "
                f"{k.get('restarts', 0)} restarts")
        if last:
            line += f", last exit {_age(last.get('time'), now)}: {last.get('reason')}"
        lines.append(line)
    c = doc.get("checker")
    if c is not None:
        lines.append(f"Checker (pid {c['pid']})")
        for vs in c["virtual_servers"]:
            q = "up" if vs["quorum_up"] else "DOWN"
            lines.append(f"  {vs['key']}: quorum {q} (weight {vs['weight_sum']}, "
                         f"need {vs['quorum']})")
            for rs in vs["real_servers"]:
                st = "UP" if rs["up"] else "DOWN"
                last = _age(rs["last_check"], now) if rs["last_check"] else "not checked yet"
                lines.append(f"    {rs['address']}: {st}  weight {rs['weight']}  "
                             f"last check {last}")
                for ch in rs["checkers"]:
                    if not ch["up"] and ch["detail"]:
                        lines.append(f"      {ch['kind']}: {ch['detail']}")
        for a in c.get("announce") or []:  # pykeepalived extension: health-driven ECMP
            st = "ANNOUNCED" if a.get("announced") else "withdrawn"
            lines.append(f"  announce {a.get('vip')} for {a.get('vs')}: {st} "
                         f"({a.get('reason')}) via {', '.join(a.get('via') or [])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="pykeepalived status",
                                 description="Show the running daemon's state.")
    ap.add_argument("--json", action="store_true", help="machine-readable output")
    ap.add_argument("--state-dir", default=None,
                    help="where the daemon writes its state (default /run/pykeepalived)")
    ap.add_argument("-s", "--namespace", default=None, metavar="NAME",
                    help="the daemon started with -s NAME (state in /run/pykeepalived/NAME)")
    args = ap.parse_args(argv)
    from pykeepalived.daemon import paths

    args.state_dir = paths.state_dir(args)
    now = time.time()
    states = {r: read_state(args.state_dir, r, now) for r in ROLES}
    parent = read_parent(args.state_dir)
    live = {r: s.data for r, s in states.items() if s.problem is None}
    if parent and parent.get("stopped"):  # kept by the parent when a permanent error hit
        live = {}
    if not live:
        why = "; ".join(f"{r}: {s.problem}" for r, s in states.items())
        if parent and parent.get("stopped"):
            why = f"stopped after a permanent error: {parent['stopped']}"
        if args.json:
            print(json.dumps({"running": False, "reason": why,
                              "children": (parent or {}).get("children")}))
        print(f"pykeepalived is not running ({why}; state dir {args.state_dir})",
              file=sys.stderr)
        return EXIT_NOT_RUNNING
    doc = summarize(live.get("vrrp"), live.get("checker"), now)
    doc["running"] = True
    doc["children"] = (parent or {}).get("children") or {}
    doc["problems"] = child_problems(parent, states)
    if args.json:
        print(json.dumps(doc, default=str))
    else:
        sys.stdout.write(format_text(doc, now))
        for r, p in doc["problems"].items():
            print(f"warning: {r} child: {p}", file=sys.stderr)
    return EXIT_OK
