"""The top level of keepalived.conf: the blocks it holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.config.sections.section import Entry, Section

if TYPE_CHECKING:
    from pykeepalived.config.sections.checked_only import BfdInstanceSection, GarpGroupSection
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
    global_defs: list[GlobalDefsSection]
    static_ipaddress: list[Entry]
    static_routes: list[Entry]
    static_rules: list[Entry]
    vrrp_script: list[VrrpScriptSection]
    track_file: list[TrackFileSection]
    vrrp_track_process: list[VrrpTrackProcessSection]
    vrrp_sync_group: list[VrrpSyncGroupSection]
    vrrp_instance: list[VrrpInstanceSection]
    virtual_server_group: list[VsGroupSection]
    virtual_server: list[VirtualServerSection]
    bfd_instance: list[BfdInstanceSection]  # read only for keepalived's checks
    garp_group: list[GarpGroupSection]  # read only for keepalived's checks
    interface_up_down_delays: list[Entry]  # read only for keepalived's checks
