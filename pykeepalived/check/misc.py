"""MISC_CHECK: run misc_path; exit 0 is up, anything else down, with misc_dynamic weights.

misc_dynamic follows keepalived: exit 0 up at the configured weight, 1 down, 2..255 up with
weight = code - 2. The script runs without a shell, in its own process group, killed on
misc_timeout (default delay_loop), as the script user when we are root.
"""

from __future__ import annotations

from pykeepalived.check.base import Probe
from pykeepalived.check.proc import run_script
from pykeepalived.check.results import CheckResult


class MiscProbe(Probe):
    kind = "MISC_CHECK"
    from_start = True  # keepalived counts the next run from when this one started

    def _head(self) -> str:
        argv0 = self.ctx.checker.misc_path.argv[0] if self.ctx.checker.misc_path else "?"
        return f"Misc check for [{self.ctx.rs_name} VS {self.ctx.vs_name}] by [{argv0}]"

    async def check(self) -> CheckResult:
        ch = self.ctx.checker
        script = ch.misc_path
        if script is None or not script.argv:
            return CheckResult(False, "no misc_path")
        timeout = ch.misc_timeout if ch.misc_timeout else ch.delay_loop
        user = script.user or self.ctx.global_defs.script_user
        group = script.group if script.user else self.ctx.global_defs.script_group
        out = await run_script(script.argv, timeout, user, group)
        if out.error:
            return CheckResult(False, f"{self._head()} failed ({out.error}).")
        if out.timed_out:
            return CheckResult(False, f"{self._head()} timed out.", code=None)
        if out.signal is not None:
            return CheckResult(False, f"{self._head()} failed (due to signal {out.signal}).",
                               code=None)
        rc = out.status or 0
        if rc == 0:
            return CheckResult(True, code=0,
                               weight=self.ctx.rs.weight if ch.misc_dynamic else None)
        if ch.misc_dynamic and 2 <= rc <= 255:
            return CheckResult(True, code=rc, weight=rc - 2)
        return CheckResult(False, f"(exited with status {rc})", code=rc)

    def up_message(self, result: CheckResult) -> str:
        return f"{self._head()} succeeded."

    def down_message(self, result: CheckResult, retries: int) -> str:
        tail = f" after {retries} retries" if retries else ""
        d = result.detail
        if d.startswith("(exited"):
            return f"{self._head()} failed{tail} {d}."
        if d.endswith("timed out."):
            return f"{self._head()} timed out{tail}."
        return d
