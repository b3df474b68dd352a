"""Where the daemon keeps pidfiles, state files and dumps (keepalived's names where it makes
sense, our own where a keepalived might still run beside us during a migration)."""

from __future__ import annotations

import argparse
import os

RUN_DIR = "/run"
DUMP_DIR = "/tmp"  # keepalived's KA_TMP_DIR: exporters read /tmp/keepalived.{data,stats,json}


def pidfile(args: argparse.Namespace, role: str) -> str:
    given = {"parent": args.pidfile, "vrrp": args.vrrp_pidfile,
             "checker": args.checkers_pidfile}[role]
    default = {"parent": "pykeepalived.pid", "vrrp": "pykeepalived_vrrp.pid",
               "checker": "pykeepalived_checkers.pid"}[role]
    return given or os.path.join(RUN_DIR, default)


def state_dir(args: argparse.Namespace) -> str:
    return getattr(args, "state_dir", None) or os.path.join(RUN_DIR, "pykeepalived")


def state_file(args: argparse.Namespace, role: str) -> str:
    return os.path.join(state_dir(args), f"{role}.json")


def dump_file(args: argparse.Namespace, kind: str) -> str:
    names = {"data": "keepalived.data", "stats": "keepalived.stats",
             "json": "keepalived.json", "check_data": "keepalived_check.data",
             "parent_data": "keepalived_parent.data"}
    return os.path.join(getattr(args, "dump_dir", None) or DUMP_DIR, names[kind])
