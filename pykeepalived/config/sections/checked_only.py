"""Blocks keepalived checks but pykeepalived does not act on (garp_group, bfd_instance, SSL)."""

from __future__ import annotations

from pykeepalived.config.sections.section import Entry, Section


class GarpGroupSection(Section):
    SECTION = "garp_group"
    garp_interval: float | None = None
    gna_interval: float | None = None
    interface: str | None = None
    interfaces: list[Entry]


class BfdInstanceSection(Section):
    SECTION = "bfd_instance"
    neighbor_ip: str | None = None
    vrrp: tuple[str, ...] | None = None
    checker: tuple[str, ...] | None = None
    source_ip: str | None = None
    min_rx: int | None = None
    min_tx: int | None = None
    idle_tx: int | None = None
    multiplier: int | None = None
    passive: bool | None = None
    ttl: int | None = None
    hoplimit: int | None = None
    max_hops: int | None = None
    weight: tuple[str, ...] | None = None
    multihop: bool | None = None


class SslSection(Section):
    SECTION = "SSL"
    password: str | None = None
    ca: str | None = None
    certificate: str | None = None
    key: str | None = None
