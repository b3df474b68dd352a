"""Block structure: logical lines -> a tree of statements and blocks, by the grammar's LALR
automaton (Lark's, from grammar/keepalived.lark: config/grammar_table.py).

Brace balance is repaired before the automaton sees the stream (an extra `}` is reported and
dropped, a missing `}` at the end is reported and supplied, as keepalived tolerates both), so
the grammar never fails on user input and every problem keeps its file:line. The automaton
reads one token per block edge, typed by the state it is in (line_lexer.py), and runs here
rather than in Lark's parser: the same shift/reduce loop without Lark's token objects and
callback layers, ~2x faster on a 90k-line config, and -t never imports lark.
"""

from __future__ import annotations

import gc
from typing import Any

from pykeepalived.config.diagnostics import Diagnostics
from pykeepalived.config.grammar_table import Table, table
from pykeepalived.config.line_lexer import CLOSE, OPEN, STMTS, classify
from pykeepalived.config.lines import LogicalLine

MAX_DEPTH = 32


# A statement (no children) or a block (children, possibly empty): the reader's line itself,
# and for a block a copy of its head line with the block's lines (lines.LogicalLine)
Node = LogicalLine


Edge = tuple[int, int, int, int, str]  # (kind, line index, first, end, keyword of an OPEN)


def parse_lines(lines: list[LogicalLine], diag: Diagnostics) -> list[Node]:
    """Logical lines -> top-level nodes, each block classified by the grammar's rules.
    Never raises on user input."""
    # a Node per line and a few tuples per block, none in a cycle: no GC passes over them
    paused = gc.isenabled()
    gc.disable()
    try:
        stream = edges(lines, diag)
        return run(table(), stream, lines) if stream else []
    finally:
        if paused:
            gc.enable()


def edges(lines: list[LogicalLine], diag: Diagnostics) -> list[Edge]:
    """The token stream the automaton reads, braces repaired (diagnostics go to `diag`).

    One pass: a `{` line makes the statement line before it the block's head (or opens an
    anonymous block itself), an extra `}` is reported and dropped, blocks left open at the
    end are closed at the last line. One token per block edge, not per line: each edge
    carries the contiguous run of statement lines that follows it (lines[first:end]); a
    STMTS token only for a run that follows no edge (the top of the file, a dropped `}`)."""
    stream: list[Edge] = []
    push = stream.append
    o_words, c_words = ("{",), ("}",)
    # the token being built: (kind, line, first, end, word); kind -1: none yet
    kind, at, first, end, word = -1, 0, 0, 0, ""
    last_stmt = False  # the last token taken was a statement line (a `{` may claim it)
    depth = 0
    for i, ln in enumerate(lines):
        w = ln[1]
        if w == o_words:
            if last_stmt:  # the statement line before the `{` heads the block
                p = end - 1
                if kind == STMTS and first == p:
                    kind = -1  # that run was only this line
                elif first == p:
                    first = end = 0
                else:
                    end = p
                if kind != -1:
                    push((kind, at, first, end, word))
                kind, at, first, end, word = OPEN, p, 0, 0, lines[p].keyword
            else:  # an anonymous block; the model reports it
                if kind != -1:
                    push((kind, at, first, end, word))
                kind, at, first, end, word = OPEN, i, 0, 0, "{"
            last_stmt = False
            depth += 1
            if depth > MAX_DEPTH:
                diag.error(f"blocks nested deeper than {MAX_DEPTH} - ignoring the rest", ln.loc)
                push((kind, at, first, end, word))
                kind, at, first, end, word = CLOSE, i, 0, 0, ""
                depth -= 1
                break
        elif w == c_words:
            if depth == 0:
                diag.error("Extra '}' found", ln.loc, hint="remove it or add the missing '{'")
                # read at the top level, keepalived also takes it for a keyword
                diag.error("Unknown keyword '}'", ln.loc)
                continue
            depth -= 1
            if kind != -1:
                push((kind, at, first, end, word))
            kind, at, first, end, word = CLOSE, i, 0, 0, ""
            last_stmt = False
        else:
            last_stmt = True
            if first != end:  # a run is open: this line goes on with it or starts another
                if end == i:
                    end = i + 1
                    continue
                push((kind, at, first, end, word))
                kind, at, first, end, word = STMTS, i, i, i + 1, ""
            elif kind == -1:
                kind, at, first, end, word = STMTS, i, i, i + 1, ""
            else:  # the first statement after an edge
                first, end = i, i + 1
    if kind == -1:
        return stream
    if depth:
        last = lines[-1].loc if lines else None
        diag.error(f"There are {depth} missing '}}'s or extra '{{'s", last,
                   hint="every block needs its closing '}'")
        close_at = end - 1 if first != end else at  # the last line taken
        push((kind, at, first, end, word))
        kind, at, first, end, word = CLOSE, close_at, 0, 0, ""
        for _ in range(depth - 1):
            push((CLOSE, close_at, 0, 0, ""))
    push((kind, at, first, end, word))
    return stream


class _Splice(list):  # type: ignore[type-arg]
    """The value of an inlined rule (`_name`, Lark's `*` helpers): spliced into its parent."""

    __slots__ = ()


# what a reduction builds, by rule name (anything else is a block rule: its Node)
_INLINE, _STMTS, _EDGE, _START, _BLOCK = range(5)


def _kind(name: str) -> int:
    if name[0] == "_":
        return _INLINE
    return {"stmts": _STMTS, "unexpected": _EDGE, "stray": _EDGE, "start": _START}.get(
        name, _BLOCK)


def run(tab: Table, stream: list[Edge], lines: list[LogicalLine],
        trace: list[str] | None = None) -> list[Node]:
    """Run the grammar's LALR automaton over the block edges and build the Nodes.

    The loop Lark's LALR parser runs (shift, or reduce and go to), with the terminal of each
    edge asked of the current state (line_lexer.classify) and, per reduction, what Lark's
    tree builder does with keep_all_tokens: `_` rules are inlined into their parent, a rule
    named after a block builds its Node. `trace` gets each edge's terminal (for tests)."""
    states, words, close = tab.states, tab.words, tab.close
    rules = [(name, size, _kind(name)) for name, size in tab.rules]
    new = tuple.__new__
    splice = _Splice
    stack = [tab.start]
    values: list[Any] = []
    push, vpush = stack.append, values.append

    def leaves(first: int, end: int) -> list[Node]:
        return lines[first:end]  # statement lines are their own nodes

    def reduce(r: int) -> None:
        name, size, kind = rules[r]
        value: Any
        if kind == _INLINE:
            if size == 1:
                v = values[-1]
                value = v if type(v) is splice else splice((v,))
            elif size == 2 and type(values[-2]) is splice:
                # left recursion (`x*`): grow the list in place, not a copy per item
                value, v = values[-2], values[-1]
                if type(v) is splice:
                    value.extend(v)
                else:
                    value.append(v)
            else:
                value = splice(_flat(values[-size:]))
            if size:
                del values[-size:]
                del stack[-size:]
        else:
            items = _flat(values[-size:]) if size else []
            if size:
                del values[-size:]
                del stack[-size:]
            if kind == _BLOCK:
                value = _block(name, items, lines, leaves)
            elif kind == _STMTS:
                value = leaves(items[0][1], items[0][2])
            elif kind == _EDGE:
                i, first, end = items[0]
                ln = lines[i]
                value = [new(Node, (ln[0], ln[1], ln[2], None, None, name)), *lines[first:end]]
            else:  # start
                value = []
                for it in items:
                    if isinstance(it, list):
                        value.extend(it)
                    else:
                        value.append(it)
        push(states[stack[-1]][name])
        vpush(value)

    for kind, i, first, end, word in stream:
        # the edge's terminal: the fast answer when this state shifts it, else ask the table
        if kind == OPEN:
            term = words.get(word, "")
            act = states[stack[-1]].get(term)
            if act is None or act < 0:
                term = classify(tab, stack, kind, word)
        elif kind == CLOSE:
            term = close
            act = states[stack[-1]].get(term)
            if act is None or act < 0:
                term = classify(tab, stack, kind, word)
        else:
            term = "STMTS"
        if trace is not None:
            trace.append(term)
        while True:
            act = states[stack[-1]][term]  # classify never hands over a term that fails
            if act >= 0:
                push(act)
                vpush((i, first, end))
                break
            name, size, rkind = rules[-1 - act]
            if rkind == _INLINE and size == 1:  # `_checker: tcp_check`, a `*` list's first
                v = values[-1]
                if type(v) is not splice:
                    values[-1] = splice((v,))
                stack[-1] = states[stack[-2]][name]
            elif rkind == _INLINE and size == 2 and type(values[-2]) is splice:
                v = values.pop()  # a `*` list's next item: onto the list, in place
                if type(v) is splice:
                    values[-1].extend(v)
                else:
                    values[-1].append(v)
                del stack[-1]
                stack[-1] = states[stack[-2]][name]
            else:
                reduce(-1 - act)
    endstate = tab.end
    while stack[-1] != endstate:
        reduce(-1 - states[stack[-1]]["$END"])
    return values[-1]  # type: ignore[no-any-return]


def _flat(kids: list[Any]) -> list[Any]:
    """A reduction's children with inlined values spliced in."""
    items: list[Any] = []
    for v in kids:
        if type(v) is _Splice:
            items.extend(v)
        else:
            items.append(v)
    return items


def _block(rule: str, items: list[Any], lines: list[LogicalLine],
           leaves: Any) -> Node | list[Node]:
    """A block rule's reduction: its Node, then the statements that follow its `}`."""
    head, close = items[0], items[-1]
    kids = leaves(head[1], head[2])
    for it in items[1:-1]:
        if isinstance(it, list):
            kids.extend(it)
        else:
            kids.append(it)
    ln = lines[head[0]]
    node = tuple.__new__(Node, (ln[0], ln[1], ln[2], tuple(kids), lines[close[0]][0], rule))
    if close[2] == close[1]:
        return node
    return [node, *leaves(close[1], close[2])]
