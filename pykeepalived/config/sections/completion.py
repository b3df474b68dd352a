"""What every section's completion shares: the diagnostics, the host's facts, the global
defaults read so far, and keepalived's common value rules (users, scripts, weights, tracking).

keepalived completes its config in one pass over the blocks with global state; this is that
state, passed to each section's post() explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, Protocol, TypeVar

from pykeepalived.config.diagnostics import Diagnostic, Diagnostics, Loc, Rc, Severity
from pykeepalived.config.host import HostInfo
from pykeepalived.config.model import GlobalDefs, Script, TrackRef, VirtualServerGroup
from pykeepalived.config.scripts import split_command
from pykeepalived.config.sections.section import Entry, Section

DEFAULT_SCRIPT_USER = "keepalived_script"
TRACK_RANGES = {"track_interface": (-253, 253), "track_script": (-253, 253),
                "track_file": (-254, 254), "track_process": (-254, 254)}


class Tracking(NamedTuple):
    """What an instance or a sync group tracks (TRACK_RANGES' order)."""

    track_interface: tuple[TrackRef, ...]
    track_script: tuple[TrackRef, ...]
    track_file: tuple[TrackRef, ...]
    track_process: tuple[TrackRef, ...]


class TrackingBlock(Protocol):
    track_interface: Sequence[Entry]
    track_script: Sequence[Entry]
    track_file: Sequence[Entry]
    track_process: Sequence[Entry]


class ScriptBlock(Protocol):
    """A block with a command keyword and a `user` of its own (vrrp_script, MISC_CHECK)."""

    user: tuple[str, ...] | None

    @property
    def end(self) -> Loc: ...

    def where(self, attr: str) -> Loc: ...
S = TypeVar("S", bound=Section)
T = TypeVar("T")


@dataclass
class Completion:
    diag: Diagnostics
    host: HostInfo = field(default_factory=HostInfo)
    check_interfaces: bool = True
    gdefs: GlobalDefs = field(default_factory=GlobalDefs)
    missing_interface: bool = False  # keepalived stops before its script checks then
    rule_pref: int = 16384
    vsgs: dict[str, VirtualServerGroup] = field(default_factory=dict)
    skipped_users: set[str] = field(default_factory=set)  # not looked up (check_users off)
    skipped_interfaces: set[str] = field(default_factory=set)  # likewise (check_interfaces)
    vmac_names: dict[str, str] = field(default_factory=dict)  # use_vmac name -> instance
    check_users: bool = True  # host check: do the users and groups scripts name exist?
    script_security: bool = False  # enable_script_security, known before any script is built
    script_user_set: bool = False
    script_user_ok: bool = True  # script_user (and its group) exist, or were not checked
    default_user_failed: bool = False  # reported once, as keepalived does
    later: list[Diagnostic] = field(default_factory=list)  # see completion_error
    track_file_names: set[str] = field(default_factory=set)  # FILE_CHECK may name them

    after_read_from: int = 0  # diag.items index from which findings are after-read checks

    def completion_error(self, msg: str, loc: Loc | None, hint: str | None = None) -> None:
        """An error keepalived finds when it completes the config, after parsing (it prints
        no line): held back until the parse-time ones are out, so the first error we report
        is the one keepalived reports first. The line is kept for the reader."""
        self.later.append(Diagnostic(Severity.ERROR, msg, loc, Rc.CONFIG, None, hint))

    def flush_completion(self) -> None:
        for d in self.later:
            self.diag.add(d)
        self.later.clear()

    def iface_ok(self, name: str, loc: Loc | None, what: str) -> bool:
        if not self.check_interfaces:
            self.skipped_interfaces.add(name)
            return True
        if self.host.has_interface(name):
            return True
        if self.gdefs.dynamic_interfaces:
            self.diag.warning(f"interface {name} for {what} doesn't exist (yet): "
                              "dynamic_interfaces is set", loc)
            return False
        self.missing_interface = True
        self.diag.error(f"WARNING - interface {name} for {what} doesn't exist", loc,
                        hint="create it, fix the name, or set dynamic_interfaces")
        return False

    def unique(self, ctxs: Sequence[S], what: str, make: Callable[[S], T | None],
               dup_error: bool = True) -> list[T]:
        """Build each named block once. keepalived 2.2.7 rejects a second vrrp_instance or
        vrrp_sync_group of one name but says nothing of a second vrrp_script, track_file,
        vrrp_track_process or virtual_server_group (`dup_error=False`: a warning here)."""
        seen: dict[str, Loc] = {}
        out = []
        for c in ctxs:
            name = c.args[0] if c.args else ""
            if name in seen:
                report = self.diag.error if dup_error else self.diag.warning
                report(f"{what} {name} already defined", c.loc,
                       hint=f"first defined at {seen[name]}; this block is ignored")
                continue
            seen[name] = c.loc
            obj = make(c)
            if obj is not None:
                out.append(obj)
        return out

    # -- helpers ---------------------------------------------------------------------------
    def int_in(self, text: str, lo: int, hi: int, loc: Loc, what: str) -> int | None:
        try:
            v = int(text, 10)
        except ValueError:
            self.diag.error(f"{what}: invalid number '{text}'", loc)
            return None
        if not lo <= v <= hi:
            self.diag.error(f"{what}: number '{text}' outside range [{lo}, {hi}]", loc)
            return None
        return v

    def port(self, text: str, loc: Loc, what: str) -> int | None:
        return self.int_in(text, 0, 65535, loc, f"{what} port")

    def check_user(self, w: tuple[str, ...], loc: Loc, what: str, consequence: str = ""
                   ) -> bool:
        """Whether the user (and group) exist; a host fact: --no-host-checks skips it (and
        says so)."""
        if not self.check_users:
            self.skipped_users.add(w[0])
            return True
        ok = True
        if not self.host.has_user(w[0]):
            ok = False
            self.diag.error(f"{what}: user '{w[0]}' does not exist{consequence}", loc,
                            hint="create it or name an existing user")
        if len(w) > 1 and not self.host.has_group(w[1]):
            ok = False
            self.diag.error(f"{what}: group '{w[1]}' does not exist{consequence}", loc)
        return ok

    def default_user_unusable(self, loc: Loc) -> bool:
        """Whether a script that names no user of its own cannot run. keepalived runs it as
        script_user (none: if that user or group does not exist), else as keepalived_script,
        else as root; with enable_script_security it will not fall back to root, so without
        both users it reports once and counts a config error (-t exits 5). Such scripts are
        dropped (vrrp_script and MISC_CHECK with an error of their own). A host fact:
        --no-host-checks skips it."""
        if not self.check_users and self.script_security and not self.script_user_set:
            self.skipped_users.add(DEFAULT_SCRIPT_USER)
        if self.script_user_set:  # its own error was reported with script_user
            return not self.script_user_ok
        if not (self.check_users and self.script_security):
            return False
        if self.default_user_failed:
            return True
        if self.host.has_user(DEFAULT_SCRIPT_USER):
            return False
        self.default_user_failed = True
        self.diag.error(f"Unable to set default user {DEFAULT_SCRIPT_USER} for script", loc,
                        hint=f"create the user {DEFAULT_SCRIPT_USER}, or set script_user in "
                        "global_defs")
        return True

    def script(self, w: tuple[str, ...], loc: Loc, kind: str = "notify") -> Script | None:
        """A notify-type script keyword: `COMMAND [USER [GROUP]]`. keepalived drops the
        script (a log line, not a config error) when USER or GROUP does not exist."""
        s = self.command(w[:1], loc)
        user = w[1] if len(w) > 1 else None
        group = w[2] if len(w) > 2 else None
        missing = [f"{what} '{name}'" for what, name, ok in (
            ("user", user, user is None or not self.check_users or self.host.has_user(user)),
            ("group", group, group is None or not self.check_users
             or self.host.has_group(group))) if not ok]
        if missing:
            self.diag.warning(f"Invalid user/group for {kind} script "
                              f"{s.argv[0] if s.argv else w[0]} - ignoring", loc,
                              hint=f"{' and '.join(missing)} does not exist: the script will "
                                   "not run (quote the command if those words are arguments)")
            return None
        if not user and s.argv and self.default_user_unusable(loc):
            return None  # keepalived drops it (its own message was reported once)
        return replace(s, user=user, group=group)

    def command(self, w: tuple[str, ...], loc: Loc, keyword: str = "") -> Script:
        """A script whose block has its own `user` keyword (vrrp_script, MISC_CHECK): only
        the first word is the command, as keepalived reads it; quote it to give arguments."""
        argv = split_command(w[0]) if len(w) >= 1 else ()
        if not argv:
            self.diag.error("empty script command", loc)
        if len(w) > 1 and keyword:
            self.diag.warning(f"{keyword}: words after the command are ignored: "
                              f"{' '.join(w[1:])}", loc,
                              hint=f'quote the command to give it arguments: {keyword} '
                                   f'"{" ".join(w)}"')
        return Script(tuple(argv), None, None, loc)

    def block_script(self, c: ScriptBlock, command: tuple[str, ...] | None, key: str, what: str,
                     gone: str, no_default: str) -> Script | None:
        """The command of a block with a `user` keyword of its own (vrrp_script's script,
        MISC_CHECK's misc_path) and the user it runs as; None: keepalived drops it ("Unable
        to set uid/gid for script", "Failed to set uid/gid for misc checker"), or, with no
        `user` and no usable default user, with `no_default` as its error."""
        s = self.command(command or (), c.where(key), key)
        u = c.user
        if u is not None:
            if not self.check_user(u, c.where("user"), f"{what} user", f" - removing the {gone}"):
                return None
            return replace(s, user=u[0], group=u[1] if len(u) > 1 else None)
        if self.default_user_unusable(c.end):
            self.diag.error(no_default, c.end, hint="give it a user keyword")
            return None
        return s

    def weight(self, w: tuple[str, ...], loc: Loc, lo: int, hi: int, what: str
               ) -> tuple[int | None, bool]:
        """`weight W [reverse|noreverse|no_reverse]` as used by tracking keywords."""
        if not w:
            return None, False
        n = self.int_in(w[0], lo, hi, loc, f"{what} weight")
        rev = False
        for extra in w[1:]:
            if extra == "reverse":
                rev = True
            elif extra in ("noreverse", "no_reverse"):
                rev = False
            else:
                self.diag.error(f"{what}: unknown weight option '{extra}'", loc)
        return n, rev

    def tracking(self, c: TrackingBlock) -> Tracking:
        """The track_* value blocks of an instance or a sync group, with their weight ranges."""
        return Tracking(*(self.track_refs(getattr(c, k), k, lo, hi)
                          for k, (lo, hi) in TRACK_RANGES.items()))

    def track_refs(self, entries: Sequence[Entry], what: str, lo: int, hi: int
                   ) -> tuple[TrackRef, ...]:
        out = []
        for w, loc in entries:
            weight, rev = None, False
            rest = w[1:]
            if rest and rest[0] == "weight":
                weight, rev = self.weight(rest[1:], loc, lo, hi, f"{what} {w[0]}")
                if len(rest) == 1:
                    self.diag.error(f"{what} {w[0]}: 'weight' needs a value", loc)
            elif rest and rest[0] in ("reverse", "noreverse", "no_reverse"):
                rev = rest[0] == "reverse"
            elif rest:
                self.diag.error(f"{what} {w[0]}: unexpected '{' '.join(rest)}'", loc,
                                hint="expected: NAME [weight W [reverse]]")
            out.append(TrackRef(w[0], weight, rev, loc))
        return tuple(out)
