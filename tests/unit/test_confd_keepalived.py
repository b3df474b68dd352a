"""The conf.d example configs, checked by the real keepalived 2.2.7 (`keepalived -t`).

Each example runs inside a network namespace the test creates (an ``eth0`` carrying the
director's documentation address), in a private mount namespace in which a temporary
directory is bind-mounted on ``/etc/keepalived`` (so ``/etc/keepalived/check_haproxy.sh`` is the
shipped script, root:root 0755) and a copy of ``/etc/passwd``/``/etc/group`` with the
``keepalived_script`` user is bind-mounted over the real files. Nothing on the host changes.

keepalived runs as PID 1 of a fresh PID namespace: keepalived 2.2.7's ``-t`` kills itself with
SIGTERM (exit 143, no output) as soon as a vrrp_script runs as a non-root user
(acassen/keepalived#2617, ``main_pid != getppid()`` in ``check_script_secure()``); with PID 1,
``getppid()`` is 0 and the check passes. ``test_keepalived_227_t_terminates_with_script_user``
pins that bug.

Verdicts asserted:
- LVS-DR pair: rc 5, and the only complaints are the 1.x legacy lines the seed really has
  (``nat_mask``, ``nb_get_retry`` in TCP_CHECK, ``persistence_timeout 0``).
- HAProxy pair: rc 0, no output.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFD = REPO / "conf.d"
KEEPALIVED = "/usr/sbin/keepalived"
SCRIPT_USER = "keepalived_script"
TOOLS = ("ip", "unshare", "timeout", "mount", "sh")

# config file -> address of the director that runs it (on eth0, /24)
DIRECTORS: dict[str, str] = {
    "lvs-dr-master.conf": "192.0.2.11",
    "lvs-dr-backup.conf": "192.0.2.12",
    "haproxy-master.conf": "192.0.2.11",
    "haproxy-backup.conf": "192.0.2.12",
}

# Runs inside the netns: private mounts, then exec keepalived -t.
# $1 etc dir, $2 passwd, $3 group, $4 config path as seen by keepalived.
RUNNER = (
    'mount --bind "$1" /etc/keepalived && '
    'mount --bind "$2" /etc/passwd && '
    'mount --bind "$3" /etc/group && '
    'exec "$5" -t -f "$4"'
)

MSG_RE = re.compile(r"^\((?:(?P<file>[^()]+): )?Line (?P<line>\d+)\) (?P<msg>.*)$")


def _missing_prerequisite() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    if not os.access(KEEPALIVED, os.X_OK):
        return f"{KEEPALIVED} not installed"
    for tool in TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} not found"
    if not Path("/etc/keepalived").is_dir():
        return "/etc/keepalived missing (bind-mount target)"
    return None


_SKIP = _missing_prerequisite()
requires_rig = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=15, check=False)


def _ip_ok(*args: str) -> None:
    res = _ip(*args)
    if res.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {res.stderr.strip()}")


@pytest.fixture
def make_netns(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Return a factory: make_netns('192.0.2.11') -> name of a netns with eth0 192.0.2.11/24.

    Every namespace is deleted by a finalizer registered right after `ip netns add`, so it
    goes away even if the rest of the set-up or the test fails.
    """

    def factory(address: str) -> str:
        name = f"pyka-confd-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        _ip_ok("netns", "add", name)
        request.addfinalizer(lambda: _ip("netns", "delete", name))
        _ip_ok("-n", name, "link", "set", "lo", "up")
        # A dummy eth0 if the kernel has the module, else one end of a veth pair whose
        # peer stays inside the same namespace (nothing leaves it either way).
        if _ip("-n", name, "link", "add", "eth0", "type", "dummy").returncode != 0:
            _ip_ok("-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer")
            _ip_ok("-n", name, "link", "set", "eth0-peer", "up")
        _ip_ok("-n", name, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip_ok("-n", name, "link", "set", "eth0", "up")
        return name

    return factory


def _free_id(path: Path, start: int = 64000) -> int:
    used = {
        int(f[2]) for f in (ln.split(":") for ln in path.read_text().splitlines()) if len(f) > 2
    }
    candidate = start
    while candidate in used:
        candidate += 1
    return candidate


@dataclass(frozen=True)
class Rig:
    """Files bind-mounted inside the test's mount namespace."""

    etc: Path  # -> /etc/keepalived
    passwd: Path  # -> /etc/passwd
    group: Path  # -> /etc/group


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    etc = tmp_path / "etc-keepalived"
    etc.mkdir()
    etc.chmod(0o755)
    for src in sorted(CONFD.iterdir()):
        if src.suffix in (".conf", ".sh"):
            dst = etc / src.name
            shutil.copyfile(src, dst)
            dst.chmod(0o755 if src.suffix == ".sh" else 0o644)

    passwd_text = Path("/etc/passwd").read_text()
    group_text = Path("/etc/group").read_text()
    if not any(ln.startswith(f"{SCRIPT_USER}:") for ln in passwd_text.splitlines()):
        uid = _free_id(Path("/etc/passwd"))
        gid = _free_id(Path("/etc/group"))
        passwd_text += f"{SCRIPT_USER}:x:{uid}:{gid}::/nonexistent:/usr/sbin/nologin\n"
        if not any(ln.startswith(f"{SCRIPT_USER}:") for ln in group_text.splitlines()):
            group_text += f"{SCRIPT_USER}:x:{gid}:\n"
    passwd = tmp_path / "passwd"
    group = tmp_path / "group"
    passwd.write_text(passwd_text)
    group.write_text(group_text)
    passwd.chmod(0o644)
    group.chmod(0o644)
    yield Rig(etc=etc, passwd=passwd, group=group)


@dataclass(frozen=True)
class Verdict:
    rc: int
    output: str

    def complaints(self) -> set[tuple[int | None, str]]:
        """(line, message) pairs; keepalived repeats messages once per subsystem: dedupe."""
        found: set[tuple[int | None, str]] = set()
        for raw in self.output.splitlines():
            text = raw.strip()
            if not text:
                continue
            m = MSG_RE.match(text)
            if m:
                found.add((int(m["line"]), m["msg"]))
            else:
                found.add((None, text))
        return found


def keepalived_t(netns: str, rig: Rig, conf: str, *, pid_namespace: bool = True) -> Verdict:
    unshare = ["unshare", "--mount", "--propagation", "private"]
    if pid_namespace:
        unshare += ["--pid", "--fork", "--kill-child"]
    cmd = [
        "timeout", "-k", "5", "30",
        "ip", "netns", "exec", netns,
        *unshare,
        "sh", "-euc", RUNNER, "sh",
        str(rig.etc), str(rig.passwd), str(rig.group), f"/etc/keepalived/{conf}", KEEPALIVED,
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode != 124, f"keepalived -t timed out on {conf}"
    return Verdict(rc=res.returncode, output=res.stdout + res.stderr)


def expected_legacy_complaints(conf_text: str) -> set[tuple[int | None, str]]:
    """What keepalived 2.2.7 says about the seed's 1.x lines, located by scanning the file."""
    expected: set[tuple[int | None, str]] = set()
    for lineno, line in enumerate(conf_text.splitlines(), start=1):
        words = line.split("#", 1)[0].split("!", 1)[0].split()
        if not words:
            continue
        if words[0] in ("nat_mask", "nb_get_retry"):
            expected.add((lineno, f"Unknown keyword '{words[0]}'"))
        elif words[:2] == ["persistence_timeout", "0"]:
            expected.add((lineno, "number '0' outside range [1, 2678400]"))
            expected.add((lineno, "persistence_timeout invalid"))
    return expected


@pytest.mark.parametrize("conf", ["lvs-dr-master.conf", "lvs-dr-backup.conf"])
@pytest.mark.netns
@pytest.mark.keepalived
@requires_rig
def test_lvs_dr_only_legacy_complaints(
    conf: str, make_netns: Callable[[str], str], rig: Rig
) -> None:
    text = (CONFD / conf).read_text()
    expected = expected_legacy_complaints(text)
    # the example must really carry the seed's legacy lines
    assert {msg for _, msg in expected} == {
        "Unknown keyword 'nat_mask'",
        "Unknown keyword 'nb_get_retry'",
        "number '0' outside range [1, 2678400]",
        "persistence_timeout invalid",
    }
    verdict = keepalived_t(make_netns(DIRECTORS[conf]), rig, conf)
    assert verdict.complaints() == expected, verdict.output
    assert verdict.rc == 5, verdict.output


@pytest.mark.parametrize("conf", ["haproxy-master.conf", "haproxy-backup.conf"])
@pytest.mark.netns
@pytest.mark.keepalived
@requires_rig
def test_haproxy_pair_clean(conf: str, make_netns: Callable[[str], str], rig: Rig) -> None:
    verdict = keepalived_t(make_netns(DIRECTORS[conf]), rig, conf)
    assert verdict.complaints() == set(), verdict.output
    assert verdict.rc == 0, verdict.output


@pytest.mark.netns
@pytest.mark.keepalived
@requires_rig
def test_keepalived_227_t_terminates_with_script_user(
    make_netns: Callable[[str], str], rig: Rig
) -> None:
    """acassen/keepalived#2617: without the PID-namespace trick `keepalived -t` on the seed-style
    HAProxy config (script run as a non-root user that exists) dies of its own SIGTERM."""
    version = subprocess.run(
        [KEEPALIVED, "-v"], capture_output=True, text=True, timeout=10, check=False
    )
    if "v2.2.7" not in version.stdout + version.stderr:
        pytest.skip("bug pinned for keepalived 2.2.7 only")
    verdict = keepalived_t(
        make_netns(DIRECTORS["haproxy-master.conf"]),
        rig,
        "haproxy-master.conf",
        pid_namespace=False,
    )
    assert verdict.rc in (143, -15), verdict
    assert verdict.complaints() == set(), verdict.output


def test_check_script_is_safe_to_ship() -> None:
    """keepalived refuses (enable_script_security) a script writable by non-root."""
    script = CONFD / "check_haproxy.sh"
    mode = script.stat().st_mode
    assert mode & stat.S_IXUSR, "check_haproxy.sh must be executable"
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH), (
        "check_haproxy.sh must not be group/other writable"
    )
    assert script.read_text().startswith("#!/bin/bash\n")
    for conf in ("haproxy-master.conf", "haproxy-backup.conf"):
        assert '"/etc/keepalived/check_haproxy.sh"' in (CONFD / conf).read_text()


PYKEEPALIVED = str(Path(sys.executable).parent / "pykeepalived")


@pytest.mark.parametrize("conf", sorted(DIRECTORS))
@pytest.mark.netns
@requires_rig
def test_pykeepalived_passes_every_confd_config(
    conf: str, make_netns: Callable[[str], str], rig: Rig
) -> None:
    """The same files, installed as conf.d/README.md says: pykeepalived -t exits 0; the seed's
    1.x keywords are warnings, not errors (the intended difference from keepalived)."""
    if not Path(PYKEEPALIVED).exists():
        pytest.skip("pykeepalived is not installed in this interpreter's environment")
    cmd = ["timeout", "-k", "5", "30", "ip", "netns", "exec", make_netns(DIRECTORS[conf]),
           "unshare", "--mount", "--propagation", "private", "sh", "-euc", RUNNER, "sh",
           str(rig.etc), str(rig.passwd), str(rig.group), f"/etc/keepalived/{conf}",
           PYKEEPALIVED]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "error:" not in res.stderr, res.stderr
    if conf.startswith("lvs-dr"):
        assert "'nat_mask' is a legacy keyword" in res.stderr
