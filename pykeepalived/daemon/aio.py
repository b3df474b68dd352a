"""asyncio for the parent and the VRRP child without the ssl module; TLS back in the checker.

Why: asyncio imports ssl at its own import, whether or not anything uses TLS, and ssl loads
OpenSSL: 4.3 MiB RSS in the parent and 1.3 MiB more in every child forked from it (5.5 MiB of
the parent + VRRP child's 45), 6-10 ms of the start. Only the checker child speaks TLS
(SSL_GET); the parent (plain-HTTP metrics) and the VRRP child never do.

asyncio is made for an interpreter without ssl (each of its modules falls back to `ssl =
None`), so it is imported with ssl marked missing, and the mark removed at once. A process that
needs TLS later (the checker child, forked from the parent) calls restore_tls(): it imports
ssl and sets the module-level names asyncio would have set had ssl been there at its import.
"""

from __future__ import annotations

import sys


def _without_ssl() -> list[object]:
    """asyncio's modules that bound `ssl = None` at import: base_events, selector_events and
    sslproto in CPython 3.11-3.13, found by that mark rather than listed, so a version that
    binds it in another module too is covered."""
    return [mod for name, mod in list(sys.modules.items())
            if name.startswith("asyncio.") and getattr(mod, "ssl", False) is None]


def import_without_tls() -> bool:
    """Import asyncio with ssl marked missing; False (nothing done) when either is loaded."""
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return False
    sys.modules["ssl"] = None  # type: ignore[assignment]  # `import ssl` raises ImportError
    try:
        import asyncio  # noqa: F401
    finally:
        del sys.modules["ssl"]
    return True


def restore_tls() -> None:
    """Give asyncio its ssl support back (a no-op when it has it)."""
    import ssl

    for mod in _without_ssl():
        mod.ssl = ssl  # type: ignore[attr-defined]
    proto = sys.modules.get("asyncio.sslproto")
    if proto is not None and not hasattr(proto, "SSLAgainErrors"):
        proto.SSLAgainErrors = (ssl.SSLWantReadError,  # type: ignore[attr-defined]
                                ssl.SSLSyscallError)


def tls_ready() -> bool:
    """Whether asyncio in this process can make TLS connections (what restore_tls ensures)."""
    return not _without_ssl()
