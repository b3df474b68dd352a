"""One call from a config path to (model, diagnostics): what -t, the daemon and reload use."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pykeepalived.config.diagnostics import Diagnostics, Loc, Rc
from pykeepalived.config.host import HostInfo
from pykeepalived.config.keywords import Walker
from pykeepalived.config.model import Config
from pykeepalived.config.parser import parse_lines
from pykeepalived.config.reader import Reader, ReaderOptions
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.root import RootSection


@dataclass
class LoadOptions:
    config_id: str | None = None
    all_config: bool = False
    check_interfaces: bool = True
    check_scripts: bool = True
    check_users: bool = True
    host: HostInfo = field(default_factory=HostInfo)


@dataclass
class LoadResult:
    config: Config
    diagnostics: Diagnostics

    def exit_code(self, strict: bool = False) -> Rc:
        return self.diagnostics.exit_code(strict)


def load_config(path: str, options: LoadOptions | None = None) -> LoadResult:
    opts = options or LoadOptions()
    diag = Diagnostics()
    reader = Reader(diag, ReaderOptions(config_id=opts.config_id, all_config=opts.all_config))
    lines = reader.read(path)
    nodes = parse_lines(lines, diag)
    root = RootSection((), Loc(path, 0), 0)
    Walker(diag).walk(nodes, root)
    cx = Completion(diag, opts.host, opts.check_interfaces,
                    check_users=opts.check_users and opts.check_scripts)
    cfg = root.post(cx, reader.files)
    if opts.check_scripts:
        from pykeepalived.config.scripts import CHECKER, VRRP, check_scripts

        sides: tuple[str, ...] = (CHECKER, VRRP)
        if cx.missing_interface:
            # keepalived's VRRP process stops there; its checker still checks its scripts
            diag.info("VRRP script checks skipped until the missing interfaces are fixed "
                      "(keepalived stops there too)")
            sides = (CHECKER,)
        disabled = check_scripts(cfg, diag, sides)
        if disabled:
            cfg = replace(
                cfg,
                vrrp_scripts=tuple(s for s in cfg.vrrp_scripts if s.name not in disabled),
                vrrp_instances=tuple(
                    replace(i, track_script=tuple(r for r in i.track_script
                                                  if r.name not in disabled))
                    for i in cfg.vrrp_instances),
            )
    from pykeepalived.config.report_order import order_like_keepalived

    order_like_keepalived(diag, lines, cx.after_read_from)
    _note_skipped(cfg, cx, opts, diag)
    return LoadResult(cfg, diag)


def _note_skipped(cfg: Config, cx: Completion, opts: LoadOptions, diag: Diagnostics) -> None:
    """`-t --no-host-checks` checks a config for another machine: say which facts of this
    host were not looked at, so a clean result is not read as "the target has them"."""
    if not opts.check_interfaces and cx.skipped_interfaces:
        diag.info("host check skipped: interface(s) "
                  f"{', '.join(sorted(cx.skipped_interfaces))} not looked up")
    if not opts.check_users and cx.skipped_users:
        diag.info("host check skipped: user(s) "
                  f"{', '.join(sorted(cx.skipped_users))} not looked up")
    if not opts.check_scripts:
        from pykeepalived.config.scripts import script_uses

        n = sum(1 for _ in script_uses(cfg))
        if n:
            diag.info(f"host check skipped: {n} script(s) not checked (file, permissions, "
                      "user, script security)")
