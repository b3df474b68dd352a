"""Clean Debian roots for the .deb tests, and booting one under a real systemd (nspawn).

The roots (Debian 12 bookworm, 13 trixie: minbase + systemd, iproute2, python3, apt's lists and
the package's Debian dependencies downloaded, not installed) are built once by
scripts/pkg-roots.sh into /var/cache/pykeepalived/<suite>-systemd ($PYK_ROOTS_DIR). Tests never
write to them: each works on a throw-away overlay (`overlay`), so a run leaves nothing behind
and runs cannot see each other. scripts/test.sh builds the roots before pytest; when that
failed it sets PYK_PKG_ROOTS_BUILD=0 and the tests skip with the reason instead of retrying.

`Container` boots an overlay with `systemd-nspawn -b` inside a network namespace the test made
(so the container's systemd, its units and the daemon see only that namespace's links) and
runs commands inside it with nsenter into the container's init: no machined or host systemd
is needed (the test machine's PID 1 is not systemd).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOTS_DIR = Path(os.environ.get("PYK_ROOTS_DIR", "/var/cache/pykeepalived"))
BUILD_SCRIPT = REPO / "scripts" / "pkg-roots.sh"
MARK = ".pykeepalived-complete"
SUITES = ("bookworm", "trixie")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(*argv: str | Path, timeout: float = 120, check: bool = True,
        **kw: object) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                       **kw)  # type: ignore[call-overload]
    if check and r.returncode != 0:
        raise AssertionError(f"{argv} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r  # type: ignore[no-any-return]


def debian_root(suite: str) -> Path:
    """The complete cached root of `suite`, built when missing; skips when it cannot be."""
    root = ROOTS_DIR / f"{suite}-systemd"
    if (root / MARK).is_file():
        return root
    if os.geteuid() != 0:
        pytest.skip(f"the {suite} root is missing and building it needs root")
    if os.environ.get("PYK_PKG_ROOTS_BUILD") == "0":
        pytest.skip(f"the {suite} root could not be built (scripts/pkg-roots.sh failed in "
                    "scripts/test.sh: see its output)")
    r = run("bash", BUILD_SCRIPT, suite, timeout=900, check=False)
    if r.returncode != 0 or not (root / MARK).is_file():
        why = (r.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"the {suite} root could not be built: {why}")
    return root


@contextlib.contextmanager
def overlay(lower: Path, work: Path) -> Iterator[Path]:
    """A writable view of `lower` whose changes land in `work` and vanish with it."""
    up, wd, merged = work / "upper", work / "work", work / "merged"
    for d in (up, wd, merged):
        d.mkdir(parents=True)
    os.chmod(merged, 0o755)
    r = run("mount", "-t", "overlay", "overlay", "-o",
            f"lowerdir={lower},upperdir={up},workdir={wd}", merged, check=False)
    if r.returncode != 0:
        pytest.skip(f"cannot mount an overlay over {lower}: {r.stderr.strip()}")
    try:
        yield merged
    finally:
        if run("umount", merged, check=False).returncode != 0:
            run("umount", "-l", merged, check=False)
        shutil.rmtree(work, ignore_errors=True)


def chroot(root: Path, *argv: str, timeout: float = 300,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("chroot", root, "env", "-i", f"PATH={PATH}", "LC_ALL=C.UTF-8",
               "DEBIAN_FRONTEND=noninteractive", *argv, timeout=timeout, check=check)


def install_deb(root: Path, deb: Path) -> str:
    """`dpkg -i`, then `apt-get -f install` from the root's own apt (its cache holds the
    dependencies: no network); returns what dpkg and apt said (the maintainer scripts too)."""
    shutil.copy(deb, root / "tmp" / deb.name)
    first = chroot(root, "dpkg", "-i", f"/tmp/{deb.name}", check=False)
    said = first.stdout + first.stderr
    if first.returncode != 0:
        fix = chroot(root, "apt-get", "-f", "install", "-y", "-qq", "--no-download",
                     "--no-install-recommends")
        said += fix.stdout + fix.stderr
    status = chroot(root, "dpkg-query", "-W", "-f=${Status}", "pykeepalived").stdout
    assert status == "install ok installed", said
    return said


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class Container:
    """A root booted with systemd as PID 1 under systemd-nspawn, in network namespace `ns`."""

    def __init__(self, root: Path, ns: str, log: Path) -> None:
        self.root, self.ns, self.log_path = root, ns, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.leader = 0

    def boot(self, timeout: float = 90) -> None:
        exe = shutil.which("systemd-nspawn")
        if exe is None:
            pytest.skip("systemd-nspawn not installed (apt-get install systemd-container)")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [exe, "-q", "-D", str(self.root), "--register=no", "--keep-unit",
                 # the namespace is the test's own: its links are the container's to manage
                 f"--network-namespace-path=/run/netns/{self.ns}", "--capability=CAP_NET_ADMIN",
                 "--console=read-only",
                 "-b"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.proc.poll() is None and not self.leader:
            kids = _children(self.proc.pid)
            if kids and Path(f"/proc/{kids[0]}/exe").exists():
                try:
                    if os.readlink(f"/proc/{kids[0]}/exe").endswith("/systemd"):
                        self.leader = kids[0]
                except OSError:
                    pass
            time.sleep(0.1)
        if not self.leader:
            self.stop()
            pytest.skip(f"systemd-nspawn did not boot {self.root}: {self.tail()}")
        state = ""
        while time.monotonic() < end and self.proc.poll() is None:
            state = self.sh("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.3)
        raise AssertionError(f"the container's systemd did not finish booting ({state!r})\n"
                             f"{self.tail()}")

    def sh(self, *argv: str, check: bool = True,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `argv` inside the container (its namespaces and root, a clean environment)."""
        assert self.leader, "not booted"
        return run("nsenter", "-t", str(self.leader), "-m", "-u", "-i", "-n", "-p", "-C",
                   "-r", "-w", "env", "-i", f"PATH={PATH}", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0",
                   *argv, timeout=timeout, check=check)

    def ctl(self, *argv: str, timeout: float = 60) -> None:
        """systemctl ARGV in the container; a failure shows the units' journal."""
        r = self.sh("systemctl", *argv, check=False, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"systemctl {' '.join(argv)} -> {r.returncode}: "
                                 f"{r.stdout}{r.stderr}\n{self.journal()}")

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.sh("systemctl", "show", unit, "-p", ",".join(props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, what: str, pred: object, timeout: float = 30) -> None:
        """Poll pred() (bounded in time) until true; fail naming `what` and the journal."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():  # type: ignore[operator]
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.journal()}")

    def journal(self, unit: str = "pykeepalived*", tail: int = 6000) -> str:
        return self.sh("journalctl", "--no-pager", "-o", "short-monotonic", "-u", unit,
                       check=False).stdout[-tail:]

    def tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Clean shutdown (nspawn turns SIGTERM into the container's poweroff), bounded."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
