"""Where the daemon keeps pidfiles, state files and dumps (keepalived's names where it makes
sense, our own where a keepalived might still run beside us during a migration)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pykeepalived.config.model import GlobalDefs

RUN_DIR = "/run"
DUMP_DIR = "/tmp"  # keepalived's KA_TMP_DIR: exporters read /tmp/keepalived.{data,stats,json}


def pidfile(args: argparse.Namespace, role: str) -> str:
    given = {"parent": args.pidfile, "vrrp": args.vrrp_pidfile,
             "checker": args.checkers_pidfile}[role]
    default = {"parent": "pykeepalived.pid", "vrrp": "pykeepalived_vrrp.pid",
               "checker": "pykeepalived_checkers.pid"}[role]
    return given or os.path.join(ns_run_dir(args) or RUN_DIR, default)


def ns_run_dir(args: argparse.Namespace) -> str | None:
    """With -s NAME, as keepalived's /run/keepalived/NAME/: one daemon per namespace."""
    ns = getattr(args, "namespace", None)
    return os.path.join(RUN_DIR, "pykeepalived", ns) if ns else None


def state_dir(args: argparse.Namespace) -> str:
    return (getattr(args, "state_dir", None) or ns_run_dir(args)
            or os.path.join(RUN_DIR, "pykeepalived"))


def state_file(args: argparse.Namespace, role: str) -> str:
    return os.path.join(state_dir(args), f"{role}.json")


def dump_file(args: argparse.Namespace, kind: str, gdefs: GlobalDefs | None = None) -> str:
    """Where a signal dump goes: --dump-dir if given, else global_defs state/stats/json_dump_file.

    As keepalived 2.3.3 reads state_dump_file: a path ending in "/" is a directory that gets
    the usual name; otherwise it is the file itself, and for the checker's data it is a
    template that gets "_checker" before its extension.
    """
    names = {"data": "keepalived.data", "stats": "keepalived.stats",
             "json": "keepalived.json", "check_data": "keepalived_check.data",
             "parent_data": "keepalived_parent.data"}
    given = None
    if gdefs is not None and not getattr(args, "dump_dir", None):
        given = {"data": gdefs.state_dump_file, "check_data": gdefs.state_dump_file,
                 "parent_data": gdefs.state_dump_file,
                 "stats": gdefs.stats_dump_file, "json": gdefs.json_dump_file}[kind]
    if given:
        if given.endswith("/"):
            return os.path.join(given, names[kind])
        if kind in ("check_data", "parent_data"):  # 2.3.3: st.data -> st_parent.data
            stem, ext = os.path.splitext(given)
            return f"{stem}_{'checker' if kind == 'check_data' else 'parent'}{ext}"
        return given
    return os.path.join(getattr(args, "dump_dir", None) or DUMP_DIR, names[kind])
