"""Shared helpers for config tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.paths import DATA


@pytest.fixture
def kad_t_tree(tmp_path: Path) -> Iterator[Path]:
    """A copy of keepalived's -t probe configs, laid out as when they were recorded."""
    dst = tmp_path / "kad"
    shutil.copytree(DATA / "kad-t", dst)
    ww = dst / "research" / "kad-t" / "inc" / "ww.sh"
    ww.chmod(0o777)  # the probe's world-writable script (git does not keep the mode)
    old = os.getcwd()
    os.chdir(dst)
    try:
        yield dst
    finally:
        os.chdir(old)
