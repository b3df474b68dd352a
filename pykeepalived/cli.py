"""Command line: keepalived's flags with keepalived's meanings, plus a few of our own.

Only the config path is imported eagerly: `pykeepalived -t` must stay well under a second
and must not import pyroute2 or scapy (they cost ~200 ms and are not needed to check a file).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from pykeepalived import __version__
from pykeepalived.loglevels import facility_code

DEFAULT_CONF = "/etc/keepalived/keepalived.conf"


def columns() -> int:
    """shutil.get_terminal_size().columns without importing shutil (and the bz2, lzma and
    zlib it imports, ~4 ms): argparse makes a help formatter for every add_argument, and its
    default width asks shutil."""
    try:
        n = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        n = 0
    if n > 0:
        return n
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=columns() - 2)  # argparse's own "- 2"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pykeepalived",
        description="keepalived-compatible HA agent: VRRP, health checks, IPVS.",
        add_help=False, formatter_class=_formatter,
    )
    a = p.add_argument
    a("-f", "--use-file", dest="conf", default=DEFAULT_CONF, metavar="FILE",
      help=f"configuration file (default {DEFAULT_CONF})")
    a("-t", "--config-test", dest="config_test", nargs="?", const="", default=None,
      metavar="LOG_FILE", help="check the configuration and exit (0 ok, 2/4/5/6 as keepalived)")
    a("-i", "--config-id", dest="config_id", default=None, metavar="ID",
      help="config id for @ID lines (default: first label of the host name)")
    a("-e", "--all-config", dest="all_config", action="store_true",
      help="every configuration file (and include) must exist")
    a("--json", action="store_true", help="with -t: print diagnostics as JSON")
    a("--strict", action="store_true", help="with -t: warnings fail the check too")
    a("--no-host-checks", dest="host_checks", action="store_false",
      help="with -t: do not check interfaces, users and scripts against this host")
    a("-d", "--dump-conf", dest="dump", action="store_true",
      help="dump the parsed configuration")
    a("-P", "--vrrp", dest="vrrp_only", action="store_true", help="only run the VRRP subsystem")
    a("-C", "--check", dest="check_only", action="store_true",
      help="only run the health-checker subsystem")
    a("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    a("-l", "--log-console", action="store_true", help="log to the console")
    a("-D", "--log-detail", action="store_true", help="detailed logging")
    a("-S", "--log-facility", default="daemon", metavar="FAC",
      help="syslog facility: 0-7 (LOCAL0-7), local0-7, user or daemon (default)")
    a("-G", "--no-syslog", action="store_true", help="do not log to syslog")
    a("-p", "--pid", dest="pidfile", default=None, help="parent pidfile")
    a("-r", "--vrrp_pid", dest="vrrp_pidfile", default=None, help="VRRP child pidfile")
    a("-c", "--checkers_pid", dest="checkers_pidfile", default=None,
      help="checker child pidfile")
    a("-V", "--dont-release-vrrp", action="store_true", help="keep VIPs on stop")
    a("-I", "--dont-release-ipvs", action="store_true", help="keep the IPVS table on stop")
    a("-R", "--dont-respawn", action="store_true", help="do not respawn children")
    a("-X", "--release-vips", action="store_true",
      help="drop VIPs on transition from signal (accepted; VIPs are always dropped on stop)")
    a("-u", "--umask", default=None, metavar="MASK", help="umask for files created (numeric)")
    # keepalived options we accept so existing DAEMON_ARGS keep working (see README)
    a("-B", "--no_bfd", action="store_true", help="no BFD subsystem (pykeepalived has none)")
    a("--all", dest="all_children", action="store_true",
      help="run every child even without configuration for it")
    a("-a", "--address-monitoring", action="store_true", help="log netlink address events")
    a("-b", "--bfd_pid", default=None, metavar="FILE", help="BFD pidfile (unused)")
    a("-x", "--snmp", action="store_true", help="SNMP (not implemented; use --metrics)")
    a("-A", "--snmp-agent-socket", default=None, metavar="FILE", help=argparse.SUPPRESS)
    a("-s", "--namespace", default=None, metavar="NAME",
      help="run in network namespace NAME (/run/netns/NAME, as made by `ip netns add`)")
    a("-m", "--core-dump", action="store_true", help=argparse.SUPPRESS)
    a("-M", "--core-dump-pattern", nargs="?", const="core", default=None, help=argparse.SUPPRESS)
    a("-T", "--genhash", action="store_true",
      help="genhash mode: the rest of the command line is genhash's (must come first)")
    a("--signum", default=None, metavar="SIG",
      help="print the signal number for STOP|RELOAD|DATA|STATS|STATS_CLEAR|JSON and exit")
    a("--state-dir", default=None, metavar="DIR",
      help="where children publish their state for `pykeepalived status` (/run/pykeepalived)")
    a("--dump-dir", default=None, metavar="DIR",
      help="where USR1/USR2/JSON dumps are written (default /tmp, as keepalived)")
    a("--metrics", default=None, metavar="[ADDR:]PORT",
      help="serve Prometheus metrics on ADDR:PORT (off by default; ADDR defaults to 127.0.0.1)")
    a("--child", default=None, choices=("vrrp", "checker"), help=argparse.SUPPRESS)
    a("-v", "--version", action="store_true", help="print the version and exit")
    a("-h", "--help", action="help", help="show this help and exit")
    a("unexpected", nargs="*", help=argparse.SUPPRESS)  # reported as keepalived does
    return p


def getopt_style(argv: list[str]) -> list[str]:
    """keepalived parses with getopt_long: `-t`'s log file is optional, so it is only taken
    when attached (`-tLOG`, `--config-test=LOG`); `-t FILE` leaves FILE a stray argument.
    argparse would take it as the log file and append the findings to it."""
    out = []
    for i, a in enumerate(argv):
        if a == "--":
            return out + argv[i:]
        out.append("--config-test=" if a in ("-t", "--config-test") else a)
    return out


def version_text() -> str:
    """`keepalived -v`'s layout on stderr. The first line's second word is the keepalived
    version we follow: mehdy/keepalived-exporter parses it (`v2.2.7`) to pick its signals."""
    import platform

    u = platform.uname()
    distro = ""
    with contextlib.suppress(OSError):
        distro = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    return "\n".join([
        f"Keepalived v2.2.7 (pykeepalived {__version__})",
        "",
        "pykeepalived: a keepalived-compatible HA agent in Python",
        "",
        f"Running on {u.system} {u.release} {u.version}",
        *([f"Distro: {distro}"] if distro else []),
        "",
        f"Python {platform.python_version()} ({sys.executable})",
        "",
        "Config options:  LVS VRRP VRRP_AUTH VRRP_VMAC JSON",
    ])


def log_target(path: str, conf: str) -> str | None:
    """Why the -t findings must not be appended to `path` (None: they may). Appending to the
    config (or to any keepalived.conf-looking file) would corrupt what the user checks."""
    try:
        if os.path.exists(path) and os.path.samefile(path, conf):
            return "it is the configuration file being checked"
    except OSError:
        pass
    if os.path.basename(path).endswith((".conf", ".cfg")) and os.path.exists(path):
        return "it looks like a configuration file"
    return None


def config_test(args: argparse.Namespace) -> int:
    import gc

    # the imports make thousands of long-lived objects (classes, dataclass methods): no
    # collections while they load (~5 ms of a seed -t), then frozen out of later ones
    gc.disable()
    try:
        from pykeepalived.config import LoadOptions, load_config
    finally:
        gc.freeze()
        gc.enable()

    ns_error = getattr(args, "netns_error", None)
    res = load_config(args.conf, LoadOptions(
        config_id=args.config_id, all_config=args.all_config,
        check_interfaces=args.host_checks and not ns_error, check_scripts=args.host_checks,
        check_users=args.host_checks))
    diag = res.diagnostics
    if ns_error:  # keepalived -t ignores -s and skips the interface checks then, silently
        diag.info(f"host check skipped: interfaces of network namespace {args.namespace} "
                  f"({ns_error})")
    out = sys.stdout if args.json else sys.stderr
    if args.config_test:
        why = log_target(args.config_test, args.conf)
        if why:
            print(f"pykeepalived: not appending the findings to '{args.config_test}': {why}; "
                  "writing them to stderr", file=sys.stderr)
        else:
            fd = os.open(args.config_test, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            out = open(fd, "a", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        if args.json:
            print(diag.to_json(), file=out)
        else:
            for d in diag.items:
                print(d.format(), file=out)
            if diag.dropped:
                print(f"... and {diag.dropped} more diagnostics", file=out)
        if args.dump:
            from pykeepalived.config.dump import dump_config

            print(dump_config(res.config), file=sys.stdout)
    finally:
        if out not in (sys.stdout, sys.stderr):
            out.close()
    rc = res.exit_code(args.strict)
    if args.bad_facility:
        return max(int(rc), 5)  # keepalived -t counts a bad -S as a config error
    return int(rc)


def enter_namespace(args: argparse.Namespace) -> str | None:
    """-s NAME, before anything else; the children inherit it (None: done or not asked)."""
    if not args.namespace or args.child:
        return None
    from pykeepalived.daemon import netns

    try:
        netns.enter(args.namespace)
    except netns.NamespaceError as e:
        return str(e)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["status"]:
        from pykeepalived.daemon.status import main as status_main

        return status_main(argv[1:])
    if argv[:1] in (["-T"], ["--genhash"]):
        from pykeepalived.check.genhash import main as genhash_main

        return genhash_main(argv[1:])
    if argv[:1] == ["lab"]:
        from pykeepalived.lab import main as lab_main

        return lab_main(argv[1:])
    args = build_parser().parse_intermixed_args(getopt_style(argv))
    if args.unexpected:  # keepalived's words, on stdout (stderr under --json); it goes on
        print("Unexpected argument(s): " + "".join(f"{a} " for a in args.unexpected),
              file=sys.stderr if args.json else sys.stdout)
    if args.version:
        print(version_text(), file=sys.stderr)
        return 0
    args.bad_facility = facility_code(args.log_facility) is None
    if args.bad_facility:
        print(f"Invalid log facility '{args.log_facility}'", file=sys.stderr)
    if args.signum is not None:
        from pykeepalived.daemon.signals import signum

        n = signum(args.signum)  # keepalived's names, case-sensitive as there
        if not args.signum:
            print("Missing parameter for option --signum", file=sys.stderr)
            return 1
        if n is None:
            print(f"Unknown sigfunc {args.signum}", file=sys.stderr)
            return 1
        print(n)
        return 0
    args.netns_error = enter_namespace(args)
    if args.config_test is not None:
        return config_test(args)
    if args.dump and not (args.vrrp_only or args.check_only or args.dont_fork):
        return config_test(args)
    from pykeepalived.daemon.main import run

    child_argv = [a for a in argv if not a.startswith("--child")]
    return run(args, child_argv)
