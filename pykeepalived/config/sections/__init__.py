"""One module per keepalived section: its keywords as typed attributes and its completion.

Importing the package registers every section class for the walker (section.REGISTRY).
"""

from pykeepalived.config.sections import (  # noqa: F401  (registration)
    checked_only,
    checkers,
    global_defs,
    http_checkers,
    real_server,
    root,
    sync_group,
    tracking,
    virtual_server,
    vrrp_instance,
    vs_group,
)
from pykeepalived.config.sections.section import REGISTRY, Entry, Section

__all__ = ["REGISTRY", "Entry", "Section"]
