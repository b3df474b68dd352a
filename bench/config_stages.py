#!/usr/bin/env python3
"""Where `-t` spends its time: per-stage figures next to keepalived's total, in one run.

Each run is a fresh interpreter (config_stages_child.py), so import time is what `-t` pays. Stages:
  interpreter  `python -c pass` (site, the venv's path hooks)
  import       what `-t` imports before it reads the file (cli, config)
  grammar      the grammar's LALR table (shipped JSON; Lark only when it is stale)
  read         reader: files, includes, $NAME, ~SEQ, comments, words -> logical lines
  parse        brace repair + Lark: logical lines -> classified block tree
  walk+build   keyword table + model (everything load_config does that no other row names)
  report       keepalived's diagnostic order and printing
  scripts      the script/host check (`-t` without --no-host-checks) on the built model
and the whole `-t --no-host-checks` wall and peak RSS, with keepalived 2.2.7's `-t` (PID 1 of
its own PID namespace) on the same files. Stages are found by name in load.py; a stage whose
function moved shows as "-" and its time lands in walk+build.

Run as root from the repo: `.venv/bin/python bench/config_stages.py [--runs 5] [--cpu]
[--tree DIR ...]` (--cpu: CPU time instead of wall time, steadier when the machine is busy;
--tree: checkouts side by side, e.g. a `git worktree` of main against this one).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("import", "grammar", "read", "parse", "walk+build", "report", "scripts")


def run_wall(cmd: list[str], cpu: bool = False, env: dict[str, str] | None = None
             ) -> tuple[float, float, int]:
    """Wall (or user+system CPU) seconds, peak RSS MiB, exit code of one run in a child (the
    CPU time counts the child's own children)."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        os.chdir("/")  # `-m` puts the cwd first on sys.path: measure the install asked for
        try:
            os.execvpe(cmd[0], cmd, env or dict(os.environ))
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    spent = ru.ru_utime + ru.ru_stime if cpu else time.perf_counter() - t0
    return spent, ru.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def stage_run(python: str, path: Path, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([python, str(Path(__file__).with_name("config_stages_child.py")),
                          str(path)],
                         capture_output=True, text=True, check=True, cwd="/", env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--cpu", action="store_true",
                    help="CPU time (user+system) instead of wall time: steadier on a busy host")
    ap.add_argument("--tree", action="append", default=[], metavar="DIR",
                    help="a checkout to measure (repeat to compare, e.g. a `git worktree` of "
                    "main; default: this one)")
    ap.add_argument("conf", nargs="*", help="configs to measure (default: seed and big)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from config_parse import big_config

    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
    if args.cpu:
        os.environ["PYK_BENCH_CLOCK"] = "cpu"
    import compileall

    tmp = Path(tempfile.mkdtemp(prefix="pyk-stages-"))
    try:
        confs: list[tuple[str, Path]] = [(Path(c).name, Path(c).resolve()) for c in args.conf]
        if not confs:
            big = tmp / "big.conf"
            big.write_text(big_config(100, 1000, 10))
            confs = [("seed", ROOT / "conf.d" / "lvs-dr-master.conf"), ("big", big)]
        kad = shutil.which("keepalived")
        trees = [Path(t).resolve() for t in args.tree] or [ROOT]
        for t in trees:
            compileall.compile_dir(str(t / "pykeepalived"), quiet=1)
        envs = {t: {**os.environ, "PYTHONPATH": str(t)} for t in trees}
        label = {t: (t.name if len(trees) > 1 else "") for t in trees}
        got: dict[str, list[dict[str, float]]] = {}
        # run after run, every tree and config in turn: they all see the same machine load
        for _ in range(args.runs):
            for t in trees:
                interp, _, _ = run_wall([args.python, "-c", "pass"], args.cpu, envs[t])
                for name, path in confs:
                    col = f"{name}@{label[t]}" if label[t] else name
                    st = stage_run(args.python, path, envs[t])
                    w, r, _ = run_wall([args.python, "-m", "pykeepalived", "-t",
                                        "--no-host-checks", "-f", str(path)], args.cpu, envs[t])
                    st.update(interpreter=interp, wall=w, rss=r)
                    if kad:
                        # PID 1 of its own PID namespace: 2.2.7's -t may SIGTERM itself else
                        kw, kr, _ = run_wall(["unshare", "--pid", "--fork", "--kill-child",
                                              kad, "-t", "-f", str(path)], args.cpu)
                        st.update(kad_wall=kw, kad_rss=kr)
                    got.setdefault(col, []).append(st)
        cols = {c: {k: (max if k.endswith("rss") else statistics.median)(
            [g.get(k, float("nan")) for g in runs]) for k in runs[0]}
            for c, runs in got.items()}
        names = list(cols)
        print(f"median of {args.runs} runs; {'CPU' if args.cpu else 'wall'} ms unless said; "
              + ", ".join(f"{n}: {int(cols[n]['lines'])} lines" for n in names))
        width = max(12, *(len(n) + 2 for n in names))
        print(f"{'stage':<26}" + "".join(f"{n:>{width}}" for n in names))
        for row in ("interpreter", *STAGES):
            print(f"{row:<26}" + "".join(f"{cols[n].get(row, float('nan')) * 1e3:{width}.1f}"
                                         for n in names))
        rows: list[tuple[str, str, float]] = [
            ("pykeepalived -t total", "wall", 1e3), ("keepalived -t total", "kad_wall", 1e3)]
        for title, key, mul in rows:
            print(f"{title:<26}" + "".join(f"{cols[n].get(key, float('nan')) * mul:{width}.1f}"
                                           for n in names))
        print(f"{'ratio ours/keepalived':<26}"
              + "".join(f"{cols[n]['wall'] / cols[n].get('kad_wall', float('nan')):{width}.2f}"
                        for n in names))
        print(f"{'peak RSS MiB ours':<26}" + "".join(f"{cols[n]['rss']:{width}.1f}" for n in names))
        print(f"{'peak RSS MiB keepalived':<26}"
              + "".join(f"{cols[n].get('kad_rss', float('nan')):{width}.1f}" for n in names))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
