"""`status` and /metrics say what the announcer announces and why (issue 15); promtool, a third
party, checks the exposition when it is installed."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from pykeepalived.daemon import metrics
from pykeepalived.daemon.status import format_text, summarize

ANNOUNCE = [
    {"vs": "[192.0.2.10]:tcp:80", "vip": "192.0.2.10", "announced": True,
     "reason": "quorum up", "via": ["address 192.0.2.10/32 on lo"]},
    {"vs": "[192.0.2.20]:tcp:80", "vip": "192.0.2.20", "announced": False,
     "reason": "VI_1 is BACKUP",
     "via": ["route 192.0.2.20/32 dev lo table 254 proto 18"]},
]
CHECKER = {"pid": 42, "virtual_servers": [], "checks": 3, "announce": ANNOUNCE}


def test_status_text_and_json() -> None:
    now = time.time()
    doc = summarize(None, CHECKER, now)
    assert doc["checker"]["announce"] == ANNOUNCE
    text = format_text(doc, now)
    assert ("  announce 192.0.2.10 for [192.0.2.10]:tcp:80: ANNOUNCED (quorum up) via "
            "address 192.0.2.10/32 on lo") in text
    assert "  announce 192.0.2.20 for [192.0.2.20]:tcp:80: withdrawn (VI_1 is BACKUP)" in text
    assert "announce" not in format_text(summarize(None, {"pid": 1}, now), now)


def test_metrics_gauge() -> None:
    text = metrics.render(None, CHECKER)
    assert ('pykeepalived_announce_vip_announced{vs="[192.0.2.10]:tcp:80",vip="192.0.2.10",'
            'reason="quorum up"} 1') in text
    assert ('pykeepalived_announce_vip_announced{vs="[192.0.2.20]:tcp:80",vip="192.0.2.20",'
            'reason="VI_1 is BACKUP"} 0') in text
    assert text.count("# TYPE pykeepalived_announce_vip_announced gauge") == 1


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool")
def test_promtool_accepts_the_exposition() -> None:
    p = subprocess.run(["promtool", "check", "metrics"], input=metrics.render(None, CHECKER),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
