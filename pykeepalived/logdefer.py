"""Hold log records during a latency-critical section and emit them, in order, after it.

Why: on the failover path keepalived's log lines ("Receive advertisement timeout", "Entering
MASTER STATE", "setting VIPs", "Sending gratuitous ARP ...") cost ~50-250 µs each to format
and write (console, file or syslog), longer than the advert, the VIP add and the first GARP
together. Records keep the time they were made (``%(asctime)s``) and their order; only the
formatting and the write wait until the packets are out. `later()` goes one step further for
the calls that sit before a packet: it queues the call itself, not a LogRecord (~15 µs each to
make, several times that with the VM's caches cold after seconds of idling).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# a call queued by later(): (logger, level, msg, args, time.time() of the call)
_Call = tuple[logging.Logger, int, str, tuple[Any, ...], float]


class _Hold(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord | _Call] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_holds: list[_Hold] = []  # the active deferred() block's hold, if any


def later(lg: logging.Logger, level: int, msg: str, *args: Any) -> None:
    """``lg.log(level, msg, *args)``; inside deferred(), only the call is queued."""
    if not lg.isEnabledFor(level):
        return
    if _holds:
        _holds[-1].records.append((lg, level, msg, args, time.time()))
    else:
        lg.log(level, msg, *args)


def _record(call: _Call) -> logging.LogRecord:
    lg, level, msg, args, t = call
    rec = lg.makeRecord(lg.name, level, "(deferred)", 0, msg, args, None)
    rec.created, rec.msecs = t, (t - int(t)) * 1000
    rec.relativeCreated = (t - logging._startTime) * 1000  # type: ignore[attr-defined]
    return rec


@contextmanager
def deferred(name: str = "pykeepalived") -> Iterator[None]:
    """Within the block, records reaching logger ``name``'s handlers are held; on exit they
    go to those handlers (their levels and filters apply then). Re-entrant."""
    if _holds:  # inside a deferred() block already: its end writes these too
        yield
        return
    lg = logging.getLogger(name)
    saved = lg.handlers[:]
    hold = _Hold()
    lg.handlers[:] = [hold]
    _holds.append(hold)
    try:
        yield
    finally:
        _holds.remove(hold)
        if lg.handlers == [hold]:
            lg.handlers[:] = saved
        for item in hold.records:
            rec = item if isinstance(item, logging.LogRecord) else _record(item)
            for h in lg.handlers:
                if rec.levelno >= h.level:
                    h.handle(rec)
