"""Hostile configs never raise: every problem is a diagnostic (with a line where one exists)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from helpers.paths import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.build import HostInfo

SEED = (ROOT / "conf.d" / "lvs-dr-master.conf").read_text()
SEED_LINES = SEED.splitlines()
JUNK = st.sampled_from(["{", "}", "{{", "}}}", '"', "\x00", "#", "!", "$X=", "${X}", "$X",
                        "~SEQ(i,1,99999999999)", "~SEQ(", "~LST({a},{1,2})", "@", "@^",
                        "include /dev/null", "include *", "9" * 400, "-1", "0x", "nan",
                        "inf", "\\", "\udcff", "é", " " * 1100])


def check(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "k.conf"
        p.write_text(text, errors="surrogateescape")
        res = load_config(str(p), LoadOptions(host=HostInfo(frozenset({"eth0"})),
                                              check_scripts=False))
        for diag in res.diagnostics.items:
            assert diag.message
            if diag.loc is not None:
                assert diag.loc.line >= 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SEED_LINES)), JUNK), max_size=8),
       st.sets(st.integers(0, len(SEED_LINES) - 1), max_size=6))
def test_mutated_seed_config_never_raises(edits: list[tuple[int, str]], drop: set[int]) -> None:
    lines = [ln for i, ln in enumerate(SEED_LINES) if i not in drop]
    for pos, junk in edits:
        pos = min(pos, len(lines))
        lines.insert(pos, junk)
    check("\n".join(lines))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=600))
def test_random_text_never_raises(text: str) -> None:
    check(text)


def test_deep_nesting_and_parameter_bombs() -> None:
    check("a {\n" * 5000 + "}\n" * 5000)
    check("$A=${A}${A}\n${A}\n")
    check("$A=$B\n$B=$A\n${A}\n")
    check("~SEQ(i, 1, 100000000) x\n")
    check("$M= \\\n" + "x \\\n" * 10 + "y\n" + "$M\n" * 50)
