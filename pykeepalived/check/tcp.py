"""TCP_CHECK: a connect within connect_timeout is success, anything else a failure."""

from __future__ import annotations

from pykeepalived.check.base import Probe, tcp_connect
from pykeepalived.check.results import CheckResult


class TcpProbe(Probe):
    kind = "TCP_CHECK"
    log_attempts = True

    async def check(self) -> CheckResult:
        try:
            s = await tcp_connect(self.ctx)
        except TimeoutError:
            return CheckResult(False, f"TCP connection to {self.ctx.rs_name} timeout.")
        except OSError:
            return CheckResult(False, f"TCP connection to {self.ctx.rs_name} failed.")
        s.close()
        return CheckResult(True)

    def up_message(self, result: CheckResult) -> str:
        return f"TCP connection to {self.ctx.rs_name} success."
