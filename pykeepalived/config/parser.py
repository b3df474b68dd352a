"""Block structure: logical lines -> a tree of statements and blocks, via Lark LALR.

Brace balance is repaired before Lark sees the stream (an extra `}` is reported and
dropped, a missing `}` at the end is reported and supplied, as keepalived tolerates both), so
the grammar never fails on user input and every problem keeps its file:line.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache, partial
from typing import Any, NamedTuple

from pykeepalived.config.diagnostics import Diagnostics, Loc
from pykeepalived.config.reader import LogicalLine

MAX_DEPTH = 32


class Node(NamedTuple):
    """A statement (no children) or a block (children, possibly empty); one per line.

    `rule` is the grammar rule that classified the line: a section or value-block rule name
    for a block, "" for a statement, "unexpected" for a line whose `{` keepalived ignores
    (its body follows it as siblings), "stray" for a `}` read at the top level."""

    line: LogicalLine
    children: tuple[Node, ...] | None = None
    end: Loc | None = None  # the closing brace, for blocks
    rule: str = ""

    @property
    def is_block(self) -> bool:
        return self.children is not None

    @property
    def keyword(self) -> str:
        return self.line.keyword

    @property
    def args(self) -> tuple[str, ...]:
        return self.line.words[1:]

    @property
    def loc(self) -> Loc:
        return self.line.loc

    @property
    def last_line(self) -> int:
        return self.end.line if self.end else self.loc.line


def grammar_path() -> str:
    """The grammar shipped inside the wheel (package pykeepalived.grammar), else the checkout's.

    Plain file paths, not importlib.resources: that import alone costs `-t` ~4 ms.
    """
    try:
        import pykeepalived.grammar as g

        return os.path.join(os.path.dirname(g.__file__ or ""), "keepalived.lark")
    except ImportError:  # running from a source tree that was never installed
        here = os.path.dirname(os.path.abspath(__file__))
        return os.path.join(here, "..", "..", "grammar", "keepalived.lark")


def grammar_text() -> str:
    with open(grammar_path(), encoding="utf-8") as fh:
        return fh.read()


def rule_names(text: str) -> list[str]:
    """The grammar's rule names (for the transformer's callbacks and for tests)."""
    return [m.group(1) for m in re.finditer(r"^([a-z]\w*):", text, re.M)]


@lru_cache(maxsize=1)
def _lark() -> Any:
    from lark import Lark, Transformer
    from lark import __version__ as lark_version
    from lark.lexer import Token

    from pykeepalived.config.grammar_cache import cache_path
    from pykeepalived.config.line_lexer import LineLexer

    class Build(Transformer[Token, Any]):
        """Lark's inline callbacks: one Node per block, a list of Nodes per statement run."""

        def __init__(self) -> None:
            super().__init__()
            self.lines: list[LogicalLine] = []

        def stmts(self, items: list[Token]) -> list[Node]:
            t = items[0]
            return [Node(ln) for ln in self.lines[t.column : t.end_column]]  # type: ignore[misc]

        def _edge(self, t: Token, rule: str) -> list[Node]:
            """A line classified on its own, then the statements that follow it."""
            return [Node(self.lines[t.line], rule=rule),  # type: ignore[index]
                    *(Node(ln) for ln in self.lines[t.column : t.end_column])]  # type: ignore[misc]

        def unexpected(self, items: list[Token]) -> list[Node]:
            return self._edge(items[0], "unexpected")

        def stray(self, items: list[Token]) -> list[Node]:
            return self._edge(items[0], "stray")

        def block(self, rule: str, items: list[Any]) -> Node | list[Node]:
            head, close = items[0], items[-1]
            lines = self.lines
            kids = [Node(ln) for ln in lines[head.column : head.end_column]]
            for it in items[1:-1]:
                if isinstance(it, list):
                    kids.extend(it)
                else:
                    kids.append(it)
            node = Node(lines[head.line], tuple(kids), lines[close.line].loc, rule)
            if close.end_column == close.column:
                return node
            return [node, *(Node(ln) for ln in lines[close.column : close.end_column])]

        def start(self, items: list[Any]) -> list[Node]:
            out: list[Node] = []
            for it in items:
                if isinstance(it, list):
                    out.extend(it)
                else:
                    out.append(it)
            return out

    text = grammar_text()
    build = Build()
    for name in rule_names(text):  # every block rule builds a Node named after it
        if not hasattr(build, name):
            setattr(build, name, partial(build.block, name))
    # never cache=True (a predictable /tmp pickle): only a file beside our own bytecode
    cache = cache_path(os.path.dirname(os.path.abspath(__file__)), text, lark_version)
    try:
        parser = Lark(text, parser="lalr", lexer=LineLexer, transformer=build,
                      keep_all_tokens=True, cache=cache or False)
    except Exception:  # an unusable cache (Lark reads a bad one itself) must not stop -t
        if not cache:
            raise
        parser = Lark(text, parser="lalr", lexer=LineLexer, transformer=build,
                      keep_all_tokens=True)
    return parser, build, Token


def balance(lines: list[LogicalLine], diag: Diagnostics) -> list[tuple[str, int]]:
    """Attach `{` to its keyword line and repair braces; returns (token type, index) pairs."""
    toks: list[tuple[str, int]] = []
    depth = 0
    for i, ln in enumerate(lines):
        w = ln.words
        if w == ("{",):
            if toks and toks[-1][0] == "STMT":
                toks[-1] = ("OPEN", toks[-1][1])
            else:
                toks.append(("OPEN", i))  # anonymous block; the model reports it
            depth += 1
        elif w == ("}",):
            if depth == 0:
                diag.error("Extra '}' found", ln.loc, hint="remove it or add the missing '{'")
                # read at the top level, keepalived also takes it for a keyword
                diag.error("Unknown keyword '}'", ln.loc)
                continue
            depth -= 1
            toks.append(("CLOSE", i))
        else:
            toks.append(("STMT", i))
        if depth > MAX_DEPTH:
            diag.error(f"blocks nested deeper than {MAX_DEPTH} - ignoring the rest", ln.loc)
            toks.append(("CLOSE", i))
            depth -= 1
            break
    if depth:
        last = lines[-1].loc if lines else None
        diag.error(f"There are {depth} missing '}}'s or extra '{{'s", last,
                   hint="every block needs its closing '}'")
        toks.extend(("CLOSE", toks[-1][1]) for _ in range(depth))
    return toks


def parse_lines(lines: list[LogicalLine], diag: Diagnostics) -> list[Node]:
    """Logical lines -> top-level nodes, each block classified by the grammar's rules.
    Never raises on user input."""
    toks = balance(lines, diag)
    if not toks:
        return []
    from pykeepalived.config.line_lexer import CLOSE, OPEN, STMTS

    parser, build, _ = _lark()
    # anonymous blocks (a `{` with no keyword line) point at the brace line itself
    build.lines = lines
    # one token per block edge: Lark sees structure, not lines. Each edge carries the run of
    # statement lines that follows it (lines[first:end]); a STMTS token only for a run that
    # follows no edge (the top of the file)
    stream: list[tuple[int, int, int, int, str]] = []
    n = len(toks)
    k = 0
    while k < n:
        t, i = toks[k]
        if t == "STMT":  # a run no edge is followed by (the top of the file, a dropped '}')
            j = k
            while j + 1 < n and toks[j + 1][0] == "STMT" and toks[j + 1][1] == toks[j][1] + 1:
                j += 1
            stream.append((STMTS, i, i, toks[j][1] + 1, ""))
            k = j + 1
            continue
        j = k + 1
        if j < n and toks[j][0] == "STMT":
            while j + 1 < n and toks[j + 1][0] == "STMT" and toks[j + 1][1] == toks[j][1] + 1:
                j += 1
            first, end = toks[k + 1][1], toks[j][1] + 1
            j += 1
        else:
            first = end = 0
        if t == "OPEN":
            stream.append((OPEN, i, first, end, lines[i].keyword))
        else:
            stream.append((CLOSE, i, first, end, ""))
        k = j
    try:
        return parser.parse(stream)  # type: ignore[no-any-return]
    finally:
        build.lines = []  # the cached transformer must not keep every line of the last file
