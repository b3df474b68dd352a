"""The keyword table and the section classes describe the same blocks (issue 14).

keywords.txt says how a keyword is read (arity, range, messages); its section's class says
what it becomes (a typed attribute). A keyword with no attribute is checked and dropped, so it
must say it is not acted on (noop); an attribute with no keyword can never be set.
"""

from __future__ import annotations

import inspect

from pykeepalived.config.keywords import Kw, table
from pykeepalived.config.sections import REGISTRY, Section

# how the walker converts each keyword type: the attribute's annotation must say the same
ANNOTATION = {"int": "int | None", "timer": "float | None", "bool": "bool | None",
              "flag": "bool | None", "skipblock": "bool | None", "obsolete": "bool | None",
              "str": "str | None", "enum": "str | None", "words": "tuple[str, ...] | None",
              "script": "tuple[str, ...] | None", "ip": "IPAddr | None"}


def annotations(cls: type[Section]) -> dict[str, str]:
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is not Section and issubclass(klass, Section):
            out.update(inspect.get_annotations(klass))
    return out


def expected(kw: Kw) -> str:
    if kw.type == "block":
        return f"Sequence[{REGISTRY[kw.arg or ''].__name__}]"
    if kw.type == "vblock":
        return f"Sequence[{REGISTRY[kw.arg or ''].__name__}]" if kw.min_args else "Sequence[Entry]"
    return ANNOTATION[kw.type]


def test_every_block_the_table_names_has_a_section_class() -> None:
    targets = {kw.arg for kws in table().values() for kw in kws.values()
               if kw.type == "block" or (kw.type == "vblock" and kw.min_args)}
    missing = sorted(t for t in targets if t not in REGISTRY)
    assert missing == []
    assert {s for s in table() if not s.startswith("checker_")} <= set(REGISTRY)


def test_every_acted_on_keyword_has_a_typed_attribute() -> None:
    wrong = []
    for section, kws in table().items():
        if section.startswith("checker_"):
            continue  # included into the checker sections, checked there
        ann = annotations(REGISTRY[section])
        for kw in kws.values():
            if kw.attr not in ann:
                if not kw.noop:
                    wrong.append(f"{section}.{kw.name}: no attribute")
                continue
            if ann[kw.attr] != expected(kw):
                wrong.append(f"{section}.{kw.name}: {ann[kw.attr]!r}, read as {expected(kw)!r}")
    assert wrong == []


def test_every_attribute_is_a_keyword_of_its_section() -> None:
    stray = []
    for section, cls in REGISTRY.items():
        attrs = {kw.attr for kw in table().get(section, {}).values()}
        if section == "vsg":  # virtual_server_group NAME { lines }: the value block's lines
            attrs = {"lines"}
        stray += [f"{section}.{a}" for a in sorted(cls.FIELDS - attrs)]
    assert stray == []


def test_a_section_keeps_its_own_lists() -> None:
    a = REGISTRY["vrrp_instance"]((), None, 0)  # type: ignore[arg-type]
    b = REGISTRY["vrrp_instance"]((), None, 0)  # type: ignore[arg-type]
    a.add("virtual_ipaddress", "x")
    a.add("virtual_ipaddress", "y")
    assert a.virtual_ipaddress == ["x", "y"]  # type: ignore[attr-defined]
    assert list(b.virtual_ipaddress) == []  # type: ignore[attr-defined]
    assert list(REGISTRY["vrrp_instance"].virtual_ipaddress) == []  # type: ignore[attr-defined]
