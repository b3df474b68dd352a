"""keepalived 2.2.7's recorded `-t` verdicts (research/kad-t) reproduced: rc and error lines.

The probe ran in a namespace whose only interface was eth0 on a host called "vm"; the
configs name paths relative to the directory above research/, so the test runs from a copy
laid out the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.paths import DATA

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.compat import is_intended
from pykeepalived.config.diagnostics import Severity
from pykeepalived.config.host import HostInfo

ROWS = json.loads((DATA / "kad-t" / "verdicts.json").read_text())


def _id(row: dict[str, object]) -> str:
    return f"{row['file']}{' ' + ' '.join(row['args']) if row['args'] else ''}"  # type: ignore[arg-type]


@pytest.mark.parametrize("row", ROWS, ids=_id)
def test_verdict_matches_keepalived(row: dict, kad_t_tree: Path) -> None:
    args: list[str] = row["args"]
    config_id = args[args.index("-i") + 1] if "-i" in args else "vm"
    path = f"research/kad-t/{row['file']}"
    res = load_config(path, LoadOptions(config_id=config_id, all_config="-e" in args,
                                        host=HostInfo(frozenset({"eth0", "lo"}))))
    diags = res.diagnostics
    assert int(res.exit_code()) == row["rc"], "\n".join(d.format() for d in diags.items)
    # every line keepalived complained about, we complain about too (or cover by a block)
    covered = {n for d in diags.items if d.severity >= Severity.WARNING for n in d.lines()}
    if not any(is_intended(m) for m in row["messages"]):
        missing = set(row["error_lines"]) - covered
        assert not missing, f"keepalived flagged lines {sorted(missing)}; we said:\n" + \
            "\n".join(d.format() for d in diags.items)


def test_clean_config_has_no_findings(kad_t_tree: Path) -> None:
    res = load_config("research/kad-t/t01-valid.conf",
                      LoadOptions(host=HostInfo(frozenset({"eth0"}))))
    assert res.diagnostics.items == []
    inst = res.config.vrrp_instances[0]
    assert (inst.virtual_router_id, inst.priority, inst.auth_type, inst.auth_pass) == \
        (51, 100, "PASS", "1111")
