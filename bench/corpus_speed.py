#!/usr/bin/env python3
"""`-t` wall time over a config corpus: pykeepalived against keepalived, file by file.

    .venv/bin/python bench/corpus_speed.py --corpus ../shared/corpus/wild-dev [--sample 100]

Each entry point of the corpus's EXPECTED-keepalived-2.2.7.tsv is checked by both, one after
the other (so both see the same machine load), from the corpus root as the recording did:
`pykeepalived -t -f F` (a fresh interpreter, what an operator runs) and keepalived 2.2.7's
`-t -f F` as PID 1 of its own PID namespace. No network world is built (bench/conformance.py
does that for the verdicts): a missing interface costs both the same lookup. Prints the median
walls and the median of the per-file ratios; the issue's target is a median ratio <= 3.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TSV = "EXPECTED-keepalived-2.2.7.tsv"


def wall(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
         ) -> float | None:
    t0 = time.perf_counter()
    try:
        subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--sample", type=int, default=0, help="this many files (seeded), 0: all")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--python", default=sys.executable,
                    help="e.g. /usr/bin/python3: this checkout run as the .deb runs it (no venv)")
    args = ap.parse_args()
    kad = shutil.which("keepalived")
    if not kad or os.geteuid() != 0:
        print("needs root and keepalived installed", file=sys.stderr)
        return 2
    files = [ln.split("\t")[0] for ln in (args.corpus / TSV).read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    if args.sample and args.sample < len(files):
        files = sorted(random.Random(args.seed).sample(files, args.sample))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
    import compileall

    compileall.compile_dir(str(ROOT / "pykeepalived"), quiet=1)
    ours_cmd = [args.python, "-m", "pykeepalived", "-t", "-f"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kad_cmd = ["unshare", "--pid", "--fork", "--kill-child", kad, "-t", "-f"]
    ours: list[float] = []
    theirs: list[float] = []
    ratios: list[float] = []
    skipped = 0
    for f in files:
        o = wall([*ours_cmd, f], args.corpus, args.timeout, env)
        k = wall([*kad_cmd, f], args.corpus, args.timeout)
        if o is None or k is None:  # a hang of either says nothing about speed
            skipped += 1
            continue
        ours.append(o)
        theirs.append(k)
        ratios.append(o / k)
    if not ratios:
        print("no file timed", file=sys.stderr)
        return 1
    q = statistics.quantiles(ratios, n=10) if len(ratios) > 1 else ratios * 9
    print(f"{len(ratios)} files ({skipped} timed out, left out) from {args.corpus}")
    print(f"median wall ms: pykeepalived {statistics.median(ours) * 1e3:.1f}, "
          f"keepalived {statistics.median(theirs) * 1e3:.1f}")
    print(f"per-file ratio ours/keepalived: median {statistics.median(ratios):.2f}, "
          f"p10 {q[0]:.2f}, p90 {q[-1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
