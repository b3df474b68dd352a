"""keepalived's lexical layer: physical lines to logical lines, keeping file:line.

keepalived's reader is line based (research/keywords.md §0): comments, include, `@id`
conditionals, `$NAME` parameters, `~SEQ`/`~LST` repetition and brace splitting all happen
before any keyword is looked at. Doing the same here, in pure Python, lets the grammar see
only well-formed logical lines while every diagnostic still points at the line the user
wrote.
"""

from __future__ import annotations

import glob
import os
import random
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from pykeepalived.config.diagnostics import Diagnostic, Diagnostics, Loc, Rc, Severity

MAXBUF = 1024  # keepalived's line limit, bytes
MAX_INCLUDE_DEPTH = 32
MAX_FILES = 4096  # files read in all, includes counted every time
MAX_SUBST_ROUNDS = 64
MAX_SUBST_LEN = 64 * 1024
MAX_EXPANSION = 1_000_000  # logical lines produced by ~SEQ/~LST/params, in all

INCLUDE_WORDS = {
    "include": frozenset(),
    "includer": frozenset({"readable"}),
    "includem": frozenset({"readable", "match"}),
    "includew": frozenset({"readable", "wildcard_match"}),
    "includeb": frozenset({"readable", "brace_match"}),
    "includea": frozenset({"readable", "match", "wildcard_match", "brace_match"}),
}
INCLUDE_CHECKS = ("readable", "match", "wildcard_match", "brace_match")

_PARAM_DEF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_PARAM_USE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?:\s+[^}]*)?)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[\s,)]|$)"
)
_SEQ_HEAD = re.compile(r"^~(SEQx?|LST)\(")
# a line with none of these needs no comment, quote, brace, parameter or sequence handling
_SPECIAL = re.compile(r'[#!"{}$~@\\\x00]')
_SPECIAL_NOBRACE = re.compile(r'[#!"$~@\\\x00]')


class LogicalLine(NamedTuple):
    """One statement (or a lone brace) with where it came from (a NamedTuple: one per line)."""

    loc: Loc
    words: tuple[str, ...]
    text: str = ""  # the statement as written (after substitution), when it is one line

    @property
    def keyword(self) -> str:
        return self.words[0] if self.words else ""


@dataclass
class ReaderOptions:
    config_id: str | None = None  # -i; default: first label of the host name
    all_config: bool = False  # -e: every config file must exist
    random_seed: int | None = None


def default_config_id() -> str:
    return socket.gethostname().split(".")[0]


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


def brace_expand(pattern: str) -> list[str]:
    """csh-style {a,b} expansion, as keepalived's glob(GLOB_BRACE) does before matching."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m or "," not in m.group(1):
        return [pattern]
    out: list[str] = []
    for alt in m.group(1).split(","):
        out.extend(brace_expand(pattern[: m.start()] + alt + pattern[m.end() :]))
    return out


@dataclass
class _Frame:
    path: str
    lines: list[str]
    idx: int = 0
    include_checks: frozenset[str] = frozenset()


@dataclass
class Reader:
    """Turns a main config file into logical lines; diagnostics go to `diag`."""

    diag: Diagnostics
    options: ReaderOptions = field(default_factory=ReaderOptions)
    params: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    _produced: int = 0
    _rounds: int = 0  # expansion steps in all (~SEQ passes, substitutions): bounded
    _stack: list[str] = field(default_factory=list)  # real paths being read (include loops)
    _reads: int = 0
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if self.options.config_id is None:
            self.options.config_id = default_config_id()
        if self.options.random_seed is not None:
            self._rng.seed(self.options.random_seed)

    # -- files -----------------------------------------------------------------------------
    def read(self, path: str) -> list[LogicalLine]:
        """Read the main file. A missing main file is reported like keepalived does."""
        out: list[LogicalLine] = []
        if not os.path.exists(path):
            rc = Rc.CANNOT_RUN if self.options.all_config else Rc.OK
            self.diag.error(f"Config files missing '{path}'.", None, rc)
            return out
        self._read_file(path, out, depth=0, checks=frozenset(), inc_loc=None)
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
        while frame.idx < len(frame.lines):
            lineno = frame.idx + 1
            raw = frame.lines[frame.idx]
            frame.idx += 1
            # fast path: most lines are plain `keyword args` with nothing to expand
            if len(raw) < MAXBUF // 4 and not _SPECIAL.search(raw):
                words = raw.split()
                if not words:
                    continue
                if words[0] not in INCLUDE_WORDS and words[0] != "include_check":
                    out.append(LogicalLine(Loc(path, lineno), tuple(words)))
                    continue
            elif len(raw) < MAXBUF // 4 and not _SPECIAL_NOBRACE.search(raw):
                # braces as their own words (`x {`, `}`): split like _emit, nothing else to do
                words = raw.split()
                if all(w in ("{", "}") or ("{" not in w and "}" not in w) for w in words) \
                        and words[0] not in INCLUDE_WORDS:
                    split_braces(words, Loc(path, lineno), out)
                    continue
            loc = Loc(path, lineno)
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
            self._process(text, loc, out, frame, pwd, depth)

    def _include_check(self, args: list[str], frame: _Frame, loc: Loc) -> frozenset[str]:
        cur = set(frame.include_checks)
        if not args:
            return frozenset(INCLUDE_CHECKS)
        for a in args:
            op, name = (a[0], a[1:]) if a[:1] in "+-" else ("+", a)
            if name not in INCLUDE_CHECKS:
                self.diag.error(f"Unknown include_check option '{a}'", loc)
                continue
            (cur.add if op == "+" else cur.discard)(name)
        return frozenset(cur)

    def _include(
        self, text: str, frame: _Frame, out: list[LogicalLine], depth: int, pwd: str, loc: Loc
    ) -> None:
        # braces here are csh alternatives ({a,b}), not blocks: split on whitespace only
        words = [w.strip('"') for w in text.split()]
        kw = words[0]
        if len(words) < 2:
            self.diag.error(f"'{kw}' needs a file name or pattern", loc)
            return
        checks = frame.include_checks | INCLUDE_WORDS[kw]
        if self.options.all_config:
            checks = checks | {"readable", "match"}
        pattern = words[1]
        if not os.path.isabs(pattern):
            pattern = os.path.join(pwd, pattern)
        matched: list[str] = []
        for pat in brace_expand(pattern):
            if glob.has_magic(pat):
                matched.extend(sorted(glob.glob(pat)))
            elif os.path.exists(pat):
                matched.append(pat)
        if not matched:
            # a glob matching nothing in a directory that exists is silent in keepalived
            # (unless a check asks for a match); a missing file or directory is said
            missing_dir = any(not glob.has_magic(os.path.dirname(p))
                              and not os.path.isdir(os.path.dirname(p))
                              for p in brace_expand(pattern))
            if checks or not glob.has_magic(pattern) or missing_dir:
                self._missing_include(words[1], loc, checks)
            return
        for p in matched:
            if not os.access(p, os.R_OK):
                self._missing_include(p, loc, checks)
                continue
            self._read_file(p, out, depth + 1, frame.include_checks, loc)

    def _missing_include(self, name: str, loc: Loc, checks: frozenset[str]) -> None:
        if checks:
            # keepalived exits before the config test: KEEPALIVED_EXIT_NO_CONFIG (6)
            rc = Rc.CANNOT_RUN if self.options.all_config else Rc.SECURITY
            self.diag.error(f"Config files missing '{name}'.", loc, rc)
        else:
            # keepalived prints this but a plain include does not change the exit status
            msg = f"Config files missing '{name}'."
            self.diag.add(Diagnostic(Severity.WARNING, msg, loc, Rc.OK))

    # -- one physical line -------------------------------------------------------------------
    def _process(
        self, text: str, loc: Loc, out: list[LogicalLine], frame: _Frame, pwd: str, depth: int
    ) -> None:
        work: list[str] = [text]
        while work:
            self._rounds += 1
            if self._rounds > MAX_EXPANSION:
                if self._rounds == MAX_EXPANSION + 1:
                    self.diag.error("configuration expands to too many lines - stopping", loc)
                return
            line = work.pop(0)
            s = line.strip()
            if not s:
                continue
            if s[0] == "@":
                s = self._conditional(s, loc)
                if s is None:
                    continue
            if s[0] == "$":
                m = _PARAM_DEF.match(s)
                if m:
                    self._define(m.group(1), m.group(2), frame, loc)
                    continue
            if s[0] == "~" and _SEQ_HEAD.match(s):
                # each pass runs with the loop variable defined, before the next value
                for rest in self._sequence(s, loc, pwd):
                    self._process(rest, loc, out, frame, pwd, depth)
                continue
            if "$" in s:
                subst = self._substitute(s, loc, pwd)
                if subst != [s]:
                    # a '#' or '!' a parameter brought in (${_HASH}, $X=#...) starts a comment
                    # as one written there would: keepalived strips comments after substituting
                    work[0:0] = [decomment(x)[0] if ("#" in x or "!" in x) else x
                                 for x in subst]
                    continue
            first = s.split(None, 1)[0]
            if first in INCLUDE_WORDS or first == "include_check":
                # after substitution, as keepalived does: `include ${_PWD}/x.conf` works
                if first == "include_check":
                    frame.include_checks = self._include_check(s.split()[1:], frame, loc)
                else:
                    self._include(s, frame, out, depth, pwd, loc)
                continue
            self._emit(s, loc, out)

    def _conditional(self, s: str, loc: Loc) -> str | None:
        head, _, rest = s.partition(" ")
        if "\t" in head:
            head, _, rest2 = s.partition("\t")
            rest = rest2
        neg = head.startswith("@^")
        ident = head[2:] if neg else head[1:]
        if not ident or not rest.strip():
            self.diag.error(f"conditional '{head}' needs an id and text after it", loc)
            return None
        match = ident == self.options.config_id
        return rest.strip() if match != neg else None

    def _define(self, name: str, value: str, frame: _Frame, loc: Loc) -> None:
        v = value.strip()
        if not v.endswith("\\"):
            self._store(name, [v], loc)
            return
        lines: list[str] = []
        first = v[:-1].strip()
        if first:
            lines.append(first)
        # a multi-line definition: every line but the last ends with '\'; an empty line
        # (not a blank or a comment one) ends it, as in keepalived
        while frame.idx < len(frame.lines):
            raw = frame.lines[frame.idx]
            frame.idx += 1
            if not raw.rstrip("\r"):
                break
            t, _ = decomment(raw)
            t = t.strip()
            if not t:
                continue
            if t.endswith("\\"):
                body = t[:-1].strip()
                if body:
                    lines.append(body)
                continue
            lines.append(t)
            break
        else:
            self.diag.error(f"multi-line definition of ${name} runs to the end of the file", loc)
        self._store(name, lines, loc)

    def _store(self, name: str, lines: list[str], loc: Loc) -> None:
        """A value that uses its own name would grow on every substitution: refuse it here,
        once, instead of expanding it to the limit on every line that uses it."""
        if any((m.group(1) or m.group(3)) == name for ln in lines
               for m in _PARAM_USE.finditer(ln)):
            self.diag.error(f"${name} is defined in terms of itself - ignoring the definition",
                            loc, hint="use another name for the new value")
            self.params.pop(name, None)
            return
        self.params[name] = lines

    def _predefined(self, name: str, args: str, pwd: str) -> str | None:
        if name == "_PWD":
            return pwd
        if name == "_INSTANCE":
            return self.options.config_id
        if name == "_HASH":
            return "#"
        if name == "_BANG":
            return "!"
        if name == "_RANDOM":
            lo, hi = 0, 32767
            parts = args.split()
            try:
                if parts:
                    lo = int(parts[0])
                if len(parts) > 1:
                    hi = int(parts[1])
            except ValueError:
                return None
            if hi < lo:
                lo, hi = hi, lo
            return str(self._rng.randint(lo, hi))
        if name == "_ENV":
            return os.environ.get(args.strip(), "")
        return None

    def _substitute(self, s: str, loc: Loc, pwd: str) -> list[str]:
        """Recursive use-time substitution; a multi-line value splits the line."""
        cur = s
        for _ in range(MAX_SUBST_ROUNDS):
            multi: list[str] | None = None

            def repl(m: re.Match[str]) -> str:
                nonlocal multi
                name = m.group(1) or m.group(3)
                args = m.group(2) or ""
                if name.startswith("_"):
                    v = self._predefined(name, args, pwd)
                    return m.group(0) if v is None else v
                if name not in self.params or (m.group(1) and args.strip()):
                    return m.group(0)
                val = self.params[name]
                if len(val) == 1:
                    return val[0]
                if multi is None:
                    multi = val
                    return "\x00MULTI\x00"
                return m.group(0)

            nxt = _PARAM_USE.sub(repl, cur)
            if multi is not None:
                before, _, after = nxt.partition("\x00MULTI\x00")
                lines = list(multi)
                if before.strip():
                    lines[0] = before + lines[0]
                if after.strip():
                    lines[-1] = lines[-1] + after
                return lines
            if nxt == cur:
                return [cur]
            if len(nxt) > MAX_SUBST_LEN:
                self.diag.error(f"parameter substitution makes a line longer than "
                                f"{MAX_SUBST_LEN} characters - ignoring it", loc,
                                hint="a parameter that contains itself?")
                return []
            cur = nxt
        self.diag.error("parameter substitution does not terminate (a recursive $NAME?)", loc)
        return [cur]

    def _sequence(self, s: str, loc: Loc, pwd: str) -> Iterator[str]:
        """Expand a ~SEQ/~SEQx/~LST head at the start of a line, one value at a time.

        As in keepalived, the loop variable is a definition: it is set before each pass over
        the text after the head (so `$V`/`${V}` inside a multi-line $NAME used there see it)
        and keeps its last value afterwards. Parameters in the head are substituted first.
        """
        m = _SEQ_HEAD.match(s)
        assert m is not None
        kind = m.group(1)
        depth, i = 0, m.end() - 1
        while i < len(s):
            if s[i] == "(":
                depth += 1
            elif s[i] == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if depth != 0:
            self.diag.error(f"~{kind}( is not closed", loc)
            return
        inner, rest = s[m.end() : i], s[i + 1 :].strip()
        if "$" in inner:
            subst = self._substitute(inner, loc, pwd)
            if len(subst) != 1:
                self.diag.error(f"~{kind} parameter is a multi-line definition '{s}'", loc)
                return
            inner = subst[0]
        combos = self._seq_values(kind, inner, loc)
        if combos is None:
            return
        if len(combos) * max(1, len(rest)) > MAX_EXPANSION:
            self.diag.error(f"~{kind} produces too many lines", loc)
            return
        for names, values in combos:
            self._rounds += 1
            if self._rounds > MAX_EXPANSION:
                return
            for n, v in zip(names, values, strict=True):
                self.params[n] = [v]
            yield rest

    def _seq_values(
        self, kind: str, inner: str, loc: Loc
    ) -> list[tuple[tuple[str, ...], tuple[str, ...]]] | None:
        if kind == "LST":
            if inner.lstrip().startswith("{"):
                groups = re.findall(r"\{([^}]*)\}", inner)
                if len(groups) < 2:
                    self.diag.error("~LST({vars}, {values}...) needs at least one value tuple", loc)
                    return None
                names = tuple(x.strip() for x in groups[0].split(","))
                res = []
                for g in groups[1:]:
                    vals = tuple(x.strip() for x in g.split(","))
                    if len(vals) != len(names):
                        msg = f"~LST tuple {{{g}}} does not match {len(names)} names"
                        self.diag.error(msg, loc)
                        return None
                    res.append((names, vals))
                return res
            parts = [x.strip() for x in inner.split(",")]
            if len(parts) < 2 or not parts[0]:
                self.diag.error("~LST(var, value, ...) needs a variable and a value", loc)
                return None
            return [((parts[0],), (v,)) for v in parts[1:]]
        parts = [x.strip() for x in inner.split(",")]
        name = parts[0]
        try:
            nums = [int(x, 0) for x in parts[1:]]
        except ValueError:
            self.diag.error(f"~{kind}({inner}) has a value that is not a number", loc)
            return None
        if len(nums) == 1:
            end = nums[0]
            start = 1 if end > 0 else -1
            step = 1 if end >= start else -1
        elif len(nums) == 2:
            start, end = nums
            step = 1 if end >= start else -1
        elif len(nums) == 3:
            start, step, end = nums
        else:
            self.diag.error(f"~{kind}(var, [start,] [step,] end) cannot take '{inner}'", loc)
            return None
        if not name or step == 0 or (end - start) * step < 0:
            self.diag.error(f"~{kind}({inner}) is an empty or endless sequence", loc)
            return None
        count = (end - start) // step + 1
        if count > MAX_EXPANSION:
            self.diag.error(f"~{kind}({inner}) produces too many lines", loc)
            return None
        fmt = "{:x}" if kind == "SEQx" else "{:d}"
        stop = end + (1 if step > 0 else -1)
        return [((name,), (fmt.format(v),)) for v in range(start, stop, step)]

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


def split_braces(words: list[str], loc: Loc, out: list[LogicalLine]) -> None:
    """Braces end a logical line: `x { a }` is four lines (x, {, a, }) as keepalived reads it."""
    cur: list[str] = []
    for w in words:
        if w == "{" or w == "}":
            if cur:
                out.append(LogicalLine(loc, tuple(cur)))
                cur = []
            out.append(LogicalLine(loc, (w,)))
        else:
            cur.append(w)
    if cur:
        out.append(LogicalLine(loc, tuple(cur)))


def read_config(
    path: str, diag: Diagnostics, options: ReaderOptions | None = None
) -> tuple[list[LogicalLine], list[str]]:
    """Read `path` and everything it includes; returns logical lines and files read."""
    r = Reader(diag, options or ReaderOptions())
    lines = r.read(path)
    return lines, r.files

