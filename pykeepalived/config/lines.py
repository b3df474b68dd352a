"""Logical lines and the text rules of one physical line: comments, quotes, words, braces.

keepalived strips `#`/`!` comments outside quotes, splits on whitespace and `"..."` groups,
and makes every brace a line of its own; these pure helpers do the same for the reader.
"""

from __future__ import annotations

from typing import NamedTuple

from pykeepalived.config.diagnostics import Loc


class LogicalLine(NamedTuple):
    """One statement (or a lone brace) with where it came from, and its place in the block
    tree once parsed (parser.Node is this class).

    One tuple per line from the reader to the walker: the parser links the lines of a block
    under a copy of its head line (children, end, rule) and hands every statement line on as
    it is, instead of wrapping each in a node of its own (90k objects, ~7 MiB and ~25 ms on
    a 90k-line config)."""

    loc: Loc
    words: tuple[str, ...]
    text: str = ""  # the statement as written (after substitution), when it is one line
    children: tuple[LogicalLine, ...] | None = None  # a block's lines; None: a statement
    end: Loc | None = None  # the closing brace, for blocks
    # the grammar rule that classified the line: a section or value-block rule name for a
    # block, "" for a statement, "unexpected" for a line whose `{` keepalived ignores (its
    # body follows it as siblings), "stray" for a `}` read at the top level
    rule: str = ""

    @property
    def keyword(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def line(self) -> LogicalLine:
        """The line itself (the walker reads `node.line.words`, `node.line.text`)."""
        return self

    @property
    def is_block(self) -> bool:
        return self.children is not None

    @property
    def args(self) -> tuple[str, ...]:
        return self.words[1:]

    @property
    def last_line(self) -> int:
        return self.end.line if self.end else self.loc.line


def decomment(text: str) -> tuple[str, bool]:
    """Strip `#`/`!` comments outside double quotes; `\\#`/`\\!` are literal.

    A line ending in a lone backslash keeps it even when a comment ate it, as keepalived's
    reader does (a commented-out `... \\` line reads as `\\`). Returns the text and
    whether a quote was left open.
    """
    if "#" not in text and "!" not in text and '"' not in text:
        return text, False
    out, in_q, cut = _strip_comment(text)
    if cut and _ends_in_lone_backslash(text):
        out = out.rstrip() + "\\"
    return out, in_q


def _ends_in_lone_backslash(text: str) -> bool:
    """Backslashes pair up left to right (`\\x` is one escape); is the last one alone?"""
    i, n = 0, len(text)
    while i < n:
        if text[i] == "\\":
            if i + 1 == n:
                return True
            i += 2
        else:
            i += 1
    return False


def _strip_comment(text: str) -> tuple[str, bool, bool]:
    """(text before the comment, quote left open, whether a comment was cut off)."""
    out: list[str] = []
    in_q = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            in_q = not in_q
        elif not in_q:
            if c in "#!":
                break
            if c == "\\" and i + 1 < n and text[i + 1] in "#!":
                out.append(text[i + 1])
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out), in_q, i < n


def tokenize(text: str) -> tuple[list[str], bool]:
    """Split on whitespace, `"..."` groups (quotes removed), braces become their own words.

    A `#` or `!` left in the text (written `\\#`) ends the line after the first word, braces
    included, as keepalived's tokenizer does (`priority 1\\#0` is priority 1); in the first
    word it is kept. Returns the words and whether a quote was unmatched.
    """
    if not any(c in text for c in '"{}#!'):
        return text.split(), False
    words: list[str] = []
    cur: list[str] = []
    have = False  # an empty "" is still a word
    in_q = False
    for c in text:
        if in_q:
            if c == '"':
                in_q = False
            else:
                cur.append(c)
        elif c == '"':
            in_q = True
            have = True
        elif c in " \t\f\r\n\v":
            if cur or have:
                words.append("".join(cur))
                cur, have = [], False
        elif c in "{}":
            if cur or have:
                words.append("".join(cur))
                cur, have = [], False
            words.append(c)
        elif c in "#!" and words:
            break
        else:
            cur.append(c)
    if cur or have:
        words.append("".join(cur))
    return words, in_q


def split_braces(words: list[str], loc: Loc, out: list[LogicalLine]) -> None:
    """Braces end a logical line: `x { a }` is four lines (x, {, a, }) as keepalived reads it."""
    cur: list[str] = []
    new, line_t, append = tuple.__new__, LogicalLine, out.append  # one per brace of a config
    for w in words:
        if w == "{" or w == "}":
            if cur:
                append(new(line_t, (loc, tuple(cur), "", None, None, "")))
                cur = []
            append(new(line_t, (loc, (w,), "", None, None, "")))
        else:
            cur.append(w)
    if cur:
        append(new(line_t, (loc, tuple(cur), "", None, None, "")))
