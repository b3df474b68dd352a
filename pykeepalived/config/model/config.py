"""The whole checked config: the one object the subsystems consume."""

from __future__ import annotations

from dataclasses import dataclass, field

from pykeepalived.config.model.common import RouteSpec, VirtualIP
from pykeepalived.config.model.global_defs import GlobalDefs
from pykeepalived.config.model.lvs import VirtualServer, VirtualServerGroup
from pykeepalived.config.model.vrrp import (
    TrackFile,
    TrackProcess,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole checked config: what the three subsystems consume, never mutated."""

    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    static_ipaddress: tuple[VirtualIP, ...] = ()
    static_routes: tuple[RouteSpec, ...] = ()
    static_rules: tuple[RouteSpec, ...] = ()
    vrrp_scripts: tuple[VrrpScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    track_processes: tuple[TrackProcess, ...] = ()
    sync_groups: tuple[VrrpSyncGroup, ...] = ()
    vrrp_instances: tuple[VrrpInstance, ...] = ()
    virtual_server_groups: tuple[VirtualServerGroup, ...] = ()
    virtual_servers: tuple[VirtualServer, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def has_vrrp(self) -> bool:
        """keepalived starts the VRRP child only when there is VRRP work to do."""
        return bool(self.vrrp_instances or self.static_ipaddress or self.static_routes
                    or self.static_rules)

    @property
    def has_checker(self) -> bool:
        return bool(self.virtual_servers)

    def instance(self, name: str) -> VrrpInstance | None:
        return next((i for i in self.vrrp_instances if i.name == name), None)

    def script(self, name: str) -> VrrpScript | None:
        return next((s for s in self.vrrp_scripts if s.name == name), None)
