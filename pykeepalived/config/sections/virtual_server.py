"""virtual_server: one IPVS service, its scheduler and its real servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.config.sections.section import Section

if TYPE_CHECKING:
    from pykeepalived.config.sections.real_server import RealServerSection


class VirtualServerSection(Section):
    SECTION = "virtual_server"
    delay_loop: float | None = None
    lvs_sched: str | None = None
    lvs_method: tuple[str, ...] | None = None
    ops: bool | None = None
    flag_1: bool | None = None
    flag_2: bool | None = None
    flag_3: bool | None = None
    sh_port: bool | None = None
    sh_fallback: bool | None = None
    mh_port: bool | None = None
    mh_fallback: bool | None = None
    hashed: bool | None = None
    persistence_timeout: int | None = None
    persistence_granularity: str | None = None
    persistence_engine: str | None = None
    protocol: str | None = None
    nat_mask: bool | None = None
    ha_suspend: bool | None = None  # recognised, not acted on
    smtp_alert: bool | None = None  # recognised, not acted on
    virtualhost: str | None = None
    alpha: bool | None = None
    omega: bool | None = None
    quorum: int | None = None
    hysteresis: int | None = None
    quorum_up: tuple[str, ...] | None = None
    quorum_down: tuple[str, ...] | None = None
    ip_family: str | None = None
    weight: int | None = None
    sorry_server: tuple[str, ...] | None = None
    sorry_server_inhibit: bool | None = None
    sorry_server_lvs_method: tuple[str, ...] | None = None
    connect_timeout: float | None = None
    retry: int | None = None
    delay_before_retry: float | None = None
    warmup: float | None = None
    inhibit_on_failure: bool | None = None
    real_server: list[RealServerSection]
    announce_address: tuple[str, ...] | None = None
    announce_route: tuple[str, ...] | None = None
    announce_only_if_master: str | None = None
    announce_without_ipvs: bool | None = None
