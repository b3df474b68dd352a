"""Hold log records during a latency-critical section and emit them, in order, after it.

Why: on the failover path keepalived's log lines ("Receive advertisement timeout", "Entering
MASTER STATE", "setting VIPs", "Sending gratuitous ARP ...") cost ~50-250 µs each to format
and write (console, file or syslog), longer than the advert, the VIP add and the first GARP
together. Records keep the time they were made (``%(asctime)s``) and their order; only the
formatting and the write wait until the packets are out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Hold(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def deferred(name: str = "pykeepalived") -> Iterator[None]:
    """Within the block, records reaching logger ``name``'s handlers are held; on exit they
    go to those handlers (their levels and filters apply then). Re-entrant."""
    lg = logging.getLogger(name)
    if any(isinstance(h, _Hold) for h in lg.handlers):
        yield
        return
    saved = lg.handlers[:]
    hold = _Hold()
    lg.handlers[:] = [hold]
    try:
        yield
    finally:
        if lg.handlers == [hold]:
            lg.handlers[:] = saved
        for rec in hold.records:
            for h in lg.handlers:
                if rec.levelno >= h.level:
                    h.handle(rec)
