"""keepalived's lexical layer: physical lines to logical lines, keeping file:line.

keepalived's reader is line based (research/keywords.md §0): comments, include, `@id`
conditionals, `$NAME` parameters, `~SEQ`/`~LST` repetition and brace splitting all happen
before any keyword is looked at. Doing the same here, in pure Python, lets the grammar see
only well-formed logical lines while every diagnostic still points at the line the user
wrote. This module walks the files; lines.py, includes.py and params.py hold the rules.
"""

from __future__ import annotations

import gc
import os
import re

from pykeepalived.config.diagnostics import Diagnostics, Loc, Rc
from pykeepalived.config.includes import INCLUDE_WORDS, include_check, include_targets
from pykeepalived.config.lines import LogicalLine, decomment, split_braces, tokenize
from pykeepalived.config.params import MAX_EXPANSION, PARAM_DEF, SEQ_HEAD, Expander

__all__ = ["LogicalLine", "Reader", "ReaderOptions", "decomment", "read_config", "tokenize"]

MAXBUF = 1024  # keepalived's line limit, bytes
MAX_INCLUDE_DEPTH = 32
MAX_FILES = 4096  # files read in all, includes counted every time

# a line with none of these needs no comment, quote, brace, parameter or sequence handling
_SPECIAL = re.compile(r'[#!"{}$~@\\\x00]')
_SPECIAL_NOBRACE = re.compile(r'[#!"$~@\\\x00]')
_INCLUDE_OR_CHECK = frozenset(INCLUDE_WORDS) | {"include_check"}
_OPEN_WORDS, _CLOSE_WORDS = ("{",), ("}",)  # one shared tuple for every brace line


class ReaderOptions:
    """-i, -e and the ${_RANDOM} seed (plain classes here: a dataclass costs `-t` its
    generated methods at import, and these are made once per read)."""

    __slots__ = ("all_config", "config_id", "random_seed")

    def __init__(self, config_id: str | None = None, all_config: bool = False,
                 random_seed: int | None = None) -> None:
        self.config_id = config_id  # -i; default: first label of the host name
        self.all_config = all_config  # -e: every config file must exist
        self.random_seed = random_seed


def default_config_id() -> str:
    return os.uname().nodename.split(".")[0]  # socket.gethostname(), without socket's import


class _Frame:
    __slots__ = ("idx", "include_checks", "lines", "path")

    def __init__(self, path: str, lines: list[str], idx: int = 0,
                 include_checks: frozenset[str] = frozenset()) -> None:
        self.path = path
        self.lines = lines
        self.idx = idx
        self.include_checks = include_checks


class Reader:
    """Turns a main config file into logical lines; diagnostics go to `diag`."""

    def __init__(self, diag: Diagnostics, options: ReaderOptions | None = None) -> None:
        self.diag = diag
        self.options = options if options is not None else ReaderOptions()
        self.params: dict[str, list[str]] = {}
        self.files: list[str] = []
        self._produced = 0
        self._stack: list[str] = []  # real paths being read (include loops)
        self._reads = 0
        if self.options.config_id is None:
            self.options.config_id = default_config_id()
        self._exp = Expander(self.diag, self.options.config_id, self.params,
                             self.options.random_seed)

    # -- files -----------------------------------------------------------------------------
    def read(self, path: str) -> list[LogicalLine]:
        """Read the main file. A missing main file is reported like keepalived does."""
        out: list[LogicalLine] = []
        if not os.path.exists(path):
            rc = Rc.CANNOT_RUN if self.options.all_config else Rc.OK
            self.diag.error(f"Config files missing '{path}'.", None, rc)
            return out
        # ~3 tuples per line, none in a cycle: the cyclic GC would only re-scan them, over
        # and over as they survive (a third of the read time of a 90k-line file)
        paused = gc.isenabled()
        gc.disable()
        try:
            self._read_file(path, out, depth=0, checks=frozenset(), inc_loc=None)
        finally:
            if paused:
                gc.enable()
        return out

    def _load(self, path: str, loc: Loc | None, rc: Rc) -> list[str] | None:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except IsADirectoryError:
            self.diag.error(f"Config file '{path}' is a directory", loc, rc)
            return None
        except OSError as e:
            self.diag.error(f"Cannot read config file '{path}': {e.strerror}", loc, rc)
            return None
        self.files.append(path)
        text = data.decode("utf-8", errors="replace")
        return text.split("\n")

    def _read_file(
        self,
        path: str,
        out: list[LogicalLine],
        depth: int,
        checks: frozenset[str],
        inc_loc: Loc | None,
    ) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            self.diag.error(
                f"include nesting deeper than {MAX_INCLUDE_DEPTH} at '{path}' - an include loop?",
                inc_loc,
                Rc.CONFIG,
                hint="check that no file includes itself",
            )
            return
        real = os.path.realpath(path)
        if real in self._stack:
            self.diag.error(f"include loop: '{path}' is already being read", inc_loc,
                            hint="check that no file includes itself, directly or not")
            return
        self._reads += 1
        if self._reads > MAX_FILES:
            if self._reads == MAX_FILES + 1:
                self.diag.error(f"more than {MAX_FILES} config files included - stopping",
                                inc_loc)
            return
        lines = self._load(path, inc_loc, Rc.CANNOT_RUN if inc_loc is None else Rc.CONFIG)
        if lines is None:
            return
        self._stack.append(real)
        try:
            self._read_lines(path, lines, out, depth, checks)
        finally:
            self._stack.pop()

    def _read_lines(
        self, path: str, lines: list[str], out: list[LogicalLine], depth: int,
        checks: frozenset[str],
    ) -> None:
        frame = _Frame(path, lines, 0, checks)
        pwd = os.path.dirname(os.path.abspath(path))
        # the plain-line paths make two tuples per line and call nothing of ours: a 90k-line
        # config spends most of its read time here (locals, and tuple.__new__ directly, as the
        # NamedTuple constructors are Python functions)
        special, nobrace = _SPECIAL.search, _SPECIAL_NOBRACE.search
        append, new, line_t, loc_t = out.append, tuple.__new__, LogicalLine, Loc
        includes, opening, closing = _INCLUDE_OR_CHECK, _OPEN_WORDS, _CLOSE_WORDS
        short = MAXBUF // 4
        resume = 0  # lines before this one were taken by a multi-line $NAME= definition
        for idx, raw in enumerate(lines, 1):
            if idx <= resume:
                continue
            if len(raw) < short:
                if not special(raw):
                    words = raw.split()
                    if not words:
                        continue
                    if words[0] not in includes:
                        append(new(line_t, (new(loc_t, (path, idx)), tuple(words), "", None,
                                            None, "")))
                        continue
                elif not nobrace(raw):
                    # braces as their own words (`x {`, `}`): split like _emit, nothing else
                    words = raw.split()
                    last = words[-1]
                    if len(words) == 1 and last == "}":
                        append(new(line_t, (new(loc_t, (path, idx)), closing, "", None, None,
                                            "")))
                        continue
                    if (last == "{" and words[0] not in includes and raw.count("{") == 1
                            and "}" not in raw):
                        loc = new(loc_t, (path, idx))
                        if len(words) > 1:
                            append(new(line_t, (loc, tuple(words[:-1]), "", None, None, "")))
                        append(new(line_t, (loc, opening, "", None, None, "")))
                        continue
                    if words[0] not in includes and all(
                            w in ("{", "}") or ("{" not in w and "}" not in w) for w in words):
                        split_braces(words, new(loc_t, (path, idx)), out)
                        continue
            loc = Loc(path, idx)
            if len(raw.encode("utf-8", errors="replace")) >= MAXBUF:
                self.diag.error(
                    f"line too long ({len(raw)} characters, limit {MAXBUF - 1}) - ignoring", loc
                )
                continue
            if "\x00" in raw:
                self.diag.error("line contains a NUL byte - ignoring", loc)
                continue
            text, _ = decomment(raw)
            if not text.strip():
                continue
            frame.idx = idx
            self._process(text, loc, out, frame, pwd, depth)
            resume = frame.idx

    # -- one physical line -------------------------------------------------------------------
    def _process(
        self, text: str, loc: Loc, out: list[LogicalLine], frame: _Frame, pwd: str, depth: int
    ) -> None:
        exp = self._exp
        work: list[str] = [text]
        while work:
            exp.rounds += 1
            if exp.rounds > MAX_EXPANSION:
                if exp.rounds == MAX_EXPANSION + 1:
                    self.diag.error("configuration expands to too many lines - stopping", loc)
                return
            line = work.pop(0)
            s = line.strip()
            if not s:
                continue
            if s[0] == "@":
                kept = exp.conditional(s, loc)
                if kept is None:
                    continue
                s = kept
            if s[0] == "$":
                m = PARAM_DEF.match(s)
                if m:
                    frame.idx = exp.define(m.group(1), m.group(2), frame.lines, frame.idx, loc)
                    continue
            if s[0] == "~" and SEQ_HEAD.match(s):
                # each pass runs with the loop variable defined, before the next value
                for rest in exp.sequence(s, loc, pwd):
                    self._process(rest, loc, out, frame, pwd, depth)
                continue
            if "$" in s:
                subst = exp.substitute(s, loc, pwd)
                if subst != [s]:
                    # a '#' or '!' a parameter brought in (${_HASH}, $X=#...) starts a comment
                    # as one written there would: keepalived strips comments after substituting
                    work[0:0] = [decomment(x)[0] if ("#" in x or "!" in x) else x
                                 for x in subst]
                    continue
            first = s.split(None, 1)[0]
            if first == "include_check":
                # after substitution, as keepalived does: `include ${_PWD}/x.conf` works
                frame.include_checks = include_check(s.split()[1:], frame.include_checks,
                                                     self.diag, loc)
                continue
            if first in INCLUDE_WORDS:
                for p in include_targets(s, frame.include_checks, pwd, self.options.all_config,
                                         self.diag, loc):
                    self._read_file(p, out, depth + 1, frame.include_checks, loc)
                continue
            self._emit(s, loc, out)

    def _emit(self, s: str, loc: Loc, out: list[LogicalLine]) -> None:
        words, open_q = tokenize(s)
        if open_q:
            self.diag.error("Unmatched quote", loc, hint='close the "..." string on this line')
        self._produced += 1
        if len(words) > 1 and words[-1] == "\\":
            # keepalived has no continuation here: it glues the '\\' to the word before it
            words[-2:] = [words[-2] + "\\"]
        if "{" in words or "}" in words:
            split_braces(words, loc, out)
        else:  # script keywords re-read the text with quotes and escapes, as keepalived does
            out.append(LogicalLine(loc, tuple(words), s))


def read_config(
    path: str, diag: Diagnostics, options: ReaderOptions | None = None
) -> tuple[list[LogicalLine], list[str]]:
    """Read `path` and everything it includes; returns logical lines and files read."""
    r = Reader(diag, options or ReaderOptions())
    lines = r.read(path)
    return lines, r.files
