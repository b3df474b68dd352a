"""FILE_CHECK: a real server follows the integer in a track_file.

keepalived semantics: without a weight any non-zero value takes the checker down; with
``weight W [reverse]`` the value times W (negated with reverse) is added to the real
server's weight, and a result at or below -254 (keepalived's fault threshold for tracked
files) takes it down. A missing or unreadable file reads as 0. keepalived watches the file
with inotify; we poll it (a stat and a small read) every min(delay_loop, 1 s).
"""

from __future__ import annotations

import os

from pykeepalived.check.base import Probe
from pykeepalived.check.results import CheckResult

FAULT = -254


def read_value(path: str) -> int:
    try:
        with open(path, "rb") as f:
            data = f.read(64)
    except OSError:
        return 0
    try:
        return int(data.split()[0]) if data.split() else 0
    except ValueError:
        return 0


class FileProbe(Probe):
    kind = "FILE_CHECK"
    poll = 1.0

    def interval(self) -> float:
        return min(self.ctx.checker.delay_loop, self.poll)

    def retries(self) -> int:
        return 0  # a file value is a verdict, not a flaky network answer

    def path(self) -> str | None:
        name = self.ctx.checker.track_file
        if name is None:
            return None
        return self.ctx.track_files.get(name, name if os.path.isabs(name) else None)

    async def check(self) -> CheckResult:
        p = self.path()
        if p is None:
            return CheckResult(False, f"track_file {self.ctx.checker.track_file} not found")
        v = read_value(p)
        ch = self.ctx.checker
        if not ch.weight:
            if v:
                return CheckResult(False, f"tracked file {p} now FAULT state", code=v)
            return CheckResult(True, code=v, weight_delta=0)
        delta = v * ch.weight * (-1 if ch.weight_reverse else 1)
        if delta <= FAULT:
            return CheckResult(False, f"tracked file {p} now FAULT state", code=v)
        return CheckResult(True, code=v, weight_delta=delta)

    def up_message(self, result: CheckResult) -> str:
        return f"({self.ctx.rs_name}): tracked file {self.path()} leaving FAULT state"

    def down_message(self, result: CheckResult, retries: int) -> str:
        return f"({self.ctx.rs_name}): {result.detail}"
