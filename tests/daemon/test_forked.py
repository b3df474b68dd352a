"""daemon/forked.py: a child forked from inside a running asyncio loop keeps only the
descriptors it was given, reads /dev/null on stdin, runs its own loop, and its exit (code or
signal) reaches the parent through the pidfd, as asyncio.subprocess reports it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time

from pykeepalived.daemon.forked import ForkedProcess, fork_child


def _child_report(w: int) -> int:
    async def inner() -> int:  # a loop of its own: the parent's belongs to another pid
        await asyncio.sleep(0)
        return 7

    rc = asyncio.run(inner())
    fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
    stdin = os.readlink("/proc/self/fd/0")
    os.write(w, json.dumps({"fds": fds, "stdin": stdin}).encode())
    os.close(w)
    return rc


def test_child_keeps_only_its_fds_and_reports_its_exit() -> None:
    async def main() -> tuple[int, dict[str, object], int, int]:
        r, w = os.pipe()
        stray = socket.socket()  # e.g. the metrics listener: must not leak into the child
        pid = fork_child(lambda: _child_report(w), [w])
        os.close(w)
        proc = ForkedProcess(pid)
        rc = await asyncio.wait_for(proc.wait(), 10)
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        stray.close()
        return rc, json.loads(data), w, stray.fileno()

    rc, rep, w, _ = asyncio.run(main())
    assert rc == 7
    # 0-2, the kept pipe end, and the fd listdir itself opened (closed right after)
    extra = [f for f in rep["fds"] if f not in (0, 1, 2, w)]  # type: ignore[attr-defined]
    assert len(extra) <= 1  # the directory listdir itself had open, nothing inherited
    assert rep["stdin"] == "/dev/null"


def test_exception_and_signal_exits() -> None:
    async def main() -> tuple[int, int, bool]:
        def boom() -> int:
            raise ValueError("boom")

        p1 = ForkedProcess(fork_child(boom, []))
        rc1 = await asyncio.wait_for(p1.wait(), 10)

        def sleeper() -> int:
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            time.sleep(10)  # killed long before
            return 0

        p2 = ForkedProcess(fork_child(sleeper, []))
        p2.kill()
        rc2 = await asyncio.wait_for(p2.wait(), 10)
        try:
            p2.send_signal(signal.SIGTERM)
            gone = False
        except ProcessLookupError:
            gone = True
        return rc1, rc2, gone

    rc1, rc2, gone = asyncio.run(main())
    assert rc1 == 1  # a traceback on stderr, never back into the parent's code
    assert rc2 == -signal.SIGKILL
    assert gone
