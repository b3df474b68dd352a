"""The LALR table Lark builds from grammar/keepalived.lark, shipped beside it as plain data.

Lark compiles the grammar (its rules, its LALR(1) automaton); parser.py runs that automaton
over the block edges. The table is written once into grammar/keepalived.table.json with the
grammar text it came from (`python -c 'from pykeepalived.config.grammar_table import
write_table; write_table()'`), so `-t` neither imports lark (~18 ms) nor builds or unpickles
a parser (~11 ms / ~3 ms), and there is no pickle to trust (a Lark cache is one): the file is
JSON, read like the grammar, and nothing is written at run time (PYTHONDONTWRITEBYTECODE or
a read-only /usr change nothing). When the shipped table was made from another grammar text
(an edited grammar, not regenerated), Lark builds the table at run time (~30 ms) and
tests/config/test_grammar_table.py fails until the file is regenerated.

Encoding: `states[s][terminal or rule name]` is the next state (>= 0: shift or goto) or
`-1 - r` (reduce by rules[r] = (rule name, number of symbols)).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

TABLE_NAME = "keepalived.table.json"


class Table:
    """One grammar's automaton: what the parser driver and the line classifier read. (A
    plain class: one is made per process, and a dataclass costs `-t` its generated methods
    at import.)"""

    __slots__ = ("close", "end", "rules", "start", "states", "words")

    def __init__(self, states: tuple[dict[str, int], ...], rules: tuple[tuple[str, int], ...],
                 start: int, end: int, words: dict[str, str], close: str) -> None:
        self.states = states
        self.rules = rules
        self.start = start
        self.end = end
        self.words = words  # block keyword -> its terminal ("vrrp_instance" -> VRRP_INSTANCE)
        self.close = close  # the terminal of "}"


def grammar_dir() -> str:
    """The grammar shipped inside the wheel (package pykeepalived.grammar), else the checkout's.

    Plain file paths, not importlib.resources: that import alone costs `-t` ~4 ms.
    """
    try:
        import pykeepalived.grammar as g

        return os.path.dirname(g.__file__ or "")
    except ImportError:  # running from a source tree that was never installed
        here = os.path.dirname(os.path.abspath(__file__))
        return os.path.join(here, "..", "..", "grammar")


def grammar_path() -> str:
    return os.path.join(grammar_dir(), "keepalived.lark")


def grammar_text() -> str:
    with open(grammar_path(), encoding="utf-8") as fh:
        return fh.read()


@lru_cache(maxsize=1)
def table() -> Table:
    """The shipped table when it was made from this grammar text, else Lark's, built now."""
    text = grammar_text()
    data = _read_shipped()
    if data is not None and data.get("grammar") == text:
        try:
            return _from_data(data)
        except (KeyError, TypeError, ValueError):  # a damaged file: as if it were missing
            pass
    return _from_data(table_data(text))


def _read_shipped() -> dict[str, Any] | None:
    try:
        with open(os.path.join(grammar_dir(), TABLE_NAME), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _from_data(data: dict[str, Any]) -> Table:
    """The Table of the data; TypeError/KeyError/ValueError when it has not a table's shape
    (checked here, once, not as an AttributeError in the middle of a parse)."""
    tab = Table(
        states=tuple(data["states"]),
        rules=tuple((name, size) for name, size in data["rules"]),
        start=data["start"],
        end=data["end"],
        words=data["words"],
        close=data["close"],
    )
    if not (all(isinstance(s, dict) for s in tab.states) and isinstance(tab.words, dict)
            and all(isinstance(n, str) and isinstance(k, int) for n, k in tab.rules)
            and 0 <= tab.start < len(tab.states) and 0 <= tab.end < len(tab.states)
            and isinstance(tab.close, str)):
        raise ValueError("not a grammar table")
    return tab


def lark_parser(text: str) -> Any:
    """Lark's LALR parser for the grammar text (imports lark). Never with a cache: a Lark
    cache is a pickle, and the table this module ships is all -t needs."""
    from lark import Lark
    from lark.lexer import Lexer

    class NoLexer(Lexer):
        """Lark needs a lexer to build a parser; the table is all we take from it."""

        def __init__(self, lexer_conf: Any) -> None:
            pass

        def lex(self, lexer_state: Any, parser_state: Any) -> Any:
            raise NotImplementedError("the table is run by pykeepalived.config.parser")

    return Lark(text, parser="lalr", lexer=NoLexer, keep_all_tokens=True)


def table_data(text: str) -> dict[str, Any]:
    """Lark's automaton for the grammar text, as the JSON-able data of a Table.

    Lark numbers states and rules in an order that changes between runs (set iteration):
    they are renumbered here, states breadth-first from the start state and rules by name
    and symbols, so the same grammar always gives the same file."""
    from lark.parsers.lalr_analysis import Shift

    lark = lark_parser(text)
    pt = lark.parser.parser._parse_table
    start, end = pt.start_states["start"], pt.end_states["start"]
    order = [start]
    number = {start: 0}
    for s in order:  # breadth-first; the list grows while it is walked
        for sym in sorted(pt.states[s]):
            action, arg = pt.states[s][sym]
            if action is Shift and arg not in number:
                number[arg] = len(order)
                order.append(arg)
    if end not in number:
        number[end] = len(order)
        order.append(end)
    all_rules = {arg for acts in pt.states.values() for action, arg in acts.values()
                 if action is not Shift}
    rules = sorted(all_rules, key=lambda r: (r.origin.name, [x.name for x in r.expansion]))
    rule_no = {r: i for i, r in enumerate(rules)}
    states: list[dict[str, int]] = []
    for s in order:
        row: dict[str, int] = {}
        for sym, (action, arg) in sorted(pt.states.get(s, {}).items()):
            row[sym] = number[arg] if action is Shift else -1 - rule_no[arg]
        states.append(row)
    words = {t.pattern.value: t.name for t in lark.terminals if t.pattern.type == "str"}
    return {
        "grammar": text,
        "states": states,
        "rules": [[r.origin.name, len(r.expansion)] for r in rules],
        "start": 0,
        "end": number[end],
        "words": words,
        "close": words["}"],
    }


def write_table(path: str | None = None) -> str:
    """Regenerate grammar/keepalived.table.json from the grammar (a build step)."""
    path = path or os.path.join(grammar_dir(), TABLE_NAME)
    data = table_data(grammar_text())
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"), sort_keys=True)
        fh.write("\n")
    return path


if __name__ == "__main__":
    print(write_table())
