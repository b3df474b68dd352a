"""keepalived's log severities that Python's logging lacks.

DETAIL: lines keepalived writes only with -D/--log-detail, yet at LOG_INFO (GARP sends,
"setting VIPs.", "Assigned address ..."): hidden without -D, `<30>`/info in syslog with it.
ALERT: LOG_ALERT, which keepalived uses for a child's death ("VRRP child process(N) died").
"""

from __future__ import annotations

import logging

DETAIL = 15  # between DEBUG and INFO: -D turns it on, syslog severity 6 (info)
ALERT = 55  # above CRITICAL: syslog severity 1 (alert)

logging.addLevelName(DETAIL, "DETAIL")
logging.addLevelName(ALERT, "ALERT")

# syslog(3) facilities keepalived's -S names (values of <syslog.h>); here, not in
# daemon/logsetup, so that `-t` checks -S without importing the syslog machinery
LOG_USER, LOG_DAEMON, LOG_LOCAL0 = 1, 3, 16


def facility_code(name: str | int | None) -> int | None:
    """keepalived's -S: 0-7 (LOCALn), local0-7, user, daemon (the default); None if invalid.

    Names are case-sensitive, as keepalived's ('LOCAL7' is invalid there too)."""
    s = str(name if name is not None else "daemon")
    if s.isdigit():
        return LOG_LOCAL0 + int(s) if int(s) <= 7 else None
    if s.startswith("local") and s[5:].isdigit() and len(s) == 6 and int(s[5:]) <= 7:
        return LOG_LOCAL0 + int(s[5:])
    return {"user": LOG_USER, "daemon": LOG_DAEMON}.get(s)
