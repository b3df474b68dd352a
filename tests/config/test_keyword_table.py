"""The keyword table knows every keyword of the inventory; its entries are well formed."""

from __future__ import annotations

from pathlib import Path

from helpers.configs import load_text
from helpers.paths import DATA

from pykeepalived.config.keywords import all_keywords, table


def test_every_inventory_keyword_is_recognised() -> None:
    inventory = [ln.strip() for ln in (DATA / "keywords-inventory.txt").read_text().splitlines()
                 if ln.strip() and not ln.startswith("#")]
    known = all_keywords()
    assert len(inventory) > 250
    assert [k for k in inventory if k not in known] == []


def test_table_entries_are_consistent() -> None:
    for section, kws in table().items():
        for kw in kws.values():
            if kw.type in ("block",):
                assert kw.arg in table(), f"{section}.{kw.name} opens unknown section {kw.arg}"
            if kw.lo is not None and kw.hi is not None:
                assert kw.lo <= kw.hi, f"{section}.{kw.name}"
            if kw.alias_of:
                assert kw.field == kw.alias_of


def test_recognised_but_unused_keyword_warns_once(tmp_path: Path) -> None:
    res = load_text(tmp_path, "global_defs {\n enable_snmp_vrrp\n enable_snmp_vrrp\n}\n")
    assert res.exit_code() == 0
    assert [d.loc.line for d in res.diagnostics.warnings] == [2]


def test_value_keywords_either_need_their_value_or_say_what_it_defaults_to() -> None:
    # an optional value (min=0) of a valued type must say what keepalived uses without it
    for section, kws in table().items():
        for kw in kws.values():
            if kw.min_args == 0 and kw.type in ("int", "timer", "str", "enum", "ip"):
                assert kw.bare is not None, f"{section}.{kw.name}: min=0 needs bare="
