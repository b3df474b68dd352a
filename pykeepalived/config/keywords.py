"""The keyword table and the walker that turns the block tree into raw, typed values.

The table (keywords.txt) says for every keyword its section, type, range, tier, alias and
deprecation, as keepalived's `install_keyword` tree does; the grammar stays keyword-free.
The walker checks arity, type and range with keepalived's messages and stores each value in
the typed attribute its section declares (config/sections); each section's post() completes
them into the frozen model.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pykeepalived.config.diagnostics import Diagnostics, Loc, Rc
from pykeepalived.config.parser import Node
from pykeepalived.config.sections import REGISTRY, Entry, Section

TRUE_WORDS = frozenset({"true", "on", "yes"})
# types that mean something without a value; any other needs one (or a `bare=` default)
VALUELESS_OK = frozenset({"flag", "bool", "words", "script", "block", "vblock", "skipblock",
                          "obsolete"})
FALSE_WORDS = frozenset({"false", "off", "no"})


@dataclass(frozen=True, slots=True)
class Kw:
    name: str
    type: str  # int timer bool flag str words ip enum script block vblock skipblock obsolete
    arg: str | None = None  # block section / vblock entry kind / enum choices
    lo: float | None = None
    hi: float | None = None
    tier: int = 3
    field: str = ""  # where the value is stored (alias target or own name)
    attr: str = ""  # that field as a Python attribute of its section (flag-1 -> flag_1)
    alias_of: str | None = None
    legacy: str | None = None
    noop: str | None = None
    min_args: int = 1
    ext: str | None = None  # a pykeepalived extension: what it does
    bare: str | None = None  # the value keepalived uses when an optional value is left out
    empty: str | None = None  # keepalived's config error (rc 5) when the value is left out
    # a value keyword with nothing to say before its value is read (no legacy/ext/noop
    # warning, no block, no bare/empty default): the walker's fast path for plain lines
    plain: bool = False

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.arg.split("|")) if self.type == "enum" and self.arg else ()


def _parse_table(text: str) -> dict[str, dict[str, Kw]]:
    sections: dict[str, dict[str, Kw]] = {}
    cur: dict[str, Kw] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            cur = sections.setdefault(line.strip("[]"), {})
            continue
        assert cur is not None, "keyword before a [section]"
        if line.startswith("+"):
            cur.update(sections[line[1:]])
            continue
        # NAME TYPE [RANGE] key=value... ; values may be "quoted with spaces"
        head, _, rest = line.partition(" ")
        parts = _split_kv(rest.strip())
        typ = parts.pop(0)
        arg = None
        if ":" in typ:
            typ, arg = typ.split(":", 1)
        lo = hi = None
        if parts and ".." in parts[0] and "=" not in parts[0]:
            a, b = parts.pop(0).split("..")
            lo, hi = float(a), float(b)
        kv = dict(p.partition("=")[::2] if "=" in p else (p, "1") for p in parts)
        is_flag = typ in ("flag", "bool", "skipblock", "obsolete", "block", "vblock")
        plain = typ in ("int", "timer", "str") and not (
            {"legacy", "ext", "noop", "bare", "empty"} & kv.keys()) and kv.get("min", "1") == "1"
        cur[head] = Kw(
            name=head,
            type=typ,
            arg=arg,
            lo=lo,
            hi=hi,
            tier=int(kv.get("tier", "3")),
            field=kv.get("alias", head),
            attr=kv.get("alias", head).replace("-", "_"),
            alias_of=kv.get("alias"),
            legacy=kv.get("legacy"),
            noop=kv.get("noop"),
            min_args=int(kv.get("min", "0" if is_flag else "1")),
            ext=kv.get("ext"),
            bare=kv.get("bare"),
            empty=kv.get("empty"),
            plain=plain,
        )
    return sections


def _split_kv(s: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    q = False
    for c in s:
        if c == '"':
            q = not q
        elif c.isspace() and not q:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        out.append("".join(cur))
    return out


@lru_cache(maxsize=1)
def table() -> dict[str, dict[str, Kw]]:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keywords.txt")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return _parse_table(text)


BLOCK_TYPES = frozenset({"block", "vblock", "skipblock"})
UNEXPECTED_HINT = ("keepalived ignores this '{': the lines up to its '}' are read as part of "
                   "the enclosing block, and that '}' closes the enclosing block")


@lru_cache(maxsize=1)
def sections_by_rule() -> dict[str, str]:
    """grammar rule name -> keywords.txt section (Lark rule names are lower case)."""
    return {sec.lower(): sec for sec in table()}


@dataclass
class Walker:
    """Walks the classified block tree into raw values per section.

    The grammar has already placed every block: a block rule named after a section opens
    that section; a line whose `{` keepalived ignores (an unknown keyword, a keyword that
    takes a value, a block out of place) arrives as an "unexpected" node whose body follows
    it at the same level, and a `}` that such a body left over arrives as "stray" at the top
    level. Here each gets keepalived's messages, line for line.
    """

    diag: Diagnostics
    warned_noop: set[str] = field(default_factory=set)

    def walk(self, nodes: list[Node] | tuple[Node, ...], ctx: Section) -> Section:
        self._walk(nodes, ctx)
        return ctx

    def _walk(self, nodes: list[Node] | tuple[Node, ...], ctx: Section) -> None:
        kws = table()[ctx.SECTION]
        for it in nodes:
            rule = it.rule
            if rule == "stray":
                self.diag.error("Unknown keyword '}'", it.loc,
                                hint="this '}' closes a block an unexpected '{' did not open")
                continue
            kw = kws.get(it.keyword) if it.keyword != "{" else None
            if rule == "unexpected":
                if kw is None and it.keyword != "{":
                    self._unknown(it, ctx.SECTION, kws)
                elif kw is not None:
                    self._one(it, kw, ctx)
                self.diag.error("Unexpected '{' - ignoring", it.loc, hint=UNEXPECTED_HINT)
                continue
            if kw is None:
                self._unknown(it, ctx.SECTION, kws)
                continue
            if kw.plain and it.children is None and len(it.words) > 1:
                # most lines of a big config: `weight 1`, `delay_loop 6`, `interface eth0`
                value = it.words[1] if kw.type == "str" else self.number(
                    kw, it.words[1], it.loc, ctx, integer=kw.type == "int")
                if value is not None:
                    ctx.set(kw.attr, value, it.loc)
                continue
            self._one(it, kw, ctx)

    def _unknown(self, node: Node, section: str, kws: dict[str, Kw]) -> None:
        word = node.keyword
        close = difflib.get_close_matches(word, kws.keys(), n=1, cutoff=0.8)
        hint = f"did you mean '{close[0]}'?" if close else None
        if word.endswith("\\"):
            hint = "keepalived has no line continuation outside $NAME= definitions: join the lines"
        other = [s for s, t in table().items() if word in t and not s.startswith("checker_")]
        if not hint and other:
            hint = f"'{word}' belongs in {' or '.join(sorted(set(other))[:3])}, not {section}"
        self.diag.error(f"Unknown keyword '{word}'", node.loc, hint=hint)

    def _one(self, node: Node, kw: Kw, ctx: Section) -> None:
        args = node.args
        loc = node.loc
        if kw.legacy:
            self.diag.warning(f"'{kw.name}' is a legacy keyword: {kw.legacy}", loc)
        if kw.ext:
            self.diag.warning(f"'{kw.name}' is a pykeepalived extension ({kw.ext}): keepalived "
                              "rejects this line (Unknown keyword)", loc,
                              hint="keep it out of configs that keepalived must also read")
        if kw.noop and kw.name not in self.warned_noop:
            self.warned_noop.add(kw.name)
            self.diag.warning(f"'{kw.name}' is recognised but not acted on: {kw.noop}", loc)
        if kw.type in BLOCK_TYPES and not node.is_block:
            if kw.type == "skipblock":
                return None
            self.diag.error(f"'{kw.name}' needs a block: missing '{{'", loc,
                            hint=f"write '{kw.name} {' '.join(args)} {{ ... }}'")
            return None
        if not args and kw.bare is not None:
            args = (kw.bare,)
        if not args and kw.empty is not None:
            self.diag.error(kw.empty, loc, hint=f"give '{kw.name}' its value or remove the line")
            return None
        if len(args) < max(kw.min_args, 0 if kw.type in VALUELESS_OK else 1):
            # keepalived exit()s here, even under -t: KEEPALIVED_EXIT_CONFIG (2)
            self.diag.error(
                f"Configuration line starting `{kw.name}` is missing a parameter after keyword "
                f"`{kw.name}` at word position {len(args) + 2}",
                loc,
                Rc.FATAL_PARSE,
            )
            return None
        t = kw.type
        attr = kw.attr
        known = attr in ctx.FIELDS  # else nobody reads it: checked, then dropped
        if t == "block":
            child = REGISTRY[sections_by_rule()[node.rule]](args, loc, node.last_line)
            self._walk(node.children or (), child)
            if known:
                ctx.add(attr, child)
            return None
        if t == "vblock":
            ctx.locs.setdefault(attr, Loc(loc.file, node.last_line))  # its closing brace
            lst: list[object] = ctx.own(attr) if known else []
            if not kw.min_args and args:
                self.diag.error(f"Block {kw.name} has extra parameters {args[0]} ...", loc,
                                hint=f"'{kw.name}' takes no name: the words are ignored")
            if kw.min_args:  # a named value block (virtual_server_group NAME { ... })
                holder = REGISTRY[kw.arg or ""](args, loc, node.last_line)
                if known:
                    ctx.add(attr, holder)
                lst = holder.own("lines")
            for ch in node.children or ():
                if ch.is_block:
                    self.diag.error(f"Unexpected block inside '{kw.name}' - ignoring", ch.loc,
                                    end_line=ch.last_line)
                    continue
                if ch.line.words:
                    lst.append(Entry(ch.line.words, ch.loc))
            return None
        if t in ("skipblock", "obsolete"):
            ctx.set(attr, True, loc)
            return None
        if t == "script" and node.line.text:
            # keepalived re-reads a script line with '...' quotes and backslash escapes
            from pykeepalived.config.scripts import split_quoted_escaped

            args = split_quoted_escaped(node.line.text)[1:] or args
        value = self.convert(kw, args, loc, ctx)
        if value is not None:
            ctx.set(attr, value, loc)
        return None

    def convert(self, kw: Kw, args: tuple[str, ...], loc: Loc, ctx: Section) -> Any:
        t = kw.type
        if t == "flag":
            return True
        if t == "bool":
            if not args:
                return True
            a = args[0]
            if a in TRUE_WORDS:
                return True
            if a in FALSE_WORDS:
                return False
            self.diag.error(f"'{kw.name}' takes true/false, on/off or yes/no, not '{a}'", loc)
            return None
        if t in ("words", "script"):
            return args
        if t == "str":
            return args[0]
        if t == "enum":
            if args[0] in kw.choices or args[0] == kw.bare:
                return args[0]
            self.diag.error(f"'{kw.name}' cannot be '{args[0]}'", loc,
                            hint=f"one of {', '.join(kw.choices)} (case matters)")
            return None
        if t == "ip":
            try:
                return ipaddress.ip_address(args[0])
            except ValueError:
                self.diag.error(f"'{kw.name}': invalid IP address '{args[0]}'", loc)
                return None
        if t in ("int", "timer"):
            return self.number(kw, args[0], loc, ctx, integer=(t == "int"))
        raise AssertionError(f"keyword type {t!r} in table")

    def number(self, kw: Kw, text: str, loc: Loc, ctx: Section, integer: bool) -> Any:
        try:
            v: float = int(text, 10) if integer else float(text)
        except ValueError:
            self.diag.error(f"invalid number '{text}' for '{kw.name}'", loc,
                            hint=self._range_hint(kw, integer))
            return None
        if not integer and (math.isnan(v) or math.isinf(v)):
            self.diag.error(f"invalid number '{text}' for '{kw.name}'", loc)
            return None
        if (kw.lo is not None and v < kw.lo) or (kw.hi is not None and v > kw.hi):
            self.diag.error(f"number '{text}' outside range {self._range(kw, integer)} for "
                            f"'{kw.name}'", loc, hint=self._default_hint(kw, ctx))
            return None
        return v

    @staticmethod
    def _range(kw: Kw, integer: bool) -> str:
        def f(x: float | None) -> str:
            if x is None:
                return "..."
            return str(int(x)) if integer or x == int(x) else f"{x:g}"

        return f"[{f(kw.lo)}, {f(kw.hi)}]"

    def _range_hint(self, kw: Kw, integer: bool) -> str:
        kind = "a whole number" if integer else "a number of seconds"
        return f"'{kw.name}' takes {kind} in {self._range(kw, integer)}"

    @staticmethod
    def _default_hint(kw: Kw, ctx: Section) -> str | None:
        return "the value is ignored and the default applies"


def all_keywords() -> dict[str, set[str]]:
    """keyword -> sections it is valid in (for tests and `did you mean`)."""
    out: dict[str, set[str]] = {}
    for sec, kws in table().items():
        for k in kws:
            out.setdefault(k, set()).add(sec)
    return out
