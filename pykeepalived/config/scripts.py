"""Script command lines and script security, as keepalived judges them.

keepalived re-splits a script keyword's command shell-like ('...' groups, C escapes) and,
with enable_script_security, refuses a script when the file or any parent directory is
writable by a non-root user. We do the same checks, but name the unsafe path component so
the operator knows what to chmod.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from pykeepalived.config.diagnostics import Diagnostics, Rc
from pykeepalived.config.model import Config, Script

_ESC = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
        "v": "\v"}
SHELL_CHARS = frozenset("|&;<>()$`*?[]{}~\n")
_HEX = "0123456789abcdefABCDEF"


def split_quoted_escaped(text: str) -> tuple[str, ...]:
    """Split a line as keepalived re-reads script lines: whitespace separates, "..." and
    '...' group, a backslash escapes (C escapes, \\xHH, \\cX, octal; any other character
    stands for itself, in quotes too)."""
    out: list[str] = []
    cur: list[str] = []
    have = False
    quote = ""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            i += 1
            nx = text[i]
            if nx == "x" and i + 1 < n and text[i + 1] in _HEX:
                j = i + 1
                while j < n and text[j] in _HEX:
                    j += 1
                cur.append(chr(int(text[i + 1 : j], 16) & 0xFF))
                i = j
            elif nx == "c" and i + 1 < n:
                cur.append(chr(ord(text[i + 1]) & 0x1F))
                i += 2
            elif nx in "01234567":
                j = i
                while j < n and j < i + 3 and text[j] in "01234567":
                    j += 1
                cur.append(chr(int(text[i:j], 8) & 0xFF))
                i = j
            else:
                cur.append(_ESC.get(nx, nx))
                i += 1
            have = True
            continue
        if quote:
            if c == quote:
                quote = ""
            else:
                cur.append(c)
        elif c in "\"'":
            quote, have = c, True
        elif c.isspace():
            if cur or have:
                out.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(c)
        i += 1
    if cur or have:
        out.append("".join(cur))
    return tuple(out)


def split_command(cmd: str) -> tuple[str, ...]:
    """A script command's argv: keepalived splits the command word again the same way."""
    return split_quoted_escaped(cmd)


def needs_shell(argv: tuple[str, ...]) -> bool:
    """A command with redirections, pipes or globs only works through /bin/sh."""
    return any(ch in SHELL_CHARS for a in argv for ch in a)


SCRIPT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_KEEP_ENV = ("LANG", "LC_ALL", "TZ")


def script_env() -> dict[str, str]:
    """The environment scripts run with: a fixed PATH and the locale, nothing inherited
    besides. The daemon's own environment (service-manager credentials, tokens, proxies) is
    none of a notify or check script's business, and it differs between hosts."""
    env = {"PATH": SCRIPT_PATH, "HOME": "/"}
    env.update({k: os.environ[k] for k in _KEEP_ENV if k in os.environ})
    return env


def resolve(prog: str) -> str | None:
    if "/" in prog:
        return prog if os.path.isfile(prog) else None
    for d in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
        p = os.path.join(d or ".", prog)
        if os.path.isfile(p):
            return p
    return None


def insecure_component(path: str) -> str | None:
    """The first of the file and its parents that a non-root user could change, if any."""
    p = os.path.realpath(path)
    while True:
        try:
            st = os.stat(p)
        except OSError:
            return p
        # group-writable is only unsafe when the group is not root's
        if st.st_uid != 0 or st.st_mode & stat.S_IWOTH or (
            st.st_mode & stat.S_IWGRP and st.st_gid != 0
        ):
            return p
        if p == "/":
            return None
        p = os.path.dirname(p)


@dataclass(frozen=True, slots=True)
class ScriptUse:
    where: str  # e.g. "vrrp_script chk_haproxy", "(VI_1) notify_master"
    script: Script
    removable: str | None = None  # the vrrp_script name that is disabled when unusable
    side: str = "vrrp"  # the keepalived process that runs (and checks) it: vrrp or checker


CHECKER, VRRP = "checker", "vrrp"
# keepalived's checker and VRRP processes each check their own scripts, each with its message
_VIOLATION = {
    CHECKER: "SECURITY VIOLATION - check scripts are being executed but script_security "
             "not enabled.",
    VRRP: "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
}


def script_uses(cfg: Config) -> Iterable[ScriptUse]:
    g = cfg.global_defs
    for s in cfg.vrrp_scripts:
        yield ScriptUse(f"vrrp_script {s.name}", s.script, s.name)
    for k in ("notify_fifo_script", "vrrp_notify_fifo_script", "lvs_notify_fifo_script",
              "startup_script", "shutdown_script"):
        sc = getattr(g, k)
        if sc is not None:
            yield ScriptUse(k, sc, side=CHECKER if k.startswith("lvs_") else VRRP)
    for i in cfg.vrrp_instances:
        for k in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify",
                  "notify_master_rx_lower_pri"):
            sc = getattr(i, k)
            if sc is not None:
                yield ScriptUse(f"({i.name}) {k}", sc)
    for grp_ in cfg.sync_groups:
        for k in ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"):
            sc = getattr(grp_, k)
            if sc is not None:
                yield ScriptUse(f"sync group {grp_.name} {k}", sc)
    for vs in cfg.virtual_servers:
        for k in ("quorum_up", "quorum_down"):
            sc = getattr(vs, k)
            if sc is not None:
                yield ScriptUse(f"{vs.key} {k}", sc, side=CHECKER)
        for rs in vs.real_servers:
            for k in ("notify_up", "notify_down"):
                sc = getattr(rs, k)
                if sc is not None:
                    yield ScriptUse(f"{vs.key} real server {rs.ip} {k}", sc, side=CHECKER)
            for ch in rs.checkers:
                if ch.misc_path is not None:
                    yield ScriptUse(f"{vs.key} real server {rs.ip} MISC_CHECK", ch.misc_path,
                                    side=CHECKER)


def script_uid(script: Script, cfg: Config) -> int | None:
    """The uid a script would run as: its own user, else script_user, else keepalived's
    default (keepalived_script if it exists, else the running user)."""
    user = script.user or cfg.global_defs.script_user
    if user is None:
        try:
            return pwd.getpwnam("keepalived_script").pw_uid
        except KeyError:
            return os.geteuid()
    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return None


def check_scripts(cfg: Config, diag: Diagnostics,
                  sides: tuple[str, ...] = (CHECKER, VRRP)) -> set[str]:
    """keepalived's script checks; returns the vrrp_script names that must be disabled.

    One pass per keepalived process, checker first (its order under -t), each ending with
    its own "SECURITY VIOLATION" verdict. `sides` leaves a process out: keepalived's VRRP
    process stops at a missing interface before it checks scripts, its checker does not.

    Only track scripts that cannot be found fail `-t` (keepalived disables them); other
    missing scripts get a warning because they will fail when run. Only scripts that exist
    count for the "SECURITY VIOLATION" verdict, as in keepalived. Like keepalived, the check
    looks at the program (the first word) whatever the arguments hold: an undefined
    `${VAR}`, a pipe or a redirection after it does not take a script out of the check.
    """
    disabled: set[str] = set()
    uses = list(script_uses(cfg))
    for side in sides:
        _check_side(cfg, diag, [u for u in uses if u.side == side], side, disabled)
    return disabled


def _check_side(cfg: Config, diag: Diagnostics, uses: list[ScriptUse], side: str,
                disabled: set[str]) -> None:
    security = cfg.global_defs.enable_script_security
    root_scripts = False
    insecure = False
    for use in uses:
        sc = use.script
        if not sc.argv:
            continue
        path = resolve(sc.argv[0])
        if path is None or not os.access(path, os.X_OK):
            hint = f"'{sc.argv[0]}' is not an executable file"
            if use.removable:
                diag.error(f"Disabling track script {use.removable} since not found/accessible",
                           sc.loc, hint=hint)
                disabled.add(use.removable)
            else:
                diag.warning(f"{use.where}: script not found/accessible - it will fail when run",
                             sc.loc, hint=hint)
            continue
        if script_uid(sc, cfg) == 0:
            root_scripts = True
        bad = insecure_component(path)
        if bad is not None:
            insecure = True
            if security:
                what = f"track script {use.removable}" if use.removable else use.where
                diag.error(f"Disabling {what} due to insecure", sc.loc,
                           hint=f"'{bad}' is writable by a non-root user or not owned by root")
                if use.removable:
                    disabled.add(use.removable)
    if not security and (root_scripts or insecure):
        msg = _VIOLATION[side]
        if insecure:
            msg += " There are insecure scripts."
        diag.error(msg, None, Rc.SECURITY,
                   hint="add enable_script_security to global_defs (and script_user)")
