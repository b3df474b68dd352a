"""Daemon entry: the parent supervisor, or one child when re-executed with --child."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys

from pykeepalived.daemon import paths


def run(args: argparse.Namespace, argv: list[str]) -> int:
    if args.umask is not None:
        try:
            os.umask(int(args.umask, 0))
        except ValueError:
            print(f"pykeepalived: invalid umask '{args.umask}' (numeric, e.g. 022)",
                  file=sys.stderr)
            return 1
    if os.path.basename(sys.argv[0]) in ("pykeepalived", "__main__.py"):  # not in-process
        from pykeepalived.daemon.proctitle import name_process

        name_process(sys.argv[1:])  # comm `keepalived`, cmdline `pykeepalived ARGS`
    if args.child:
        from pykeepalived.daemon.child import run_child

        return run_child(args.child, args)
    # a SIGHUP or an exporter's SIGUSR1 that arrives before the supervisor's handlers exist
    # would kill the parent by its default action: held until Supervisor.run installs them
    from pykeepalived.daemon.signals import HANDLED

    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    # the imports make thousands of long-lived objects: no collections while they load
    gc.disable()
    try:
        # the model's classes, which the parent needs anyway, before the loader is forked: it
        # inherits them instead of importing them a second time beside us
        import pykeepalived.config.model

        job = None
        if not getattr(args, "netns_error", None):
            from pykeepalived.daemon import loader

            # the parse runs while this process imports asyncio and the supervisor below
            job = loader.start(args.conf, args.config_id, args.all_config)
        from pykeepalived.daemon.aio import import_without_tls

        import_without_tls()  # no OpenSSL in the parent and the VRRP child (daemon/aio.py)
        from pykeepalived.daemon.logsetup import setup_logging
        from pykeepalived.daemon.supervisor import run_parent

        if job is not None and not args.check_only:
            # the VRRP child's modules (~20 ms of dataclass making), while the loader parses:
            # the child is forked with them instead of importing them after the fork
            import pykeepalived.daemon.child
            import pykeepalived.vrrp.engine
            import pykeepalived.vrrp.rtnl
            import pykeepalived.vrrp.rtnl_watch  # noqa: F401
    finally:
        gc.enable()

    setup_logging("parent", args.log_console, args.log_detail, args.log_facility,
                  not args.no_syslog)
    if args.namespace:
        import logging

        from pykeepalived.daemon.logsetup import ident

        log = logging.getLogger("pykeepalived.daemon")
        log.info("Changing syslog ident to %s", ident("parent", args.namespace))
        setup_logging("parent", args.log_console, args.log_detail, args.log_facility,
                      not args.no_syslog, args.namespace)
        if getattr(args, "netns_error", None):
            log.error("%s", args.netns_error)
            log.error("Unable to set network namespace %s - exiting", args.namespace)
            return 1
        os.makedirs(paths.ns_run_dir(args) or paths.RUN_DIR, mode=0o755, exist_ok=True)
    return run_parent(args, argv, paths.pidfile(args, "parent"), job)
