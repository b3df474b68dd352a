"""Foreground VRRP runner: ``python -m pykeepalived.vrrp.run -f FILE [-l] [-D]``.

Small on purpose: the real daemon (``pykeepalived -n -P``) will call :func:`main` or reuse
:class:`~pykeepalived.vrrp.engine.VrrpEngine` directly. Loads the config (exits with the
diagnostics when it cannot run), runs the engine, stops gracefully on SIGTERM/SIGINT and
reloads on SIGHUP. Writes nothing to disk unless ``--dump FILE`` is given (SIGUSR1 writes the
JSON snapshot there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Sequence

from pykeepalived.config.diagnostics import Rc
from pykeepalived.config.load import LoadOptions, load_config
from pykeepalived.config.model import Config
from pykeepalived.vrrp.engine import EngineOptions, VrrpEngine

log = logging.getLogger("pykeepalived.vrrp")


def _runnable(rc: Rc) -> bool:
    """keepalived runs despite config errors and script-security warnings; not after a
    fatal parse error or when it cannot run at all."""
    return rc in (Rc.OK, Rc.CONFIG, Rc.SECURITY)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pykeepalived.vrrp.run", description=__doc__)
    p.add_argument("-f", "--use-file", dest="file", default="/etc/keepalived/keepalived.conf")
    p.add_argument("-l", "--log-console", action="store_true", help="log to stderr")
    p.add_argument("-D", "--log-detail", action="store_true", help="debug-level detail")
    p.add_argument("-i", "--config-id", default=None)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--release-on-exit", dest="release", action="store_true", default=True,
                   help="remove VIPs on stop (keepalived's behaviour, default)")
    g.add_argument("--keep-vips", dest="release", action="store_false",
                   help="leave VIPs configured on stop")
    p.add_argument("--dump", default=None, help="write the JSON snapshot here on SIGUSR1")
    return p


def _setup_logging(console: bool, detail: bool) -> None:
    level = logging.DEBUG if detail else logging.INFO
    handler: logging.Handler
    if console:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s: %(message)s",
                                               "%a %b %d %H:%M:%S %Y"))
    else:
        from logging.handlers import SysLogHandler

        try:
            handler = SysLogHandler(address="/dev/log")
            handler.setFormatter(logging.Formatter("Keepalived_vrrp[%(process)d]: %(message)s"))
        except OSError:
            handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger("pykeepalived")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


async def _serve(engine: VrrpEngine, path: str, opts: LoadOptions, dump: str | None) -> None:
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Coroutine[object, object, None]) -> None:
        t = loop.create_task(coro)
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    def reload() -> None:
        res = load_config(path, opts)
        for d in res.diagnostics.items:
            log.warning("%s", d.format())
        if not _runnable(res.exit_code()):
            log.error("Reload aborted: the new configuration does not load")
            return
        spawn(reload_done(res.config))

    async def reload_done(cfg: Config) -> None:
        await engine.reload(cfg)
        log.info("Reload complete")  # keepalived's parent line; this runner is the parent

    def write_dump() -> None:
        if dump is None:
            return
        from pykeepalived.daemon.files import write_atomic

        # never through a link planted at the path (O_TRUNC on it would truncate the victim)
        try:
            write_atomic(dump, json.dumps(engine.snapshot(), indent=1))
        except OSError as e:
            log.error("cannot write dump file: %s", e)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: spawn(engine.stop()))
    loop.add_signal_handler(signal.SIGHUP, reload)
    loop.add_signal_handler(signal.SIGUSR1, write_dump)
    # the other keepalived signals: never their default action (it terminates)
    from pykeepalived.daemon.signals import HANDLED

    for sig in HANDLED - {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1}:
        loop.add_signal_handler(sig, log.debug, "signal %d ignored", sig)
    await engine.start()
    log.info("Startup complete")
    await engine.run()  # started already: waits for stop()
    log.info("Stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.log_console, args.log_detail)
    if not os.path.isfile(args.file):
        print(f"pykeepalived: configuration file {args.file} does not exist", file=sys.stderr)
        return int(Rc.SECURITY)  # keepalived 2.2.7's daemon exits 6 here
    opts = LoadOptions(config_id=args.config_id, check_interfaces=True, check_scripts=True)
    res = load_config(args.file, opts)
    for d in res.diagnostics.items:
        print(d.format(), file=sys.stderr)
    if not _runnable(res.exit_code()):
        print(f"pykeepalived: configuration {args.file} cannot run", file=sys.stderr)
        return int(res.exit_code())
    if not res.config.vrrp_instances:
        print("pykeepalived: no vrrp_instance to run", file=sys.stderr)
        return 1
    log.info("Configuration file %s", args.file)
    engine = VrrpEngine(res.config, EngineOptions(release_vips_on_exit=args.release))
    try:
        asyncio.run(_serve(engine, args.file, opts, args.dump))
    except RuntimeError as e:
        log.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
