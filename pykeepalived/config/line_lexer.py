"""The Lark lexer of the block grammar, at module level so a parser cache can name it.

Imported only when the parser is built (it imports lark)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lark.lexer import Lexer, Token


class LineLexer(Lexer):
    """Hands Lark the pre-built token stream; line numbers index into it."""

    def __init__(self, lexer_conf: Any) -> None:
        pass

    def lex(self, data: Any) -> Iterator[Token]:  # type: ignore[override]
        yield from data
