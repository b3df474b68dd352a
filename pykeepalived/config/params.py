"""keepalived's text macros: `$NAME=` definitions (multi-line too) and their use, the
predefined `${_PWD}`, `${_RANDOM}` ..., `@id`/`@^id` conditionals and `~SEQ`/`~LST` heads.

Every expansion is bounded (rounds, line length, lines produced), so a config that defines a
parameter in terms of itself or a sequence of a billion values gets an error, not a hang.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pykeepalived.config.diagnostics import Diagnostics, Loc
from pykeepalived.config.lines import decomment

if TYPE_CHECKING:
    import random

MAX_SUBST_ROUNDS = 64
MAX_SUBST_LEN = 64 * 1024
MAX_EXPANSION = 1_000_000  # logical lines produced by ~SEQ/~LST/params, in all

PARAM_DEF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
PARAM_USE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?:\s+[^}]*)?)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[\s,)]|$)"
)
SEQ_HEAD = re.compile(r"^~(SEQx?|LST)\(")

Combos = list[tuple[tuple[str, ...], tuple[str, ...]]]


class Expander:
    """The parameters defined so far and what substitutes them; `rounds` counts every
    expansion step of the whole read against MAX_EXPANSION. (A plain class: it is made once
    per read, and a dataclass costs `-t` its generated methods at import.)"""

    __slots__ = ("_rng", "config_id", "diag", "params", "rounds", "seed")

    def __init__(self, diag: Diagnostics, config_id: str,
                 params: dict[str, list[str]] | None = None, seed: int | None = None) -> None:
        self.diag = diag
        self.config_id = config_id
        self.params: dict[str, list[str]] = {} if params is None else params
        self.seed = seed
        self.rounds = 0
        self._rng: random.Random | None = None  # made at the first ${_RANDOM}

    def conditional(self, s: str, loc: Loc) -> str | None:
        """The text after an `@id`/`@^id` head when it applies to this host, else None."""
        head, _, rest = s.partition(" ")
        if "\t" in head:
            head, _, rest2 = s.partition("\t")
            rest = rest2
        neg = head.startswith("@^")
        ident = head[2:] if neg else head[1:]
        if not ident or not rest.strip():
            self.diag.error(f"conditional '{head}' needs an id and text after it", loc)
            return None
        match = ident == self.config_id
        return rest.strip() if match != neg else None

    def define(self, name: str, value: str, lines: list[str], idx: int, loc: Loc) -> int:
        """Store `$name=value`; a value ending in `\\` goes on over lines[idx:]. Returns the
        index of the first line after the definition."""
        v = value.strip()
        if not v.endswith("\\"):
            self._store(name, [v], loc)
            return idx
        body: list[str] = []
        first = v[:-1].strip()
        if first:
            body.append(first)
        # a multi-line definition: every line but the last ends with '\'; an empty line
        # (not a blank or a comment one) ends it, as in keepalived
        while idx < len(lines):
            raw = lines[idx]
            idx += 1
            if not raw.rstrip("\r"):
                break
            t, _ = decomment(raw)
            t = t.strip()
            if not t:
                continue
            if t.endswith("\\"):
                part = t[:-1].strip()
                if part:
                    body.append(part)
                continue
            body.append(t)
            break
        else:
            self.diag.error(f"multi-line definition of ${name} runs to the end of the file", loc)
        self._store(name, body, loc)
        return idx

    def _store(self, name: str, lines: list[str], loc: Loc) -> None:
        """A value that uses its own name would grow on every substitution: refuse it here,
        once, instead of expanding it to the limit on every line that uses it."""
        if any((m.group(1) or m.group(3)) == name for ln in lines
               for m in PARAM_USE.finditer(ln)):
            self.diag.error(f"${name} is defined in terms of itself - ignoring the definition",
                            loc, hint="use another name for the new value")
            self.params.pop(name, None)
            return
        self.params[name] = lines

    def _predefined(self, name: str, args: str, pwd: str) -> str | None:
        if name == "_PWD":
            return pwd
        if name == "_INSTANCE":
            return self.config_id
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
            if self._rng is None:
                import random

                self._rng = random.Random(self.seed)
            return str(self._rng.randint(lo, hi))
        if name == "_ENV":
            return os.environ.get(args.strip(), "")
        return None

    def substitute(self, s: str, loc: Loc, pwd: str) -> list[str]:
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

            nxt = PARAM_USE.sub(repl, cur)
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

    def sequence(self, s: str, loc: Loc, pwd: str) -> Iterator[str]:
        """Expand a ~SEQ/~SEQx/~LST head at the start of a line, one value at a time.

        As in keepalived, the loop variable is a definition: it is set before each pass over
        the text after the head (so `$V`/`${V}` inside a multi-line $NAME used there see it)
        and keeps its last value afterwards. Parameters in the head are substituted first.
        """
        m = SEQ_HEAD.match(s)
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
            subst = self.substitute(inner, loc, pwd)
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
            self.rounds += 1
            if self.rounds > MAX_EXPANSION:
                return
            for n, v in zip(names, values, strict=True):
                self.params[n] = [v]
            yield rest

    def _seq_values(self, kind: str, inner: str, loc: Loc) -> Combos | None:
        if kind == "LST":
            return self._lst_values(inner, loc)
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

    def _lst_values(self, inner: str, loc: Loc) -> Combos | None:
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
