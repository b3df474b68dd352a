"""virtual_server_group: the addresses and ports one virtual_server stands for."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pykeepalived.config.diagnostics import Loc
from pykeepalived.config.model import VirtualServerGroup, VsGroupEntry
from pykeepalived.config.sections.section import Entry, Section

if TYPE_CHECKING:
    from pykeepalived.config.model import IPAddr
    from pykeepalived.config.sections.completion import Completion


class VsGroupSection(Section):
    SECTION = "vsg"
    lines: Sequence[Entry]  # one address, range or fwmark per line

    def post(self, cx: Completion) -> VirtualServerGroup | None:
        entries = []
        for w, loc in self.lines:
            if w[0] == "fwmark":
                n = cx.int_in(w[1], 1, 4294967295, loc, "fwmark") if len(w) > 1 else None
                if n is not None:
                    fam = 6 if len(w) > 2 and w[2] == "inet6" else 4
                    entries.append(VsGroupEntry(fwmark=n, family=fam, loc=loc))
                continue
            rng = addr_range(cx, w[0], loc)
            if rng is None:
                continue
            port = cx.port(w[1], loc, "virtual_server_group") if len(w) > 1 else None
            entries.append(VsGroupEntry(first=rng[0], last=rng[1], port=port,
                                        family=rng[0].version, loc=loc))
        if not self.lines:
            cx.diag.error(f"virtual server group {self.args[0]} has no entries - removing",
                          self.end,
                          hint="add ADDRESS PORT or fwmark N lines")
            return None
        return VirtualServerGroup(name=self.args[0], entries=tuple(entries), loc=self.loc)


def addr_range(cx: Completion, text: str, loc: Loc) -> tuple[IPAddr, IPAddr] | None:
    """A group line's address: one address, a prefix, or FIRST-LAST (LAST may be only the
    last byte, or group for IPv6, as keepalived writes 192.0.2.1-10)."""
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            return net[0], net[-1]
        if "-" in text:
            a, b = text.split("-", 1)
            first = ipaddress.ip_address(a)
            if ":" in b or "." in b:
                last = ipaddress.ip_address(b)
            else:
                sep = ":" if first.version == 6 else "."
                head = a.rsplit(sep, 1)[0]
                last = ipaddress.ip_address(f"{head}{sep}{b}")
            if int(last) < int(first):
                raise ValueError("range ends before it starts")
            return first, last
        addr = ipaddress.ip_address(text)
        return addr, addr
    except ValueError as e:
        cx.diag.error(f"virtual_server_group: invalid address or range '{text}' ({e})", loc)
        return None
