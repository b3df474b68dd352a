"""Daemon entry point (issue: the daemon an operator runs)."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    print("pykeepalived: the daemon is not implemented yet; use -t to check a config",
          file=sys.stderr)
    return 1
