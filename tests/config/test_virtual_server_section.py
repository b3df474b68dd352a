"""virtual_server's completion (sections/virtual_server.py): where its findings are reported."""

from __future__ import annotations

from pathlib import Path

from helpers.configs import load_text

from pykeepalived.config.diagnostics import Rc

# keepalived 2.2.7 `-t` on this file (unshare --pid --fork keepalived -t -f F), exit 5:
#   (F: Line 5) sh-port only applies to sh scheduler - ignoring
#   Virtual server [192.0.2.1]:tcp:80: one packet scheduling requires UDP - resetting
FLAGS = """virtual_server 192.0.2.1 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  sh-port
  ops
  real_server 192.0.2.10 80 {
    weight 1
  }
}
"""


def test_a_scheduler_flag_is_reported_on_its_own_line(tmp_path: Path) -> None:
    res = load_text(tmp_path, FLAGS)
    assert res.exit_code() == Rc.CONFIG
    lines = {d.message.split(": ", 1)[1]: d.loc.line if d.loc else None
             for d in res.diagnostics.items}
    assert lines == {"'sh-port' only applies to the sh scheduler": 5,
                     "ops (one-packet scheduling) requires protocol UDP": 6}
