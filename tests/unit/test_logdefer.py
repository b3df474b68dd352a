"""deferred() and later(): log lines of the take-over are written after its packets, in the
order and with the times of the calls."""

from __future__ import annotations

import logging
import time

import pytest

from pykeepalived.logdefer import deferred, later


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.got: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.got.append(record)


@pytest.fixture
def keep() -> object:
    lg = logging.getLogger("pykeepalived")
    h, old = _Keep(), lg.level
    lg.addHandler(h)
    lg.setLevel(logging.DEBUG)
    yield h
    lg.removeHandler(h)
    lg.setLevel(old)


def test_calls_and_records_keep_order_and_time(keep: _Keep) -> None:
    lg = logging.getLogger("pykeepalived.vrrp.engine")
    with deferred():
        later(lg, logging.INFO, "(%s) one", "VI_1")
        t1 = time.time()
        time.sleep(0.02)
        lg.info("two")
        later(lg, logging.INFO, "three %d", 3)
        later(lg, logging.DEBUG, "below the handler's level")
        assert keep.got == []  # nothing written inside the block
    assert [r.getMessage() for r in keep.got] == ["(VI_1) one", "two", "three 3"]
    assert keep.got[0].created <= t1 < keep.got[1].created  # the time of the call
    assert keep.got[0].name == "pykeepalived.vrrp.engine"


def test_later_outside_a_block_logs_at_once(keep: _Keep) -> None:
    later(logging.getLogger("pykeepalived.x"), logging.WARNING, "now %s", "!")
    assert [r.getMessage() for r in keep.got] == ["now !"]


def test_nested_blocks_flush_once(keep: _Keep) -> None:
    lg = logging.getLogger("pykeepalived")
    with deferred():
        with deferred():
            later(lg, logging.INFO, "a")
        assert keep.got == []
        lg.info("b")
    assert [r.getMessage() for r in keep.got] == ["a", "b"]
