#!/usr/bin/env python3
"""Long fuzz run of the VRRP receive path (codec validators + FSM), coverage-guided if possible.

Why here and not in the test suite: minutes of fuzzing do not belong in CI; the short property
tests (tests/hardening/test_fuzz_vrrp.py) run the same target (tests/hardening/fuzzkit.py).
Engines: atheris (libFuzzer, coverage-guided) when installed, else a mutational random loop
seeded with the golden vectors. Any crash is saved under tests/hardening/corpus/vrrp/, where
tests/hardening/test_corpus.py replays it. Prints executions/s.

Usage: bench/fuzz_vrrp.py [--seconds 60] [--engine atheris|random]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "hardening"))


def mutate(rng: random.Random, data: bytes) -> bytes:
    """Byte edits, bit flips, insertions, deletions and splices: cheap and effective."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1 and b:
            b[min(pos, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 2:
            b[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op == 3:
            del b[pos:pos + rng.randint(1, 8)]
        else:
            v = rng.choice((0, 1, 0x7F, 0x80, 0xFF))
            if b:
                b[min(pos, len(b) - 1)] = v
    return bytes(b)


def seeds() -> list[bytes]:
    import fuzzkit

    out = [b"\x00" + s for s in fuzzkit.SEEDS4]
    out += [bytes([1 | (i << 1)]) + s[0] for i, s in enumerate(fuzzkit.SEEDS6)]
    return out


def run_random(seconds: float, target, seed_list: list[bytes], kind: str) -> int:  # type: ignore[no-untyped-def]
    import fuzzkit

    rng = random.Random(0x5EED)
    n = crashes = 0
    t0 = time.monotonic()
    end = t0 + seconds
    next_report = t0 + 10
    while time.monotonic() < end:
        for _ in range(200):
            data = mutate(rng, rng.choice(seed_list))
            n += 1
            try:
                target(data)
            except Exception:
                crashes += 1
                p = fuzzkit.save_crash(kind, data)
                print(f"CRASH saved to {p}:\n{traceback.format_exc()}", flush=True)
        now = time.monotonic()
        if now >= next_report:
            print(f"  {n} execs, {n / (now - t0):.0f} exec/s, {crashes} crashes", flush=True)
            next_report = now + 10
    dt = time.monotonic() - t0
    print(f"random engine: {n} executions in {dt:.1f} s = {n / dt:.0f} exec/s; "
          f"crashes: {crashes}")
    return 1 if crashes else 0


def run_atheris(seconds: float, target, seed_list: list[bytes], kind: str,  # type: ignore[no-untyped-def]
                instrument: list[str]) -> int:
    import atheris
    import fuzzkit

    def one(data: bytes) -> None:
        try:
            target(data)
        except Exception:
            p = fuzzkit.save_crash(kind, data)
            print(f"CRASH saved to {p}", flush=True)
            raise

    corpus = tempfile.mkdtemp(prefix=f"fuzz-{kind}-")
    for i, s in enumerate(seed_list):
        Path(corpus, f"seed{i}").write_bytes(s)
    art = fuzzkit.CORPUS / kind
    art.mkdir(parents=True, exist_ok=True)
    argv = [sys.argv[0], f"-max_total_time={int(seconds)}", f"-artifact_prefix={art}/crash-",
            "-print_final_stats=1", "-max_len=4096", corpus]
    # libFuzzer prints exec/s itself (stat::average_exec_per_sec) and exits via _exit
    atheris.Setup(argv, one)
    atheris.Fuzz()
    return 0


def main(kind: str = "vrrp") -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    args = ap.parse_args()
    engine = args.engine
    if engine == "auto":
        try:
            import atheris

            engine = "atheris"
        except ImportError:
            engine = "random"
    instr = ["pykeepalived.vrrp"] if kind == "vrrp" else ["pykeepalived.config"]
    if engine == "atheris":
        import atheris

        # instrument before the first import, or libFuzzer sees no coverage at all
        with atheris.instrument_imports(include=instr):
            import pykeepalived.config.load
            import pykeepalived.vrrp.codec
            import pykeepalived.vrrp.fsm  # noqa: F401
    import fuzzkit

    if kind == "vrrp":
        target, seed_list = fuzzkit.run_vrrp_bytes, seeds()
    else:
        import fuzz_config  # type: ignore[import-not-found]

        target, seed_list = fuzz_config.target, fuzz_config.seeds()
    print(f"fuzzing {kind} for {args.seconds:.0f} s with {engine}, {len(seed_list)} seeds",
          flush=True)
    if engine == "atheris":
        return run_atheris(args.seconds, target, seed_list, kind, instr)
    return run_random(args.seconds, target, seed_list, kind)


if __name__ == "__main__":
    raise SystemExit(main("vrrp"))
