"""Log flood protection: a burst passes, the rest is counted, different messages are kept."""

from __future__ import annotations

import logging

from pykeepalived.daemon.logsetup import RateLimit


def rec(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("pykeepalived.x", logging.INFO, __file__, 1, msg, args, None)


def test_burst_then_suppressed_then_counted(monkeypatch: object) -> None:
    f = RateLimit(interval=1.0, burst=3)
    clock = [100.0]
    monkeypatch.setattr("pykeepalived.daemon.logsetup.time.monotonic", lambda: clock[0])  # type: ignore[attr-defined]
    passed = [f.filter(rec("bad TTL from %s", "192.0.2.9")) for _ in range(10)]
    assert passed == [True] * 3 + [False] * 7
    assert f.filter(rec("bad TTL from %s", "192.0.2.10"))  # another message is its own key
    clock[0] += 1.5
    r = rec("bad TTL from %s", "192.0.2.9")
    assert f.filter(r) and r.getMessage() == "bad TTL from 192.0.2.9 (repeated 7 more times)"
