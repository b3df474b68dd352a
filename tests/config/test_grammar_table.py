"""The shipped LALR table is Lark's, for the grammar as it is; the driver that runs it builds
the tree Lark's own parser builds, and types every block edge as Lark's parser state would."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.config import grammar_table
from pykeepalived.config.diagnostics import Diagnostics
from pykeepalived.config.line_lexer import OPEN
from pykeepalived.config.parser import Node, edges, run
from pykeepalived.config.reader import Reader, ReaderOptions


def test_shipped_table_is_the_grammars() -> None:
    """Else: `python -c 'from pykeepalived.config.grammar_table import write_table;
    write_table()'` after editing grammar/keepalived.lark (-t builds it with Lark meanwhile).
    The file is Lark's automaton renumbered canonically, so it compares equal as data."""
    path = Path(grammar_table.grammar_dir()) / grammar_table.TABLE_NAME
    shipped = json.loads(path.read_text(encoding="utf-8"))
    fresh = json.loads(json.dumps(grammar_table.table_data(grammar_table.grammar_text())))
    assert shipped["grammar"] == fresh["grammar"], "grammar changed: regenerate the table"
    assert shipped == fresh


def _shape(nodes: Any, depth: int = 0) -> list[tuple[str, int, int]]:
    """(rule, line, depth) of every node in order, statements ("") included."""
    out: list[tuple[str, int, int]] = []
    for n in nodes:
        out.append((n.rule, n.loc.line, depth))
        out.extend(_shape(n.children or (), depth + 1))
    return out


def _lark_shape(children: Any, lines: list[Any], depth: int = 0) -> list[tuple[str, int, int]]:
    """The same read off Lark's tree: a token's column..end_column are the statement lines
    that follow it (inside the block after its head, after the block after its `}`)."""
    def stmts(tok: Any, d: int) -> list[tuple[str, int, int]]:
        return [("", lines[j].loc.line, d) for j in range(tok.column, tok.end_column)]

    out: list[tuple[str, int, int]] = []
    for ch in children:
        first = ch.children[0]
        if ch.data == "stmts":
            out += stmts(first, depth)
        elif ch.data in ("unexpected", "stray"):
            out += [(str(ch.data), lines[first.line].loc.line, depth), *stmts(first, depth)]
        else:
            close = ch.children[-1]
            out += [(str(ch.data), lines[first.line].loc.line, depth), *stmts(first, depth + 1),
                    *_lark_shape(ch.children[1:-1], lines, depth + 1), *stmts(close, depth)]
    return out


WORDS = ["global_defs", "vrrp_instance", "virtual_server", "real_server", "TCP_CHECK",
         "HTTP_GET", "url", "authentication", "virtual_ipaddress", "track_script",
         "vrrp_sync_group", "group", "SMTP_CHECK", "host", "notification_email", "unknown_x",
         "vrrp_script", "static_routes", "virtual_server_group", "garp_group", "interfaces"]


def _random_config(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 40)):
        r = rng.random()
        if r < 0.45:
            out.append(f"{rng.choice(WORDS)} x {{")
        elif r < 0.8:
            out.append("}")
        else:
            out.append("weight 1")
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(4))
def test_driver_matches_larks_parser(seed: int, tmp_path: Path) -> None:
    """Random block/brace sequences: each edge's terminal is one Lark's parser accepts in that
    state (ANY/UNEXPECTED/STRAY exactly when the keyword's own terminal is not), and Lark's
    tree has the same classified lines as ours."""
    tab = grammar_table.table()
    lark = grammar_table.lark_parser(grammar_table.grammar_text())
    from lark import Token

    rng = random.Random(seed)
    for _ in range(40):
        f = tmp_path / "k.conf"
        f.write_text(_random_config(rng))
        diag = Diagnostics()
        lines = Reader(diag, ReaderOptions(config_id="x")).read(str(f))
        stream = edges(lines, diag)
        terms: list[str] = []
        ours = run(tab, stream, lines, terms) if stream else []
        ip = lark.parse_interactive("")
        for (kind, i, first, end, word), term in zip(stream, terms, strict=True):
            ok = ip.accepts()
            assert term in ok, (kind, word, term, ok)
            if kind == OPEN and term in ("ANY", "UNEXPECTED"):
                assert tab.words.get(word) not in ok  # its own terminal would fail here
            t = Token(term, "")
            t.line, t.column, t.end_column = i, first, end
            ip.feed_token(t)
        tree = ip.feed_eof()
        assert _shape(ours) == _lark_shape(tree.children, lines), f.read_text()
        assert all(isinstance(n, Node) for n in ours)


@pytest.mark.parametrize("damage", ["missing", "truncated", "no_states", "rows_not_maps"])
def test_damaged_shipped_table_is_rebuilt(damage: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An install whose table file is missing or damaged still parses: Lark builds the
    table, as for an edited grammar, never a traceback out of -t."""
    src = Path(grammar_table.grammar_dir())
    (tmp_path / "keepalived.lark").write_text((src / "keepalived.lark").read_text())
    text = (src / grammar_table.TABLE_NAME).read_text(encoding="utf-8")
    data = json.loads(text)
    if damage == "truncated":
        (tmp_path / grammar_table.TABLE_NAME).write_text(text[: len(text) // 2])
    elif damage == "no_states":
        del data["states"]
        (tmp_path / grammar_table.TABLE_NAME).write_text(json.dumps(data))
    elif damage == "rows_not_maps":
        data["states"] = [list(row) for row in data["states"]]
        (tmp_path / grammar_table.TABLE_NAME).write_text(json.dumps(data))
    monkeypatch.setattr(grammar_table, "grammar_dir", lambda: str(tmp_path))
    tab = grammar_table.table.__wrapped__()
    good = grammar_table._from_data(json.loads(text))
    assert (tab.states, tab.rules, tab.words, tab.end) == (good.states, good.rules,
                                                           good.words, good.end)
