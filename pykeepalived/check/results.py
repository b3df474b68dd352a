"""What the checker pool tells the outside world: events, probe results, snapshots.

Frozen dataclasses so the IPVS syncer and the dump writers can keep them without copying,
and a test can compare them with ==. Names and the "[ip]:proto:port" spelling follow
keepalived's logs (FMT_RS / FMT_VS) so an operator can grep the same strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.config.model import RealServer, VirtualServer

RsKey = tuple[str, int | None]


def fmt_rs(rs: RealServer, vs: VirtualServer) -> str:
    """keepalived's FMT_RS: the real server as [ip]:proto:port (protocol of the VS)."""
    return fmt_addr(str(rs.ip), rs.port, vs.protocol)


def fmt_addr(ip: str, port: int | None, protocol: str = "TCP") -> str:
    return f"[{ip}]:{protocol.lower()}:{port or 0}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One probe attempt. ``weight`` is set by dynamic checkers (MISC misc_dynamic, FILE)."""

    ok: bool
    detail: str = ""  # keepalived's per-attempt words, e.g. "TCP connection to ... failed."
    weight: int | None = None  # absolute weight (misc_dynamic) for this RS, if any
    weight_delta: int | None = None  # FILE_CHECK additive weight, if any
    code: int | None = None  # exit status (MISC) / HTTP status, for dumps


@dataclass(frozen=True, slots=True)
class RsChange:
    """A real server's IPVS-relevant state changed (or is reported for the first time).

    ``in_pool`` is what the syncer must do: the destination exists in IPVS when the server is
    alive, or when it is down with inhibit_on_failure (then ``weight`` is 0). ``removed`` means
    the real server left the configuration on reload.
    """

    vs: str  # VirtualServer.key
    rs: RsKey  # RealServer.key
    alive: bool
    weight: int  # the weight IPVS should carry now (0 when inhibited)
    inhibited: bool = False  # down but kept in IPVS with weight 0 (inhibit_on_failure)
    initial: bool = False  # first report for this (vs, rs): start-up or added on reload
    removed: bool = False
    at: float = 0.0  # loop.time() (monotonic) of the change

    @property
    def in_pool(self) -> bool:
        return not self.removed and (self.alive or self.inhibited)


@dataclass(frozen=True, slots=True)
class QuorumChange:
    """A virtual server gained or lost quorum; the syncer swaps the sorry server on this."""

    vs: str
    up: bool
    weight_sum: int
    threshold: int
    initial: bool = False
    at: float = 0.0


Event = RsChange | QuorumChange


@dataclass(frozen=True, slots=True)
class CheckerSnapshot:
    kind: str
    target: str  # what the checker probes, keepalived-style
    up: bool
    has_run: bool
    retry: int
    retry_it: int  # retries used in the current failure streak
    consecutive_failures: int
    checks: int
    failures: int
    last_check: float | None  # wall clock (time.time()) of the last attempt's start
    last_duration: float | None
    last_ok: bool | None
    last_detail: str
    last_code: int | None


@dataclass(frozen=True, slots=True)
class RsSnapshot:
    key: RsKey
    alive: bool
    weight: int  # configured weight
    effective_weight: int  # after misc_dynamic / FILE_CHECK adjustments
    inhibit_on_failure: bool
    last_change: float | None  # wall clock
    checkers: tuple[CheckerSnapshot, ...]


@dataclass(frozen=True, slots=True)
class VsSnapshot:
    key: str
    quorum: int
    hysteresis: int
    quorum_up: bool
    weight_sum: int
    real_servers: tuple[RsSnapshot, ...]


@dataclass(frozen=True, slots=True)
class PoolSnapshot:
    taken_at: float  # wall clock
    checks: int  # total attempts since start
    virtual_servers: tuple[VsSnapshot, ...]

    def rs(self, vs: str, rs: RsKey) -> RsSnapshot | None:
        for v in self.virtual_servers:
            if v.key == vs:
                return next((r for r in v.real_servers if r.key == rs), None)
        return None
