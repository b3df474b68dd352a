"""keepalived.data / keepalived_parent.data: ours against keepalived 2.2.7's own files, both
daemons running the same config in identical namespaces (same interface names, MACs and
addresses), both signalled with USR1. Only live values are masked (timestamps, socket fd
numbers)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers.netns import netns, requires_netns, sh
from test_daemon_process import start, stop, wait_for

pytestmark = [requires_netns, pytest.mark.netns, pytest.mark.keepalived,
              pytest.mark.skipif(shutil.which("keepalived") is None,
                                 reason="needs keepalived 2.2.7")]

CONF = """
global_defs {
    router_id cmp_a
}
vrrp_script chk_true {
    script "/bin/true"
    interval 2
    timeout 3
    weight -20
    rise 2
    fall 3
}
vrrp_script chk_plain {
    script "/bin/true --version"
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
    track_script {
        chk_true
        chk_plain weight 5
    }
    notify_master "/bin/echo master"
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 53
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        192.0.2.101/24
    }
}
"""

# keepalived in a private mount namespace: its /tmp dumps and pidfiles stay its own
KAD_RUN = r"""
set -e
mount -t tmpfs tmpfs /tmp
keepalived -n -l -D -f "$CONF" -p /tmp/k.pid -r /tmp/v.pid -c /tmp/c.pid >/tmp/log 2>&1 &
kp=$!
for i in $(seq 1 100); do
  [ "$(grep -c 'Entering MASTER STATE' /tmp/log)" -ge 2 ] && break; sleep 0.1
done
sleep 4.5  # the scripts reach their steady state (rise 2 x interval 2)
kill -USR1 $kp
for i in $(seq 1 50); do [ -s /tmp/keepalived.data ] && break; sleep 0.1; done
sleep 0.3
cp /tmp/keepalived.data /tmp/keepalived_parent.data /tmp/log "$OUT"/
kill -TERM $kp; wait $kp || true
"""


def layout(ns: str) -> None:
    sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
    sh("ip", "-n", ns, "link", "set", "eth0", "address", "02:00:00:00:00:0a")
    sh("ip", "-n", ns, "link", "set", "eth1", "address", "02:00:00:00:00:0b")
    for dev in ("eth0", "eth1"):
        sh("ip", "-n", ns, "link", "set", dev, "up")
    sh("ip", "-n", ns, "addr", "add", "192.0.2.11/24", "dev", "eth0")


def wait_dad(ns: str) -> None:
    """Both link-local addresses usable (keepalived prints them in Interfaces)."""
    wait_for(lambda: "tentative" not in sh("ip", "-n", ns, "-6", "addr").stdout, 10, "DAD")


def mask(text: str) -> list[str]:
    out = []
    for ln in text.splitlines():
        ln = re.sub(r"^(   (Last transition|Read timeout) = ).*", r"\1<ts>", ln)
        ln = re.sub(r"fd_in \d+(,? fd_out =?) ?\d+", r"fd_in <fd>\1 <fd>", ln)
        out.append(ln)
    return out


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, str]]:
    base = tmp_path_factory.mktemp("dumps-live")
    conf = base / "keepalived.conf"
    conf.write_text(CONF)
    kad_out = Path("/var/tmp") / f"pyk-kad-{os.getpid()}-{base.name}"
    kad_out.mkdir()
    try:
        with netns("pyk-dk") as ns:
            layout(ns)
            wait_dad(ns)
            # the config outside /tmp: keepalived's /tmp is a fresh tmpfs
            kconf = kad_out / "keepalived.conf"
            kconf.write_text(CONF)
            subprocess.run(["ip", "netns", "exec", ns, "unshare", "--mount", "--pid", "--fork",
                            "--kill-child", "--propagation", "private", "bash", "-c", KAD_RUN],
                           env={**os.environ, "CONF": str(kconf), "OUT": str(kad_out)},
                           check=True, timeout=60)
            theirs = {f: (kad_out / f).read_text() for f in
                      ("keepalived.data", "keepalived_parent.data")}
    finally:
        shutil.rmtree(kad_out, ignore_errors=True)
    with netns("pyk-do") as ns:
        layout(ns)
        wait_dad(ns)
        node = start(ns, base, conf)
        try:
            wait_for(lambda: node.log.read_text().count("Entering MASTER STATE") >= 2, 15,
                     "both instances MASTER")
            time.sleep(4.5)
            os.kill(node.proc.pid, signal.SIGUSR1)
            wait_for(lambda: all((base / f).exists() for f in
                                 ("keepalived.data", "keepalived_parent.data")), 10, "dumps")
            time.sleep(0.3)
            ours = {f: (base / f).read_text() for f in
                    ("keepalived.data", "keepalived_parent.data")}
        finally:
            assert stop(node) == 0
    keep = os.environ.get("PYK_KEEP_DUMPS")  # a directory: keep both sets to diff by hand
    if keep:
        for who, files in (("ours", ours), ("kad", theirs)):
            for f, text in files.items():
                Path(keep, f"{who}.{f}").write_text(text)
    return ours, theirs


def _section(text: str, name: str) -> list[str]:
    lines = mask(text)
    head = f"------< {name} >------"
    if head not in lines:
        return []
    i = lines.index(head) + 1
    j = next((k for k in range(i, len(lines)) if lines[k].startswith("------<")), len(lines))
    return lines[i:j]


@pytest.mark.parametrize("section", ["Global definitions", "VRRP Topology", "VRRP Sockpool",
                                     "VRRP Scripts", "Interfaces"])
def test_data_sections_match_keepalived(both, section: str) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = both
    assert _section(ours["keepalived.data"], section) == \
        _section(theirs["keepalived.data"], section)


def test_data_section_order(both) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = both
    heads = [[ln for ln in t["keepalived.data"].splitlines() if ln.startswith("------<")]
             for t in (ours, theirs)]
    assert heads[0] == heads[1]


def test_parent_data_matches_keepalived(both) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = both
    assert mask(ours["keepalived_parent.data"]) == mask(theirs["keepalived_parent.data"])


def test_whole_file_matches(both) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = both
    assert mask(ours["keepalived.data"]) == mask(theirs["keepalived.data"])


