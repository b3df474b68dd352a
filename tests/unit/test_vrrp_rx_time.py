"""rx_monotonic: the kernel's receive stamp moved onto the monotonic clock, clamped (pure)."""

from __future__ import annotations

import socket
import struct

from pykeepalived.vrrp.sockets import MAX_RX_AGE, SO_TIMESTAMPNS, rx_monotonic


def _anc(real: float) -> list[tuple[int, int, bytes]]:
    sec = int(real)
    return [(socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("@qq", sec, round((real - sec) * 1e9)))]


def test_age_is_carried_over() -> None:
    got = rx_monotonic(_anc(1000.0), now_mono=50.0, now_real=1000.000250)
    assert got is not None and abs(got - (50.0 - 0.000250)) < 1e-6


def test_untrusted_stamps_are_ignored() -> None:
    # wall clock stepped back (stamp in the future) or forward (stamp too old)
    assert rx_monotonic(_anc(1000.5), 50.0, 1000.0) is None
    assert rx_monotonic(_anc(1000.0), 50.0, 1000.0 + MAX_RX_AGE + 0.01) is None
    assert rx_monotonic([], 50.0, 1000.0) is None
    assert rx_monotonic([(socket.SOL_SOCKET, SO_TIMESTAMPNS, b"\0" * 8)], 50.0, 1000.0) is None
