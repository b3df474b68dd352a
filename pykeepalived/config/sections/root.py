"""The top level of keepalived.conf: the blocks it holds, and the order they complete in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pykeepalived.config.model import Config
from pykeepalived.config.sections.addresses import routes, rule, vip
from pykeepalived.config.sections.checked_only import bfd_instances, garp_groups, up_down_delays
from pykeepalived.config.sections.global_defs import global_defs
from pykeepalived.config.sections.section import Entry, Section

if TYPE_CHECKING:
    from pykeepalived.config.sections.checked_only import BfdInstanceSection, GarpGroupSection
    from pykeepalived.config.sections.completion import Completion
    from pykeepalived.config.sections.global_defs import GlobalDefsSection
    from pykeepalived.config.sections.sync_group import VrrpSyncGroupSection
    from pykeepalived.config.sections.tracking import (
        TrackFileSection,
        VrrpScriptSection,
        VrrpTrackProcessSection,
    )
    from pykeepalived.config.sections.virtual_server import VirtualServerSection
    from pykeepalived.config.sections.vrrp_instance import VrrpInstanceSection
    from pykeepalived.config.sections.vs_group import VsGroupSection


class RootSection(Section):
    SECTION = "root"
    global_defs: Sequence[GlobalDefsSection]
    static_ipaddress: Sequence[Entry]
    static_routes: Sequence[Entry]
    static_rules: Sequence[Entry]
    vrrp_script: Sequence[VrrpScriptSection]
    track_file: Sequence[TrackFileSection]
    vrrp_track_process: Sequence[VrrpTrackProcessSection]
    vrrp_sync_group: Sequence[VrrpSyncGroupSection]
    vrrp_instance: Sequence[VrrpInstanceSection]
    virtual_server_group: Sequence[VsGroupSection]
    virtual_server: Sequence[VirtualServerSection]
    bfd_instance: Sequence[BfdInstanceSection]  # read only for keepalived's checks
    garp_group: Sequence[GarpGroupSection]  # read only for keepalived's checks
    interface_up_down_delays: Sequence[Entry]  # read only for keepalived's checks

    def post(self, cx: Completion, files: Sequence[str] = ()) -> Config:
        """The whole model, each block completed in keepalived's order: global_defs first
        (every later block inherits from it), the checker's part before the VRRP part (as
        keepalived -t reads them, so once-only messages land where it reports them), then
        the checks across blocks."""
        from pykeepalived.config.crosscheck import cross_checks

        cx.gdefs = global_defs(cx, self.global_defs)
        bfd_instances(cx, self.bfd_instance)
        garp_groups(cx, self.garp_group)
        cx.track_file_names = {c.args[0] for c in self.track_file
                               if c.args and c.file is not None}
        vsgs = cx.unique(self.virtual_server_group, "virtual_server_group",
                         lambda c: c.post(cx), dup_error=False)
        cx.vsgs = {g.name: g for g in vsgs}  # the port rules of a group's real servers
        vss = [v for v in (c.post(cx) for c in self.virtual_server) if v is not None]
        cx.flush_completion()  # the checker's part is complete before the VRRP part is read
        scripts = cx.unique(self.vrrp_script, "vrrp_script", lambda c: c.post(cx),
                            dup_error=False)
        tfiles = cx.unique(self.track_file, "track_file", lambda c: c.post(cx),
                           dup_error=False)
        tprocs = cx.unique(self.vrrp_track_process, "vrrp_track_process",
                           lambda c: c.post(cx), dup_error=False)
        instances = cx.unique(self.vrrp_instance, "vrrp instance", lambda c: c.post(cx))
        groups = cx.unique(self.vrrp_sync_group, "vrrp_sync_group", lambda c: c.post(cx))
        up_down_delays(cx, self.interface_up_down_delays)
        cfg = Config(
            global_defs=cx.gdefs,
            static_ipaddress=tuple(v for v in (vip(cx, w, loc, None)
                                               for w, loc in self.static_ipaddress)
                                   if v is not None),
            static_routes=routes(cx, self.static_routes),
            static_rules=tuple(rule(cx, w, loc) for w, loc in self.static_rules),
            vrrp_scripts=tuple(scripts),
            track_files=tuple(tfiles),
            track_processes=tuple(tprocs),
            sync_groups=tuple(groups),
            vrrp_instances=tuple(instances),
            virtual_server_groups=tuple(vsgs),
            virtual_servers=tuple(vss),
            files=tuple(files),
        )
        cx.after_read_from = len(cx.diag.items)  # what follows is found after reading
        return cross_checks(cx, cfg)
