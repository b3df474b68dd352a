"""The wheel carries the grammar and the keyword table: `-t` works from an installed package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers.paths import ROOT


@pytest.mark.slow
def test_wheel_ships_grammar_and_keyword_table(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                        "-q", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    wheel = next(tmp_path.glob("pykeepalived-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pykeepalived/grammar/keepalived.lark" in names
    assert "pykeepalived/grammar/keepalived.table.json" in names
    assert "pykeepalived/config/model/__init__.py" in names
    assert "pykeepalived/config/keywords.txt" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_every_package_is_listed_in_pyproject() -> None:
    """setuptools ships only the packages pyproject lists: a new subpackage left out installs
    a pykeepalived that fails to import (the .deb test finds it only minutes later)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "pykeepalived").rglob("__init__.py")}
    assert on_disk - listed == set()
