"""The tracked objects instances refer to: vrrp_script, track_file, vrrp_track_process."""

from __future__ import annotations

from pykeepalived.config.sections.section import Section


class VrrpScriptSection(Section):
    SECTION = "vrrp_script"
    script: tuple[str, ...] | None = None
    interval: float | None = None
    timeout: float | None = None
    weight: tuple[str, ...] | None = None
    rise: int | None = None
    fall: int | None = None
    user: tuple[str, ...] | None = None
    init_fail: bool | None = None


class TrackFileSection(Section):
    SECTION = "track_file"
    file: str | None = None
    weight: tuple[str, ...] | None = None
    init_file: tuple[str, ...] | None = None  # recognised, not acted on


class VrrpTrackProcessSection(Section):
    SECTION = "vrrp_track_process"
    process: tuple[str, ...] | None = None
    param_match: str | None = None
    weight: tuple[str, ...] | None = None
    quorum: int | None = None
    quorum_max: int | None = None
    fork_delay: float | None = None  # recognised, not acted on
    terminate_delay: float | None = None  # recognised, not acted on
    delay: float | None = None  # recognised, not acted on
    full_command: bool | None = None
