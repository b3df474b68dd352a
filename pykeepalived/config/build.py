"""Completion: raw block values -> the frozen model, with keepalived's defaults and checks.

This mirrors keepalived's completion step (vrrp_complete_instance, check_data.c): derived
values (MASTER without priority is the address owner, IPv6 VIPs mean VRRPv3 ...), inheritance
(virtual_server -> real_server -> checker) and the cross-object checks (duplicate VRID on an
interface, unknown track_script ...). Where keepalived only logs and carries on, we report a
diagnostic with the same meaning and carry on with the same value.
"""

from __future__ import annotations

from pykeepalived.config.crosscheck import cross_checks
from pykeepalived.config.model import (
    Config,
    GlobalDefs,
    TrackFile,
    TrackProcess,
    VirtualServer,
    VirtualServerGroup,
    VrrpInstance,
    VrrpScript,
    VrrpSyncGroup,
)
from pykeepalived.config.sections.addresses import routes, rule, vip
from pykeepalived.config.sections.checked_only import (
    BfdInstanceSection,
    GarpGroupSection,
    bfd_instances,
    garp_groups,
    up_down_delays,
)
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.global_defs import GlobalDefsSection, global_defs
from pykeepalived.config.sections.section import Entry, Section
from pykeepalived.config.sections.sync_group import VrrpSyncGroupSection
from pykeepalived.config.sections.tracking import (
    TrackFileSection,
    VrrpScriptSection,
    VrrpTrackProcessSection,
)
from pykeepalived.config.sections.virtual_server import VirtualServerSection
from pykeepalived.config.sections.vrrp_instance import VrrpInstanceSection
from pykeepalived.config.sections.vs_group import VsGroupSection


class Builder(Completion):
    """The sections' completion steps not yet moved into their section modules (issue 14)."""


    # -- entry ----------------------------------------------------------------------------
    def build(self, root: Section, files: list[str]) -> Config:
        gctx = root.blocks.get("global_defs", [])
        self.gdefs = self.global_defs(gctx)
        self.bfd_instances(root.blocks.get("bfd_instance", []))
        self.garp_groups(root.blocks.get("garp_group", []))
        # keepalived -t parses the checker's part before the VRRP part: its once-only
        # messages (the script default user) land where it would report them
        self.track_file_names = {c.args[0] for c in root.blocks.get("track_file", [])
                                 if c.args and c.has("file")}
        vsgs = self.unique(root.blocks.get("virtual_server_group", []), "virtual_server_group",
                           self.vs_group, dup_error=False)
        self.vsgs = {g.name: g for g in vsgs}  # the port rules of a group's real servers
        vss = [v for v in (self.virtual_server(c) for c in root.blocks.get("virtual_server", []))
               if v is not None]
        self.flush_completion()  # the checker's part is complete before the VRRP part is read
        scripts = self.unique(root.blocks.get("vrrp_script", []), "vrrp_script", self.vrrp_script,
                              dup_error=False)
        tfiles = self.unique(root.blocks.get("track_file", []), "track_file", self.track_file,
                             dup_error=False)
        tprocs = self.unique(root.blocks.get("vrrp_track_process", []), "vrrp_track_process",
                             self.track_process, dup_error=False)
        instances = self.unique(root.blocks.get("vrrp_instance", []), "vrrp instance",
                                self.vrrp_instance)
        groups = self.unique(root.blocks.get("vrrp_sync_group", []), "vrrp_sync_group",
                             self.sync_group)
        self.up_down_delays(root.entries.get("interface_up_down_delays", []))
        cfg = Config(
            global_defs=self.gdefs,
            static_ipaddress=tuple(
                v for v in (vip(self, w, loc, None) for w, loc in root.entries.get(
                    "static_ipaddress", [])) if v is not None),
            static_routes=routes(self, root.entries.get("static_routes", [])),
            static_rules=tuple(rule(self, w, loc) for w, loc in root.entries.get(
                "static_rules", [])),
            vrrp_scripts=tuple(scripts),
            track_files=tuple(tfiles),
            track_processes=tuple(tprocs),
            sync_groups=tuple(groups),
            vrrp_instances=tuple(instances),
            virtual_server_groups=tuple(vsgs),
            virtual_servers=tuple(vss),
            files=tuple(files),
        )
        self.after_read_from = len(self.diag.items)  # what follows is found after reading
        return cross_checks(self, cfg)


    # -- global_defs, the checked-only blocks, the tracked objects: sections/ (issue 14) --
    def global_defs(self, ctxs: list[GlobalDefsSection]) -> GlobalDefs:
        return global_defs(self, ctxs)

    def up_down_delays(self, entries: list[Entry]) -> None:
        return up_down_delays(self, entries)

    def garp_groups(self, ctxs: list[GarpGroupSection]) -> None:
        return garp_groups(self, ctxs)

    def bfd_instances(self, ctxs: list[BfdInstanceSection]) -> None:
        return bfd_instances(self, ctxs)

    def vrrp_script(self, c: VrrpScriptSection) -> VrrpScript | None:
        return c.post(self)

    def track_file(self, c: TrackFileSection) -> TrackFile | None:
        return c.post(self)

    def track_process(self, c: VrrpTrackProcessSection) -> TrackProcess | None:
        return c.post(self)

    # -- vrrp_instance ---------------------------------------------------------------------
    def vrrp_instance(self, c: VrrpInstanceSection) -> VrrpInstance | None:
        return c.post(self)

    # -- sync groups -----------------------------------------------------------------------
    def sync_group(self, c: VrrpSyncGroupSection) -> VrrpSyncGroup | None:
        return c.post(self)

    # -- virtual servers -------------------------------------------------------------------
    def vs_group(self, c: VsGroupSection) -> VirtualServerGroup | None:
        return c.post(self)

    def virtual_server(self, c: VirtualServerSection) -> VirtualServer | None:
        return c.post(self)
