"""The tracked objects instances refer to: vrrp_script, track_file, vrrp_track_process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.config.model import TrackFile, TrackProcess, VrrpScript
from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.sections.completion import Completion


class VrrpScriptSection(Section):
    SECTION = "vrrp_script"
    script: tuple[str, ...] | None = None
    interval: float | None = None
    timeout: float | None = None
    weight: tuple[str, ...] | None = None
    rise: int | None = None
    fall: int | None = None
    user: tuple[str, ...] | None = None
    init_fail: bool | None = None

    def post(self, cx: Completion) -> VrrpScript | None:
        name = self.args[0]
        if self.script is None:
            # at the closing brace, where keepalived finds it
            cx.diag.error(f"No script set for vrrp_script {name} - removing", self.end,
                          hint="add: script \"/path/to/check args\"")
            return None
        s = cx.block_script(self, self.script, "script", f"vrrp_script {name}", "script",
                            f"Unable to set default user for vrrp script {name} - removing")
        if s is None:
            return None
        weight, rev = 0, False
        if self.weight is not None:
            w, rev = cx.weight(self.weight, self.where("weight"), -253, 253,
                               f"vrrp_script {name}")
            weight = w or 0
        interval = 1.0 if self.interval is None else self.interval
        timeout = 0.0 if self.timeout is None else self.timeout
        return VrrpScript(
            name=name, script=s, interval=interval, timeout=timeout or interval,
            weight=weight, weight_reverse=rev, rise=1 if self.rise is None else self.rise,
            fall=1 if self.fall is None else self.fall, init_fail=bool(self.init_fail),
            loc=self.loc, timeout_configured=timeout)


class TrackFileSection(Section):
    SECTION = "track_file"
    file: str | None = None
    weight: tuple[str, ...] | None = None
    init_file: tuple[str, ...] | None = None  # recognised, not acted on

    def post(self, cx: Completion) -> TrackFile | None:
        name = self.args[0]
        if self.file is None:
            cx.diag.error(f"No file set for track_file {name} - ignoring", self.end,
                          hint="add: file /path/to/file")
            return None
        w, rev = 1, False
        if self.weight is not None:
            wv, rev = cx.weight(self.weight, self.where("weight"), -2147483647, 2147483647,
                                f"track_file {name}")
            w = 1 if wv is None else wv
        return TrackFile(name=name, file=self.file, weight=w, weight_reverse=rev,
                         init_file=self.init_file, loc=self.loc)


class VrrpTrackProcessSection(Section):
    SECTION = "vrrp_track_process"
    process: tuple[str, ...] | None = None
    param_match: str | None = None
    weight: tuple[str, ...] | None = None
    quorum: int | None = None
    quorum_max: int | None = None
    fork_delay: float | None = None  # recognised, not acted on
    terminate_delay: float | None = None  # recognised, not acted on
    delay: float | None = None  # recognised, not acted on
    full_command: bool | None = None

    def post(self, cx: Completion) -> TrackProcess | None:
        name = self.args[0]
        p = self.process
        if p is None:
            cx.diag.error(f"vrrp_track_process {name} has no process - removing", self.loc)
            return None
        # a valid param_match (bare: exact) makes keepalived match the full command line
        full = bool(self.full_command) or self.param_match is not None
        w, rev = 1, False
        if self.weight is not None:
            wv, rev = cx.weight(self.weight, self.where("weight"), -254, 254,
                                f"vrrp_track_process {name}")
            w = 1 if wv is None else wv
        delay = 0.0 if self.delay is None else self.delay
        return TrackProcess(
            name=name, process=p[0], params=tuple(p[1:]),
            param_match="exact" if self.param_match is None else self.param_match,
            weight=w, weight_reverse=rev, quorum=1 if self.quorum is None else self.quorum,
            quorum_max=self.quorum_max,
            fork_delay=delay if self.fork_delay is None else self.fork_delay,
            terminate_delay=delay if self.terminate_delay is None else self.terminate_delay,
            full_command=full, loc=self.loc)
