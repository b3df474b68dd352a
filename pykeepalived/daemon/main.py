"""Daemon entry: the parent supervisor, or one child when re-executed with --child."""

from __future__ import annotations

import argparse

from pykeepalived.daemon import paths


def run(args: argparse.Namespace, argv: list[str]) -> int:
    if args.child:
        from pykeepalived.daemon.child import run_child

        return run_child(args.child, args)
    from pykeepalived.daemon.logsetup import setup_logging
    from pykeepalived.daemon.supervisor import run_parent

    setup_logging("parent", args.log_console, args.log_detail, int(args.log_facility or 0),
                  not args.no_syslog)
    return run_parent(args, argv, paths.pidfile(args, "parent"))
