"""Issue 7, second set-up: the HAProxy-style pair (conf.d/haproxy-*.conf, seed 004) on the host.

Both nodes are ``state BACKUP`` + ``nopreempt`` and track the local HAProxy with a
``vrrp_script`` under ``enable_script_security``. The story users expect: the node that came
up first holds the VIP; when its HAProxy stops, the VIP moves; when HAProxy is back, the VIP
stays where it is (nopreempt). No IPVS needed, so this runs on the host in namespaces.

Adaptations (nothing else changes): the interface name; the script path → a test script in a
root-owned 0755 directory under /run (every directory on the path root-owned and not
writable by others, so script security accepts it; /tmp would not do); ``script_user`` /
``user`` keepalived_script → root (the host has no such user and we do not touch
/etc/passwd). The tracked "HAProxy" is a listener on 127.0.0.1:8404 in each node's
namespace; the script checks the port with bash's /dev/tcp.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.harness import (
    CONF_D,
    HERE,
    IFNAME,
    KEEPALIVED,
    PYTHON,
    Impl,
    Proc,
    _spawn,
    daemon_argv,
    sh,
    wait_for,
)

pytestmark = [pytest.mark.netns, pytest.mark.slow]

VIP = "192.0.2.200"
NODES = {"n1": ("haproxy-master.conf", "192.0.2.11"), "n2": ("haproxy-backup.conf", "192.0.2.12")}
SERVICE_PORT = 8404
MASTER_DOWN = 3 * 1.0 + (256 - 95) / 256  # advert_int 1, lower priority 95
SCRIPT = f"""#!/bin/bash
# e2e stand-in for check_haproxy.sh: is "haproxy" (a listener on :{SERVICE_PORT}) up?
exec 3<>/dev/tcp/127.0.0.1/{SERVICE_PORT}
"""


def adapt(text: str, script: Path) -> str:
    """The shipped config as the rig runs it (see the module docstring)."""
    text = re.sub(r"(?m)^(\s*interface\s+)\S+", rf"\g<1>{IFNAME}", text)
    text = text.replace('"/etc/keepalived/check_haproxy.sh"', f'"{script}"')
    text = re.sub(r"(?m)^(\s*script_user\s+)keepalived_script", r"\g<1>root", text)
    return re.sub(r"(?m)^(\s*user\s+)keepalived_script", r"\g<1>root", text)


class Pair:
    """Bridge namespace + two node namespaces, daemons and "haproxy" listeners; always
    torn down."""

    def __init__(self, tmp: Path, impl: Impl, script: Path) -> None:
        self.tmp, self.impl, self.script = tmp, impl, script
        self.id = f"hap{os.getpid() % 10000}{int(time.monotonic() * 1000) % 10000}"
        self.nss: list[str] = []
        self.procs: list[Proc] = []
        self.daemons: dict[str, Proc] = {}
        self.services: dict[str, Proc] = {}

    def ns(self, n: str) -> str:
        return f"{self.id}-{n}"

    def up(self) -> None:
        br = self.ns("br")
        self._ns(br)
        sh("ip", "-n", br, "link", "add", "br0", "type", "bridge", "stp_state", "0",
           "forward_delay", "0")  # fmt: skip
        sh("ip", "-n", br, "link", "set", "br0", "up")
        for n, (_conf, addr) in NODES.items():
            ns = self.ns(n)
            self._ns(ns)
            sh("ip", "-n", br, "link", "add", f"p-{n}", "type", "veth", "peer", "name", IFNAME,
               "netns", ns)  # fmt: skip
            sh("ip", "-n", br, "link", "set", f"p-{n}", "master", "br0", "up")
            sh("ip", "-n", ns, "link", "set", IFNAME, "up")
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", IFNAME)

    def _ns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.nss.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def down(self) -> None:
        for p in reversed(self.procs):
            with contextlib.suppress(Exception):
                p.kill_group()
        for ns in reversed(self.nss):
            sh("ip", "netns", "del", ns, check=False)

    def start_service(self, n: str) -> None:
        argv = ["ip", "netns", "exec", self.ns(n), PYTHON, str(HERE / "rs_http.py"),
                f"haproxy-{n}", str(SERVICE_PORT)]  # fmt: skip
        p = _spawn(f"svc-{n}", argv, self.tmp / f"svc-{n}.log", self.tmp)
        self.procs.append(p)
        self.services[n] = p

        def listening() -> bool:
            out = sh("ip", "netns", "exec", self.ns(n), "ss", "-Htln",
                     f"sport = :{SERVICE_PORT}", check=False).stdout  # fmt: skip
            return bool(out.strip())

        wait_for(listening, 20, f"haproxy stand-in on {n}", 0.05)

    def stop_service(self, n: str) -> float:
        t = time.monotonic()
        self.services.pop(n).stop(signal.SIGTERM, 5)
        return t

    def start_daemon(self, n: str) -> Proc:
        conf_name, _ = NODES[n]
        conf = self.tmp / f"{n}.conf"
        conf.write_text(adapt((CONF_D / conf_name).read_text(), self.script))
        run = self.tmp / f"{n}-run"
        run.mkdir(exist_ok=True)
        argv = daemon_argv(self.impl, conf, run)
        p = _spawn(n, ["ip", "netns", "exec", self.ns(n), *argv], self.tmp / f"{n}.log", run)
        self.procs.append(p)
        self.daemons[n] = p
        return p

    def holders(self) -> list[str]:
        out = []
        for n in NODES:
            addrs = sh("ip", "-n", self.ns(n), "-o", "-4", "addr", "show", "dev", IFNAME).stdout
            if f" {VIP}/" in addrs:
                out.append(n)
        return out

    def logs(self) -> str:
        return "\n".join(
            f"----- {n} ({self.impl}) -----\n" + "\n".join(p.text().splitlines()[-30:])
            for n, p in self.daemons.items()
        )


@pytest.fixture
def script_dir() -> Iterator[Path]:
    """A root-owned 0755 directory under /run (root-owned, 0755) holding the check script."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = Path(tempfile.mkdtemp(prefix="pyk-e2e-", dir="/run"))
    try:
        d.chmod(0o755)
        script = d / "check_haproxy.sh"
        script.write_text(SCRIPT)
        script.chmod(0o755)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("impl", ["pykeepalived", "keepalived"])
def test_haproxy_pair_vip_moves_and_stays(impl: Impl, tmp_path: Path, script_dir: Path) -> None:
    if impl == "keepalived" and not os.access(KEEPALIVED, os.X_OK):
        pytest.skip("keepalived 2.2.7 is not installed")
    pair = Pair(tmp_path, impl, script_dir / "check_haproxy.sh")
    try:
        pair.up()
        for n in NODES:
            pair.start_service(n)
        # n1 comes up first and becomes MASTER (both are BACKUP: after master-down)
        pair.start_daemon("n1")
        wait_for(lambda: pair.holders() == ["n1"], 30, "n1 MASTER")
        pair.start_daemon("n2")
        time.sleep(MASTER_DOWN + 1)  # n2 must stay BACKUP (lower priority anyway)
        assert pair.holders() == ["n1"], pair.logs()

        # HAProxy on the MASTER stops: the script fails (fall 1), n1 → FAULT, the VIP moves
        t_stop = pair.stop_service("n1")
        t_moved = wait_for(lambda: pair.holders() == ["n2"], 15, "VIP on n2 only")
        assert t_moved - t_stop <= 1.0 + MASTER_DOWN + 1.5, pair.logs()

        # HAProxy is back on n1 (higher priority): nopreempt → the VIP stays on n2
        pair.start_service("n1")
        deadline = time.monotonic() + MASTER_DOWN + 3
        while time.monotonic() < deadline:
            assert pair.holders() == ["n2"], f"VIP moved back despite nopreempt\n{pair.logs()}"
            time.sleep(0.2)
        for n, p in pair.daemons.items():
            assert p.alive(), f"{n} died\n{pair.logs()}"
    finally:
        pair.down()
