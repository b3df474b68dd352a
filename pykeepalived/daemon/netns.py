"""`-s/--namespace NAME`: run inside the named network namespace, as keepalived does.

Done first, before any socket, netlink handle or child exists, so everything the daemon does
(VIPs, adverts, IPVS, scripts) happens in that namespace. Like `ip netns exec`, a private mount
namespace with a fresh /sys follows, so /sys/class/net lists the namespace's interfaces.
ctypes only: Python 3.11 has no os.setns, and this must not import pyroute2.
"""

from __future__ import annotations

import ctypes
import os

NETNS_RUN_DIR = "/run/netns"  # iproute2's (keepalived opens the same files)
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2


class NamespaceError(Exception):
    """The namespace cannot be entered; str() is keepalived's log line for the cause."""


def path(name: str) -> str:
    return os.path.join(NETNS_RUN_DIR, name)


def valid_name(name: str) -> bool:
    return bool(name) and "/" not in name and name not in (".", "..")


def _check(rc: int, what: str) -> None:
    if rc != 0:
        e = ctypes.get_errno()
        raise NamespaceError(f"{what}: {os.strerror(e)}")


def enter(name: str) -> None:
    """setns(2) into /run/netns/NAME, then a private mount namespace with its own /sys."""
    if not valid_name(name):
        raise NamespaceError(f"Failed to open {path(name)}")
    try:
        fd = os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise NamespaceError(f"Failed to open {path(name)}") from e
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        _check(libc.setns(fd, CLONE_NEWNET), f"setns {path(name)}")
    finally:
        os.close(fd)
    _check(libc.unshare(CLONE_NEWNS), "unshare mount namespace")
    # our mounts must not propagate back to the host's namespace
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_SLAVE, None), "mount --make-rslave /")
    libc.umount2(b"/sys", MNT_DETACH)  # absent in some containers: not an error
    _check(libc.mount(name.encode(), b"/sys", b"sysfs", 0, None), "mount sysfs")


def current_inode() -> int:
    return os.stat("/proc/self/ns/net").st_ino
