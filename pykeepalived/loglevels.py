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
