"""The .deb, built with packaging/build-deb.sh and installed into a clean Debian root.

The clean root is `debootstrap --variant=minbase --include=python3,python3.11,iproute2
bookworm` (about 40 s from deb.debian.org; cached as a tarball in /tmp so later runs unpack
it in seconds). The package's Depends are in the base, so `dpkg -i` needs no network. Then,
inside the chroot: `pykeepalived -t` on the shipped examples, the daemon itself running a
VRRP instance in a network namespace until it holds the VIP, and a clean `dpkg --purge`.
If debootstrap is missing or the mirror cannot be reached, the chroot tests are skipped with
the reason and only the extracted-tree checks run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.netns import add_veth_pair, netns, requires_netns
from helpers.paths import ROOT

pytestmark = pytest.mark.slow

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
CACHE = Path(f"/tmp/pykeepalived-debootstrap-{SUITE}-minbase.tar")
INCLUDE = "python3,python3.11,iproute2"
EXAMPLES = "/usr/share/doc/pykeepalived/examples"
EXPECTED = {
    "usr/bin/pykeepalived", "opt/pykeepalived/bin/pykeepalived",
    "lib/systemd/system/pykeepalived.service",
    "lib/systemd/system/pykeepalived-hardened.service",
    "etc/default/pykeepalived", "usr/share/man/man8/pykeepalived.8.gz",
    "usr/share/doc/pykeepalived/copyright",
    *(f"{EXAMPLES[1:]}/{n}" for n in ("lvs-dr-master.conf", "lvs-dr-backup.conf",
                                      "haproxy-master.conf", "haproxy-backup.conf",
                                      "check_haproxy.sh", "README.md")),
    *(f"{EXAMPLES[1:]}/ecmp/{n}" for n in ("pykeepalived-director.conf", "sysctl-ecmp.conf",
                                           "frr-director1.conf", "bird-director2.conf",
                                           "frr-router.conf", "README.md")),
}


def run(*argv: str | Path, timeout: float = 120, check: bool = True,
        **kw: object) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                       **kw)  # type: ignore[call-overload]
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb not installed")
    out = tmp_path_factory.mktemp("deb")
    r = run(ROOT / "packaging" / "build-deb.sh", out, timeout=600)
    path = Path(r.stdout.strip().splitlines()[-1])
    assert path.exists() and path.name.startswith("pykeepalived_"), r.stdout
    return path


def test_control_and_file_list(deb: Path, tmp_path: Path) -> None:
    info = run("dpkg-deb", "-f", deb, "Package", "Depends", "Architecture").stdout
    assert "Package: pykeepalived" in info
    assert "python3 (>= 3.11)" in info and "iproute2" in info
    assert run("dpkg-deb", "-f", deb, "Architecture").stdout.strip() == \
        run("dpkg", "--print-architecture").stdout.strip()  # psutil is compiled
    listing = run("dpkg-deb", "-c", deb).stdout
    names = {ln.split()[5].removeprefix("./") for ln in listing.splitlines()}
    assert names >= EXPECTED, EXPECTED - names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    ctl = tmp_path / "ctl"
    run("dpkg-deb", "-e", deb, ctl)
    assert (ctl / "conffiles").read_text().split() == ["/etc/default/pykeepalived"]
    x = tmp_path / "x"
    run("dpkg-deb", "-x", deb, x)
    # nothing in the venv names the build machine's staging directory
    assert run("grep", "-rIl", "pykeepalived-deb.", x / "opt", check=False).stdout == ""
    assert os.readlink(x / "usr/bin/pykeepalived") == "/opt/pykeepalived/bin/pykeepalived"
    assert (x / "opt/pykeepalived/bin/pykeepalived").read_text().startswith(
        "#!/opt/pykeepalived/bin/python")


def _debootstrap_cache() -> Path:
    if CACHE.exists():
        return CACHE
    if shutil.which("debootstrap") is None:
        pytest.skip("debootstrap not installed (apt-get install debootstrap)")
    work = Path(run("mktemp", "-d", "/tmp/pyk-dbs.XXXXXX").stdout.strip())
    try:
        r = run("debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE,
                work / "root", MIRROR, timeout=900, check=False)
        if r.returncode != 0:
            pytest.skip(f"debootstrap {SUITE} from {MIRROR} failed: "
                        f"{(r.stdout + r.stderr).strip().splitlines()[-1:]}")
        tmp = CACHE.with_suffix(".tmp")
        run("tar", "-C", work / "root", "-cf", tmp, ".", timeout=300)
        tmp.rename(CACHE)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return CACHE


@pytest.fixture
def chroot(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root (chroot)")
    cache = _debootstrap_cache()
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(cache) as tf:
        tf.extractall(root, filter="fully_trusted")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_install_check_run_purge(deb: Path, chroot: Path) -> None:
    shutil.copy(deb, chroot / "tmp" / deb.name)
    run("chroot", chroot, "dpkg", "-i", f"/tmp/{deb.name}")
    assert run("chroot", chroot, "dpkg-query", "-W", "-f=${Status}", "pykeepalived").stdout \
        == "install ok installed"
    # postinst compiled the byte code with the installed paths
    assert list((chroot / "opt/pykeepalived/lib").rglob("cli.cpython-311.pyc"))
    # and left the parser's Lark cache beside it, root's and read-only to others
    [cache] = (chroot / "opt/pykeepalived/lib").rglob("config/__pycache__/keepalived-lark-*")
    assert cache.stat().st_uid == 0 and not cache.stat().st_mode & 0o022
    assert "(pykeepalived " in run("chroot", chroot, "pykeepalived", "-v").stderr
    for conf in ("lvs-dr-master.conf", "lvs-dr-backup.conf"):
        r = run("chroot", chroot, "pykeepalived", "-t", "-f", f"{EXAMPLES}/{conf}",
                "--no-host-checks", check=False)
        assert r.returncode == 0, r.stdout + r.stderr  # deprecation warnings only
        assert "nat_mask" in r.stderr
    man = (chroot / "usr/share/man/man8/pykeepalived.8.gz")
    assert man.stat().st_size > 1000
    run("chroot", chroot, "dpkg", "--purge", "pykeepalived")
    assert not (chroot / "opt/pykeepalived").exists()
    assert not (chroot / "usr/bin/pykeepalived").exists()
    assert not (chroot / "etc/default/pykeepalived").exists()


@requires_netns
def test_installed_daemon_takes_the_vip(deb: Path, chroot: Path) -> None:
    """The installed venv really runs: pyroute2, raw sockets and netlink from inside the
    chroot, in a namespace whose only link is a veth, until the VIP is set."""
    shutil.copy(deb, chroot / "tmp" / deb.name)
    run("chroot", chroot, "dpkg", "-i", f"/tmp/{deb.name}")
    conf = chroot / "etc/keepalived/keepalived.conf"
    conf.write_text((ROOT / "conf.d" / "lvs-dr-master.conf").read_text())
    with netns("pykdeb") as ns:
        add_veth_pair(ns, "eth0", "eth1", "192.0.2.11/24")
        log = (chroot / "tmp" / "daemon.log").open("wb")
        # a private mount namespace for /proc inside the chroot; nothing leaks to the host
        script = (f"mount -t proc proc {chroot}/proc && "
                  f"exec chroot {chroot} /usr/bin/pykeepalived -n -l -G -P")
        p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "--mount",
                              "--propagation", "private", "sh", "-c", script],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            end = time.monotonic() + 20
            has = False
            while time.monotonic() < end and p.poll() is None and not has:
                out = run("ip", "-n", ns, "-o", "addr", "show", "dev", "eth0").stdout
                has = " 192.0.2.100/32 " in out
                time.sleep(0.1)
            assert has, (chroot / "tmp" / "daemon.log").read_text()
            p.send_signal(signal.SIGTERM)
            assert p.wait(20) == 0, (chroot / "tmp" / "daemon.log").read_text()
            out = run("ip", "-n", ns, "-o", "addr", "show", "dev", "eth0").stdout
            assert "192.0.2.100" not in out  # released on stop
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
            log.close()
