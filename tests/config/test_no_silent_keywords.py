"""Nothing ignored in silence: every keyword of the table is acted on, or says it is not.

Derived from the table and the model, so the list cannot drift (issue 11):
1. for every keyword not marked noop/legacy, a config that uses it is completed while
   recording which keywords the sections' post() read; a keyword none reads would be
   parsed, checked and then dropped without a word;
2. a keyword a section stores in a model field must be read by the runtime (a module
   outside config/ and outside the dumps, which only mirror the config);
3. a noop keyword does say so, once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from helpers.configs import load_text

from pykeepalived.config import model
from pykeepalived.config.diagnostics import Diagnostics, Loc
from pykeepalived.config.host import HostInfo
from pykeepalived.config.keywords import Kw, Walker, table
from pykeepalived.config.parser import parse_lines
from pykeepalived.config.reader import Reader, ReaderOptions
from pykeepalived.config.sections.completion import Completion
from pykeepalived.config.sections.root import RootSection
from pykeepalived.config.sections.section import Section

PKG = Path(model.__file__).resolve().parents[2]  # model/__init__.py -> pykeepalived/

# where each section's keywords go: a config with @@ where the keyword line is written
INSTANCE = ("vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n priority 100\n"
            " virtual_ipaddress {\n  192.0.2.1/24\n }\n@@\n}\n")
VS = ("virtual_server 192.0.2.100 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n"
      " real_server 192.0.2.12 80 {\n  weight 1\n  %s\n }\n@@\n}\n")
CHECKER = VS.replace("@@", "").replace("%s", "%s {\n@@\n  }")
# what a checker needs before its post() looks at its other keywords
CHECKER_NEEDS = {"HTTP_GET": " url {\n  path /\n }", "SSL_GET": " url {\n  path /\n }",
                 "MISC_CHECK": " misc_path /bin/true", "FILE_CHECK": " track_file tf",
                 "BFD_CHECK": " name b"}
# keywords a section only reads in some set-ups (a second config for the section)
ALSO: dict[str, str] = {
    "vrrp_instance": INSTANCE.replace(" virtual_ipaddress {\n  192.0.2.1/24\n }\n",
                                      " strict_mode\n"),
    "virtual_server": VS.replace("192.0.2.100 80", "fwmark 1").replace("%s", ""),
}
TEMPLATES: dict[str, str] = {
    "root": "@@\n",
    "global_defs": "global_defs {\n@@\n}\n",
    "vrrp_script": "vrrp_script chk {\n script /bin/true\n@@\n}\n",
    "track_file": "track_file tf {\n file /tmp/pyk-tf\n@@\n}\n",
    "vrrp_track_process": "vrrp_track_process tp {\n process sh\n@@\n}\n",
    "vrrp_sync_group": "vrrp_sync_group G {\n group {\n  VI\n  VJ\n }\n@@\n}\n"
                       + INSTANCE.replace("@@", "")
                       + INSTANCE.replace("VI", "VJ").replace("router_id 1", "router_id 2")
                       .replace("@@", ""),
    "vrrp_instance": INSTANCE,
    "authentication": INSTANCE.replace("@@", " authentication {\n@@\n }"),
    "SSL": "SSL {\n@@\n}\n",
    "virtual_server": VS.replace("%s", ""),
    "real_server": VS.replace("@@", "").replace("%s", "@@"),
    "url": CHECKER.replace("%s", "HTTP_GET").replace("@@", "   url {\n    path /\n@@\n   }"),
}
SAMPLE = {"int": None, "timer": None, "bool": "true", "flag": "", "str": "x", "words": "x",
          "ip": "192.0.2.9", "script": "/bin/true", "obsolete": ""}


def template(section: str) -> str | None:
    if section in TEMPLATES:
        return TEMPLATES[section]
    if section.endswith(("_CHECK", "_GET")):
        need = CHECKER_NEEDS.get(section, "")
        return ("track_file tf {\n file /tmp/pyk-tf\n}\n"
                + CHECKER.replace("%s", section).replace("@@", need + "\n@@"))
    return None  # checker_conn / checker_generic: only included into the checker sections


def line(kw: Kw) -> str:
    if kw.type in ("block", "skipblock"):
        return f"{kw.name} x {{\n}}" if kw.min_args else f"{kw.name} {{\n}}"
    if kw.type == "vblock":
        head = f"{kw.name} x" if kw.min_args else kw.name
        return f"{head} {{\n 192.0.2.9\n}}"
    if kw.type == "enum":
        return f"{kw.name} {kw.choices[0]}"
    if kw.type in ("int", "timer"):
        lo = 1 if kw.lo is None else kw.lo
        v = max(lo, min(1, kw.hi if kw.hi is not None else 1))
        return f"{kw.name} {int(v) if kw.type == 'int' else v:g}"
    return f"{kw.name} {SAMPLE[kw.type]}".rstrip()


def acted_on_by_table(kw: Kw, section: str = "") -> bool:
    """The table itself says what happens: warned once (noop), a legacy warning, or the
    keyword sits in a block that is itself noop (SSL, BFD_CHECK: said once for the block)."""
    return bool(kw.noop or kw.legacy) or section in noop_sections()


def noop_sections() -> set[str]:
    return {k.arg for kws in table().values() for k in kws.values()
            if k.type == "block" and k.noop and k.arg}


class Seen(dict[str, Any]):
    """A section's `locs` that records which keywords the completion asks about (`"x" in
    sec.locs`: was it written?); iteration is not asking."""

    log: set[tuple[str, str]]
    section: str

    def get(self, key: str, default: Any = None) -> Any:
        self.log.add((self.section, key))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.log.add((self.section, key))
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.log.add((self.section, str(key)))
        return super().__contains__(key)


def seen(d: dict[str, Any], log: set[tuple[str, str]], section: str) -> Seen:
    out = Seen(d)
    out.log, out.section = log, section
    return out


def recording(cls: type[Section], log: set[tuple[str, str]]) -> type[Section]:
    """A subclass of a section class whose instances record each keyword attribute read.
    Its SECTION is empty so that it does not take the section's place in the registry."""
    section, fields = cls.SECTION, cls.FIELDS

    def __getattribute__(self: Section, name: str) -> Any:
        if name in fields:
            log.add((section, name))
        return object.__getattribute__(self, name)

    return type(f"Recording{cls.__name__}", (cls,), {
        "SECTION": "", "__getattribute__": __getattribute__})


def instrument(sec: Section, log: set[tuple[str, str]]) -> None:
    cls = type(sec)
    kids = [k for n in cls.LISTS for k in getattr(sec, n) if isinstance(k, Section)]
    sec.locs = seen(sec.locs, log, cls.SECTION)
    sec.__class__ = recording(cls, log)
    for k in kids:
        instrument(k, log)


def read_by_completion(tmp_path: Path, text: str) -> set[tuple[str, str]]:
    p = tmp_path / "k.conf"
    p.write_text(text)
    diag = Diagnostics()
    nodes = parse_lines(Reader(diag, ReaderOptions()).read(str(p)), diag)
    root = RootSection((), Loc(str(p), 0), 0)
    Walker(diag).walk(nodes, root)
    log: set[tuple[str, str]] = set()
    instrument(root, log)
    root.post(Completion(diag, HostInfo(frozenset({"eth0", "eth1"})), check_interfaces=True),
              [str(p)])
    return log


def keywords() -> Iterator[tuple[str, Kw]]:
    for section, kws in table().items():
        if template(section) is None:
            continue
        for kw in kws.values():
            yield section, kw


def test_every_keyword_is_read_by_its_section_or_says_it_is_not(tmp_path: Path) -> None:
    silent = []
    for section, kw in keywords():
        if acted_on_by_table(kw, section):
            continue
        tpl = template(section)
        assert tpl is not None
        log = read_by_completion(tmp_path, tpl.replace("@@", line(kw)))
        if section in ALSO:
            log |= read_by_completion(tmp_path, ALSO[section].replace("@@", line(kw)))
        if (section, kw.attr) not in log:
            silent.append(f"{section}.{kw.name}")
    assert silent == [], ("parsed, checked and dropped without a word: implement them or mark "
                          f"them noop=\"why\" in keywords.txt: {silent}")


# model dataclass per section: a keyword stored under its own name there must be used
MODEL_OF: dict[str, type] = {
    "global_defs": model.GlobalDefs, "vrrp_script": model.VrrpScript,
    "track_file": model.TrackFile, "vrrp_track_process": model.TrackProcess,
    "vrrp_sync_group": model.VrrpSyncGroup, "vrrp_instance": model.VrrpInstance,
    "virtual_server": model.VirtualServer, "real_server": model.RealServer,
    "url": model.Url,
}
# the runtime reads these through another name or as a whole; each with where it is used
USED_OTHERWISE: dict[str, str] = {
    "vrrp_instance.strict_mode": "its post() applies it: no_accept default and the strict checks",
    "vrrp_instance.accept": "what the runtime always does: it manages no firewall rules",
    "global_defs.router_id": "shown in the data dump, as keepalived does (else SMTP alerts)",
}


def runtime_source() -> str:
    out = []
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG).as_posix()
        # a section reading a global as an instance default counts; the model's own
        # definitions and the dumps (they only mirror the config) do not
        if rel.startswith("config/model/") or rel in ("config/dump.py", "daemon/dumps.py"):
            continue
        out.append(p.read_text(encoding="utf-8"))
    return "\n".join(out)


def test_every_model_field_a_keyword_fills_is_used_by_the_runtime() -> None:
    src = runtime_source()
    unused = []
    for section, kw in keywords():
        cls = MODEL_OF.get(section) or (model.Checker if section.endswith(("_CHECK", "_GET"))
                                        else None)
        if cls is None or acted_on_by_table(kw, section) or kw.type in ("block", "vblock"):
            continue
        names = {f.name for f in fields(cls)}
        if kw.field not in names or f"{section}.{kw.field}" in USED_OTHERWISE:
            continue
        if not re.search(rf"\.{re.escape(kw.field)}\b", src):
            unused.append(f"{section}.{kw.name}")
    assert unused == [], ("stored in the model but never used by the runtime: implement them "
                          f"or mark them noop=\"why\" in keywords.txt: {sorted(set(unused))}")


@pytest.mark.parametrize("section,kw", [(s, k) for s, k in keywords() if k.noop][:400],
                         ids=lambda x: x if isinstance(x, str) else x.name)
def test_noop_keyword_says_so_once(tmp_path: Path, section: str, kw: Kw) -> None:
    tpl = template(section)
    assert tpl is not None
    text = tpl.replace("@@", line(kw) + "\n" + line(kw))
    res = load_text(tmp_path, text)
    said = [d for d in res.diagnostics.warnings if f"'{kw.name}'" in d.message
            and "not acted on" in d.message]
    assert len(said) == 1, [d.message for d in res.diagnostics.items]
