"""The e2e harness changes only what it says it changes in the shipped configs (pure)."""

from __future__ import annotations

from pathlib import Path

from e2e.harness import FAST, FAST_RETRY, adapt_config, detect_bound, timing

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "conf.d" / "lvs-dr-master.conf").read_text()


def test_fast_keeps_nb_get_retry_and_the_implementations_differ() -> None:
    text = adapt_config(SEED, interface="eth9", timers=FAST)
    assert "nb_get_retry 3" in text and "interface eth9" in text
    assert timing(text, "pykeepalived")["retry"] == 3
    assert timing(text, "keepalived")["retry"] == 1  # 2.2.7 ignores it in TCP_CHECK


def test_spelled_retry_means_the_same_to_both() -> None:
    text = adapt_config(SEED, timers=FAST_RETRY)
    assert "nb_get_retry 3" not in text and "retry 3" in text
    assert timing(text, "pykeepalived") == timing(text, "keepalived")
    assert detect_bound(text, "pykeepalived") == detect_bound(text, "keepalived")
    # everything else as FAST makes it
    assert text.replace(" retry 3", " nb_get_retry 3") == adapt_config(SEED, timers=FAST)
