"""The typed configuration model every subsystem consumes.

Frozen dataclasses so a running subsystem can hold a config while a reload builds the next
one, and a diff between the two is a plain comparison: ``loc`` (file:line) takes no part in
equality, so a shifted or re-commented file compares equal. What is "the same" object across a
reload (keepalived's keys) is config/identity.py's business. Values are *completed*: defaults and
inheritance (virtual_server -> real_server -> checker, global_defs -> vrrp_instance) are
already applied, so consumers never re-derive them. Names follow keepalived's keywords.
"""

from pykeepalived.config.model.common import (
    IPAddr,
    IPIface,
    RouteSpec,
    Script,
    State,
    TrackRef,
    VirtualIP,
)
from pykeepalived.config.model.config import Config
from pykeepalived.config.model.global_defs import GlobalDefs, LvsSyncDaemon
from pykeepalived.config.model.lvs import (
    Announce,
    AnnounceRoute,
    Checker,
    RealServer,
    Url,
    VirtualServer,
    VirtualServerGroup,
    VsGroupEntry,
)
from pykeepalived.config.model.vrrp import (
    StaticAddress,
    TrackFile,
    TrackProcess,
    UnicastPeer,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)

__all__ = [
    "Announce",
    "AnnounceRoute",
    "Checker",
    "Config",
    "GlobalDefs",
    "IPAddr",
    "IPIface",
    "LvsSyncDaemon",
    "RealServer",
    "RouteSpec",
    "Script",
    "State",
    "StaticAddress",
    "TrackFile",
    "TrackProcess",
    "TrackRef",
    "UnicastPeer",
    "Url",
    "VirtualIP",
    "VirtualServer",
    "VirtualServerGroup",
    "VrrpInstance",
    "VrrpScript",
    "VrrpSyncGroup",
    "VsGroupEntry",
]
