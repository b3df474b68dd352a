"""virtual_server_group: the addresses and ports one virtual_server stands for."""

from __future__ import annotations

from pykeepalived.config.sections.section import Entry, Section


class VsGroupSection(Section):
    SECTION = "vsg"
    lines: list[Entry]  # one address, range or fwmark per line
