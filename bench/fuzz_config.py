#!/usr/bin/env python3
"""Long fuzz run of the config loader (reader, Lark grammar, keyword table, model).

Complements tests/config/test_fuzz.py (150 hypothesis examples per property) with minutes of
coverage-guided (atheris) or mutational fuzzing seeded with conf.d/ and the kad-t corpus.
Crashes (any exception out of load_config) are saved under tests/hardening/corpus/config/ and
replayed by tests/hardening/test_corpus.py. Prints executions/s.

Usage: bench/fuzz_config.py [--seconds 60] [--engine atheris|random]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "hardening"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def seeds() -> list[bytes]:
    """Real configs, capped in size so each execution stays in the millisecond range."""
    files = sorted((ROOT / "conf.d").glob("*.conf"))
    files += sorted((ROOT / "tests" / "data" / "kad-t").rglob("*.conf"))[:200]
    out = [f.read_bytes()[:4000] for f in files if f.is_file()]
    return [s for s in out if s] or [b"global_defs {\n}\n"]


def target(data: bytes) -> None:
    import fuzzkit

    fuzzkit.run_config_text(data.decode("utf-8", "surrogateescape"))


if __name__ == "__main__":
    import fuzz_vrrp

    raise SystemExit(fuzz_vrrp.main("config"))
