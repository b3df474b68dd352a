"""The Lark lexer of the section grammar, at module level so a parser cache can name it.

It types each block-opening line with its section terminal only where the parser, in its
current state, would shift that terminal; anywhere else the line is UNEXPECTED (keepalived:
"Unknown keyword", the `{` ignored). Lark's own contextual lexer asks the same question of the
current state alone; LALR merges the look-aheads of states that share a core, so this one
replays the reductions on a copy of the state stack to get an exact answer.

Imported only when the parser is built (it imports lark).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lark.lexer import Lexer, Token
from lark.parsers.lalr_analysis import Shift

# the stream parse_lines hands over: (kind, line index, end index, keyword of an OPEN)
STMTS, OPEN, CLOSE = 0, 1, 2


def shifts(states: Any, stack: list[int], term: str) -> bool:
    """Would the parser, with this state stack, end up shifting `term` (not fail on it)?"""
    stack = list(stack)  # a few states deep: the repetitions of the grammar are left-recursive
    while True:
        act = states[stack[-1]].get(term)
        if act is None:
            return False
        action, arg = act
        if action is Shift:
            return True
        size = len(arg.expansion)
        if size:
            del stack[-size:]
        stack.append(states[stack[-1]][arg.origin.name][1])


class LineLexer(Lexer):
    """Turns the pre-split line stream into Lark tokens, asking the parser state at each
    block edge; `.line`/`.end_line` of a token index the logical lines."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        self.by_word = {t.pattern.value: t.name for t in lexer_conf.terminals
                        if t.pattern.type == "str"}
        self.close = self.by_word["}"]

    def lex(self, lexer_state: Any, parser_state: Any) -> Iterator[Token]:  # type: ignore[override]
        stream = lexer_state.text
        states = parser_state.parse_conf.states
        stack = parser_state.state_stack
        by_word = self.by_word
        for kind, i, j, word in stream:
            if kind == STMTS:
                t = Token("STMTS", "")
                t.line, t.end_line = i, j
                yield t
                continue
            if kind == OPEN:
                term = by_word.get(word)
                if term is None or not shifts(states, stack, term):
                    term = "ANY" if shifts(states, stack, "ANY") else "UNEXPECTED"
            else:
                term = self.close if shifts(states, stack, self.close) else "STRAY"
            t = Token(term, "")
            t.line = t.end_line = i
            yield t
