#!/usr/bin/env python3
"""One measured `-t`-like run for bench/config_stages.py: stage times of CONF as JSON.

A file of its own so that nothing but os, sys and time is loaded before the import stage is
timed (the interpreter has those already): the figure is what `-t` pays for its imports.
"""

from __future__ import annotations

import os
import sys
import time


def child(path: str) -> None:
    """One measured -t-like run, in this fresh interpreter; prints the stage times as JSON."""
    import gc

    # --cpu: this process's CPU time, which other work on the machine disturbs less
    clock = time.process_time if os.environ.get("PYK_BENCH_CLOCK") == "cpu" else time.perf_counter
    t0 = clock()
    gc.disable()  # as cli.config_test does around its imports
    import pykeepalived.cli  # noqa: F401
    from pykeepalived.config import load

    gc.freeze()
    gc.enable()
    t1 = clock()
    times: dict[str, float] = {"import": t1 - t0}

    def timed(owner: object, name: str, stage: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:
            return

        def wrapper(*a: object, **kw: object) -> object:
            s = clock()
            try:
                return fn(*a, **kw)
            finally:
                times[stage] = times.get(stage, 0.0) + clock() - s

        setattr(owner, name, wrapper)

    from pykeepalived.config import reader, report_order

    t2 = clock()
    try:  # the first parse_lines would load it: its own row
        from pykeepalived.config.grammar_table import table

        table()
    except ImportError:  # an older tree (--tree): Lark's parser, from its cache if any
        from pykeepalived.config.parser import _lark  # type: ignore[attr-defined]

        _lark()
    times["grammar"] = clock() - t2
    timed(reader.Reader, "read", "read")
    timed(load, "parse_lines", "parse")
    timed(report_order, "order_like_keepalived", "report")
    t3 = clock()
    res = load.load_config(path, load.LoadOptions(check_interfaces=False, check_scripts=False,
                                                  check_users=False))
    with open(os.devnull, "w", encoding="utf-8") as null:
        t4 = clock()
        for d in res.diagnostics.items:
            print(d.format(), file=null)
        times["report"] = times.get("report", 0.0) + clock() - t4
    total = clock() - t3
    known = sum(times.get(s, 0.0) for s in ("read", "parse", "report"))
    times["walk+build"] = total - known
    from pykeepalived.config.diagnostics import Diagnostics
    from pykeepalived.config.scripts import CHECKER, VRRP, check_scripts

    t5 = clock()
    check_scripts(res.config, Diagnostics(), (CHECKER, VRRP))
    times["scripts"] = clock() - t5
    with open(path, encoding="utf-8", errors="replace") as fh:
        times["lines"] = float(sum(1 for _ in fh))
    import json

    print(json.dumps(times))



if __name__ == "__main__":
    child(sys.argv[1])
