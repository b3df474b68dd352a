"""Model pieces every section shares: addresses, scripts, track references, routes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from pykeepalived.config.diagnostics import Loc

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
IPIface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


class State(StrEnum):
    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


@dataclass(frozen=True, slots=True)
class Script:
    """A command keepalived would run: argv already split the way keepalived splits it."""

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None
    loc: Loc | None = field(default=None, compare=False)

    @property
    def command(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True, slots=True)
class TrackRef:
    """An entry of track_script/track_interface/track_file/track_process."""

    name: str
    weight: int | None = None  # None: the tracked object's own weight
    reverse: bool = False
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class VirtualIP:
    """A virtual_ipaddress (or static_ipaddress) line with its ip-address options."""

    address: IPIface
    dev: str | None = None
    brd: str | None = None
    scope: str | None = None
    label: str | None = None
    peer: str | None = None
    no_track: bool = False
    options: tuple[str, ...] = ()
    loc: Loc | None = field(default=None, compare=False)

    @property
    def family(self) -> int:
        return self.address.version


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A virtual_routes/static_routes (or rules) line: kept as words plus the key fields."""

    words: tuple[str, ...]
    family: int = 4
    dst: str | None = None
    via: str | None = None
    dev: str | None = None
    table: str | None = None
    loc: Loc | None = field(default=None, compare=False)
