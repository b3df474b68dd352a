"""The line classifier of the section grammar: which terminal a block edge is, asked of the
parser's current state.

A block-opening line is typed with its section terminal only where the parser, in its current
state, would shift that terminal; anywhere else it is UNEXPECTED (keepalived: "Unknown
keyword", the `{` ignored), or ANY inside a value block. A `}` the state cannot take is STRAY.
Lark's own contextual lexer asks the same question of the current state alone; LALR merges
the look-aheads of states that share a core, so this replays the reductions on a copy of the
state stack to get an exact answer.
"""

from __future__ import annotations

from pykeepalived.config.grammar_table import Table

# the stream parse_lines hands over: (kind, line index, [first, end) of the statement lines
# that follow, keyword of an OPEN)
STMTS, OPEN, CLOSE = 0, 1, 2


def shifts(table: Table, stack: list[int], term: str) -> bool:
    """Would the parser, with this state stack, end up shifting `term` (not fail on it)?"""
    act = table.states[stack[-1]].get(term)
    if act is None:
        return False
    if act >= 0:
        return True
    key = (id(table), *stack, term)  # state numbers mean something in one table only
    known = _MEMO.get(key)
    if known is None:
        if len(_MEMO) > 4096:  # bounded in a long-running daemon that reloads odd configs
            _MEMO.clear()
        known = _MEMO[key] = _replay(table, stack, term)
    return known


# (table, state stack..., terminal) -> shifts: a config repeats a few stacks (one per nesting)
_MEMO: dict[tuple[object, ...], bool] = {}


def _replay(table: Table, stack: list[int], term: str) -> bool:
    states, rules = table.states, table.rules
    stack = list(stack)  # a few states deep: the repetitions of the grammar are left-recursive
    while True:
        act = states[stack[-1]].get(term)
        if act is None:
            return False
        if act >= 0:
            return True
        name, size = rules[-1 - act]
        if size:
            del stack[-size:]
        stack.append(states[stack[-1]][name])


def classify(table: Table, stack: list[int], kind: int, word: str) -> str:
    """The terminal of one block edge (OPEN with its keyword, or CLOSE) in this state."""
    if kind == OPEN:
        term = table.words.get(word)
        if term is not None and shifts(table, stack, term):
            return term
        return "ANY" if shifts(table, stack, "ANY") else "UNEXPECTED"
    if kind == CLOSE:
        return table.close if shifts(table, stack, table.close) else "STRAY"
    return "STMTS"
