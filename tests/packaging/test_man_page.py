"""The man page documents every option `pykeepalived -h` shows, and the rendered page has no
groff warnings (man --warnings, the tool the page is read with)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

import pytest

from pykeepalived.cli import build_parser

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAN = os.path.join(ROOT, "packaging", "pykeepalived.8")
DEFAULT = os.path.join(ROOT, "packaging", "default", "pykeepalived")


def shown_options() -> list[str]:
    out = []
    for act in build_parser()._actions:
        if act.help == argparse.SUPPRESS:
            continue
        out += [o for o in act.option_strings if o not in ("-h", "--help")]
    return out


def test_every_shown_option_is_documented() -> None:
    with open(MAN, encoding="utf-8") as fh:
        page = fh.read().replace("\\-", "-")
    missing = [o for o in shown_options() if o not in page]
    assert not missing, f"not in packaging/pykeepalived.8: {missing}"
    for o in ("--metrics", "-a", "-B", "--all", "-b", "-x", "-s", "-T", "--genhash"):
        assert o in shown_options()  # the check above covers the ones issue 13 named


def test_default_file_shows_metrics() -> None:
    with open(DEFAULT, encoding="utf-8") as fh:
        assert "--metrics" in fh.read()


@pytest.mark.skipif(shutil.which("man") is None, reason="needs man-db")
def test_man_renders_without_warnings() -> None:
    p = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "METRICS" in p.stdout and "keepalived_script_status" in p.stdout
