"""vrrp_sync_group: instances that change state together."""

from __future__ import annotations

from collections.abc import Sequence

from pykeepalived.config.model import VrrpSyncGroup
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.section import Entry, Section


class VrrpSyncGroupSection(Section):
    SECTION = "vrrp_sync_group"
    group: Sequence[Entry]
    track_interface: Sequence[Entry]
    track_script: Sequence[Entry]
    track_file: Sequence[Entry]
    track_process: Sequence[Entry]
    notify_master: tuple[str, ...] | None = None
    notify_backup: tuple[str, ...] | None = None
    notify_fault: tuple[str, ...] | None = None
    notify_stop: tuple[str, ...] | None = None
    notify: tuple[str, ...] | None = None
    smtp_alert: bool | None = None  # recognised, not acted on
    global_tracking: bool | None = None

    def post(self, cx: Completion) -> VrrpSyncGroup | None:
        """The group's members, scripts and tracking; whether the members exist and agree is
        the whole-config check's business (crosscheck.py)."""
        name = self.args[0]
        members = tuple(w[0] for w, _ in self.group)
        if not members:
            # 2.3.3's wording, at the closing brace (2.2.7: "has no virtual router(s)")
            cx.diag.error(f"Sync group {name} has no members - removing", self.loc,
                          end_line=self.end_line)
            return None
        notify_master = self.keyword_script(cx, "notify_master")
        notify_backup = self.keyword_script(cx, "notify_backup")
        notify_fault = self.keyword_script(cx, "notify_fault")
        notify_stop = self.keyword_script(cx, "notify_stop")
        notify = self.keyword_script(cx, "notify")
        tracking = cx.tracking(self)
        for ref in tracking.track_interface:
            if cx.check_interfaces and not cx.host.has_interface(ref.name) and \
                    not cx.gdefs.dynamic_interfaces:
                cx.missing_interface = True
                cx.diag.error(f"({name}) tracked interface {ref.name} doesn't exist", ref.loc)
        return VrrpSyncGroup(
            name=name,
            group=members,
            track_interface=tracking.track_interface,
            track_script=tracking.track_script,
            track_file=tracking.track_file,
            track_process=tracking.track_process,
            notify_master=notify_master,
            notify_backup=notify_backup,
            notify_fault=notify_fault,
            notify_stop=notify_stop,
            notify=notify,
            smtp_alert=bool(self.smtp_alert),
            loc=self.loc,
        )

