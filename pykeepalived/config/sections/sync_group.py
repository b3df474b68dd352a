"""vrrp_sync_group: instances that change state together."""

from __future__ import annotations

from pykeepalived.config.sections.section import Entry, Section


class VrrpSyncGroupSection(Section):
    SECTION = "vrrp_sync_group"
    group: list[Entry]
    track_interface: list[Entry]
    track_script: list[Entry]
    track_file: list[Entry]
    track_process: list[Entry]
    notify_master: tuple[str, ...] | None = None
    notify_backup: tuple[str, ...] | None = None
    notify_fault: tuple[str, ...] | None = None
    notify_stop: tuple[str, ...] | None = None
    notify: tuple[str, ...] | None = None
    smtp_alert: bool | None = None  # recognised, not acted on
    global_tracking: bool | None = None
