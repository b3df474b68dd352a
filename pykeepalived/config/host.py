"""What the host offers that a config names: interfaces, users, groups, resolvable names.

Injectable, so tests need no real interfaces; `-t --no-host-checks` skips these lookups.
"""

from __future__ import annotations

import grp
import os
import pwd
from dataclasses import dataclass


@dataclass
class HostInfo:
    """What the host offers (interfaces); injectable so tests need no real interfaces."""

    interfaces: frozenset[str] | None = None  # None: read /sys/class/net
    macvlans: frozenset[str] = frozenset()  # with `interfaces`: those that are macvlans

    users: frozenset[str] | None = None  # None: ask the password database
    groups: frozenset[str] | None = None  # None: ask the group database

    hosts: frozenset[str] | None = None  # names that resolve; None: ask the resolver

    def resolves(self, name: str) -> bool:
        """Whether `name` resolves to an address, as keepalived's getaddrinfo() asks."""
        if self.hosts is not None:
            return name in self.hosts
        import socket

        try:
            return bool(socket.getaddrinfo(name, None))
        except (OSError, UnicodeError):
            return False

    def has_interface(self, name: str) -> bool:
        if self.interfaces is not None:
            return name in self.interfaces
        return os.path.exists(f"/sys/class/net/{name}")

    def has_user(self, name: str) -> bool:
        if self.users is not None:
            return name in self.users
        try:
            pwd.getpwnam(name)
        except KeyError:
            return False
        return True

    def has_group(self, name: str) -> bool:
        if self.groups is not None:
            return name in self.groups
        try:
            grp.getgrnam(name)
        except KeyError:
            return False
        return True

    def is_private_macvlan(self, name: str) -> bool:
        """Whether an existing interface may be reused as a VMAC. sysfs does not give the
        macvlan mode (netlink does, and -t stays netlink-free): an interface stacked on
        another one (a `lower_*` link) is taken for a macvlan, a standalone one is not."""
        if self.interfaces is not None:
            return name in self.macvlans
        try:
            return any(e.startswith("lower_") for e in os.listdir(f"/sys/class/net/{name}"))
        except OSError:
            return False
