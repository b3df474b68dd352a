"""The .deb, built once per run for test_deb.py and test_systemd.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.debroot import run
from helpers.paths import ROOT


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not installed")
    out = tmp_path_factory.mktemp("deb")
    r = run(ROOT / "packaging" / "build-deb.sh", out, timeout=600)
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.exists() and path.name.startswith("pykeepalived_"), r.stdout
    return path
