"""Run a command inside a throw-away user-mode-linux guest whose kernel has IPVS.

Why: the host (and CI) kernel has no IPVS, so kernel-facing IPVS tests run in Debian's
user-mode-linux 6.1 (package user-mode-linux), booted with the host's / as a read-only hostfs
root under a tmpfs overlay (init.sh). The guest runs the host's venv python, ipvsadm and
keepalived unchanged; writes vanish with the guest. One boot costs ~2 s.

    from ipvsvm.guest import run_in_guest, unavailable_reason
    res = run_in_guest(["ipvsadm", "-Ln"], timeout=60)
    assert res.returncode == 0, res.report()

Inside the guest ``IPVSVM_GUEST=1`` is set and ``IPVSVM_OUTDIR`` names a directory whose
files come back to the host in ``GuestResult.files`` (e.g. a junit xml).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
UML = Path(os.environ.get("IPVSVM_UML", "/usr/bin/linux.uml"))
UML_MODULES = Path("/usr/lib/uml/modules")
GUEST_CTL = "/run/ipvsvm"  # the control dir as seen from inside the guest
GUEST_OUTDIR = f"{GUEST_CTL}/files"
# everything IPVS tests may need, loaded at boot (autoload works too, but costs a python
# start per module inside UML); twos is not built in Debian's 6.1 UML kernel
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh")
DEFAULT_MODULES = ("ip_vs", *(f"ip_vs_{s}" for s in SCHEDULERS), "veth")
RC_TIMEOUT = 124
RC_GUEST_FAILED = 125
_ENV_DROP = re.compile(r"^(PWD|OLDPWD|SHLVL|_|PYTEST_.*|TMUX.*|SSH_.*|DISPLAY|DBUS_.*|XDG_.*)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GuestUnavailable(RuntimeError):
    """The guest cannot be booted on this machine (reason in the message)."""


@dataclass(frozen=True)
class GuestResult:
    """What one guest run produced."""

    returncode: int  # the command's status, or 124 (timeout) / 125 (guest failed)
    output: str  # the command's stdout+stderr, merged
    console: str  # the guest kernel console (boot messages, init errors)
    duration: float  # seconds from launching UML to its exit
    boot_seconds: float | None  # launch → command started (None if it never started)
    timed_out: bool = False
    files: Mapping[str, bytes] = field(default_factory=dict)

    def report(self) -> str:
        """Everything a failing test should show."""
        return (
            f"guest rc={self.returncode} timed_out={self.timed_out} "
            f"duration={self.duration:.1f}s boot={self.boot_seconds}\n"
            f"----- guest output -----\n{self.output}\n"
            f"----- guest console (tail) -----\n{_tail(self.console, 40)}"
        )


def _tail(text: str, n: int) -> str:
    return "\n".join(text.splitlines()[-n:])


def unavailable_reason() -> str | None:
    """Why the guest cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the IPVS guest needs root (hostfs reads the host's files as the caller)"
    if not UML.is_file() or not os.access(UML, os.X_OK):
        return f"user-mode-linux is not installed ({UML} missing): apt-get install user-mode-linux"
    release = _uml_release()
    if release is None or not (UML_MODULES / release / "modules.dep").is_file():
        return f"no UML module tree with modules.dep under {UML_MODULES}"
    if not list((UML_MODULES / release).rglob("ip_vs.ko*")):
        return "the UML kernel has no ip_vs module"
    for script in ("init.sh", "modprobe.sh"):
        if not os.access(HERE / script, os.X_OK):
            return f"{HERE / script} is not executable"
    if _cc() is None:
        return "no C compiler (cc/gcc) to build the UML xstate shim: apt-get install gcc libc6-dev"
    return None


def _uml_release() -> str | None:
    try:
        dirs = sorted(p.name for p in UML_MODULES.iterdir() if p.is_dir())
    except OSError:
        return None
    return dirs[-1] if dirs else None


def _cc() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def _shim() -> Path:
    """Build (once per source version) the LD_PRELOAD shim that makes UML 6.1 work on
    AVX-512 hosts (see uml_xstate_shim.c). Cached in /tmp, keyed by the source's hash."""
    src = HERE / "uml_xstate_shim.c"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"pykeepalived-ipvsvm-{os.geteuid()}"
    cache.mkdir(mode=0o700, exist_ok=True)
    if cache.stat().st_uid != os.geteuid() or cache.stat().st_mode & 0o022:
        raise GuestUnavailable(f"{cache} is not owned by us or is group/world-writable")
    so = cache / f"uml_xstate_shim-{digest}.so"
    if not so.exists():
        cc = _cc()
        if cc is None:
            raise GuestUnavailable("no C compiler to build the UML xstate shim")
        tmp = cache / f".{so.name}.{os.getpid()}"
        proc = subprocess.run(
            [cc, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(src), "-ldl"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0:
            raise GuestUnavailable(f"building the UML shim failed:\n{proc.stderr}")
        os.replace(tmp, so)  # atomic: parallel builders do not see half a file
    return so


def _command_script(argv: Sequence[str], cwd: str, env: Mapping[str, str]) -> str:
    lines = ["#!/bin/bash"]
    for k, v in env.items():
        if _NAME.match(k) and not _ENV_DROP.match(k):
            lines.append(f"export {k}={shlex.quote(v)}")
    lines += [
        "export IPVSVM_GUEST=1",
        f"export IPVSVM_OUTDIR={GUEST_OUTDIR}",
        f"cd {shlex.quote(cwd)} || exit {RC_GUEST_FAILED}",
        "exec " + " ".join(shlex.quote(a) for a in argv),
    ]
    return "\n".join(lines) + "\n"


def _die_with_parent() -> None:
    """preexec: UML gets SIGKILL when the process that started it dies (even by SIGKILL)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _kill_group(pgid: int, grace: float = 5.0) -> None:
    """SIGKILL UML's whole process group (it forks one host process per guest mm) and wait
    until it is empty, so no linux.uml process outlives the run."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def run_in_guest(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
    modules: Sequence[str] = DEFAULT_MODULES,
    rw_dirs: Sequence[str | os.PathLike[str]] = (),
    mem_mib: int = 768,
) -> GuestResult:
    """Boot a fresh guest, run ARGV as root in CWD with ENV, power off; always cleans up.

    Raises GuestUnavailable when the guest cannot run here. ``rw_dirs`` are host dirs
    mounted read-write at the same path (everything else is a throw-away overlay).
    """
    reason = unavailable_reason()
    if reason:
        raise GuestUnavailable(reason)
    shim = _shim()
    cwd = os.fspath(cwd or os.getcwd())
    env = dict(os.environ if env is None else env)
    rw = [os.path.realpath(d) for d in rw_dirs]
    # the guest mounts fresh, empty /tmp and /run: host paths under them that the command
    # needs (a checkout cloned to /tmp, its venv) are passed through read-only
    ro = sorted({p for p in (os.path.realpath(cwd), os.path.realpath(sys.prefix),
                             str(HERE.parents[1]))
                 if p.startswith(("/tmp/", "/run/", "/dev/shm/"))} - set(rw))
    for d in [cwd, *rw, *ro]:
        if any(c.isspace() or c == "," for c in d):
            raise ValueError(f"paths passed to the guest must not contain spaces or commas: {d}")
    run = Path(tempfile.mkdtemp(prefix="ipvsvm-run-"))
    try:
        (run / "files").mkdir()
        (run / "cmd").write_text(_command_script(argv, cwd, env))
        (run / "config").write_text(
            f"MODULES={shlex.quote(' '.join(modules))}\nRW_DIRS={shlex.quote(' '.join(rw))}\n"
            f"RO_DIRS={shlex.quote(' '.join(ro))}\n"
        )
        uml_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LD_PRELOAD": str(shim)}
        if "TMPDIR" in os.environ:  # UML's guest RAM is a deleted file there (or /dev/shm)
            uml_env["TMPDIR"] = os.environ["TMPDIR"]
        cmdline = [
            str(UML),
            f"mem={mem_mib}M",
            "root=/dev/root",
            "rootfstype=hostfs",
            "rootflags=/",
            "ro",
            f"init={HERE / 'init.sh'}",
            "con=null",
            "con0=null,fd:1",
            "ssl=null",
            f"umid=ipvsvm-{os.getpid()}-{run.name[-8:]}",
            f"uml_dir={run}",
            "quiet",
            "loglevel=4",
            f"IPVSVM_CTL={run}",
            f"IPVSVM_HOME={HERE}",
            f"IPVSVM_PY={sys.executable}",
        ]
        t0 = time.monotonic()
        t0_wall = time.time()
        timed_out = False
        with open(run / "console.log", "wb") as console:
            proc = subprocess.Popen(
                cmdline,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                env=uml_env,
                cwd=run,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(proc.pid)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        duration = time.monotonic() - t0
        started = run / "started"
        boot = started.stat().st_mtime - t0_wall if started.exists() else None
        rc_file = run / "rc"
        if rc_file.exists() and rc_file.read_text().strip().isdigit():
            rc = int(rc_file.read_text())
        else:
            rc = RC_TIMEOUT if timed_out else RC_GUEST_FAILED
        out = (run / "out").read_bytes().decode(errors="replace") if (run / "out").exists() else ""
        files = {p.name: p.read_bytes() for p in (run / "files").iterdir() if p.is_file()}
        return GuestResult(
            returncode=rc,
            output=out,
            console=(run / "console.log").read_bytes().decode(errors="replace"),
            duration=duration,
            boot_seconds=None if boot is None else round(boot, 2),
            timed_out=timed_out,
            files=files,
        )
    finally:
        shutil.rmtree(run, ignore_errors=True)


def run_script_in_guest(script: str | os.PathLike[str], argv: Sequence[str], *,
                        json_name: str, json_out: str | None, **kw: Any) -> int:
    """A bench script's host side: re-run SCRIPT --in-guest ARGV in a fresh guest, print its
    output, copy its JSON (written to IPVSVM_OUTDIR as JSON_NAME) to JSON_OUT; exit code."""
    reason = unavailable_reason()
    if reason:
        print(f"IPVS guest unavailable: {reason}", file=sys.stderr)
        return 2
    res = run_in_guest([sys.executable, str(Path(script).resolve()), "--in-guest", *argv], **kw)
    sys.stdout.write(res.output)
    if json_out and json_name in res.files:
        Path(json_out).write_bytes(res.files[json_name])
    if res.returncode != 0:
        print(res.report(), file=sys.stderr)
    return res.returncode


def main(argv: list[str]) -> int:
    """``python -m tests.ipvsvm.guest CMD...``: run CMD in a guest, print its output."""
    if not argv:
        print("usage: python -m tests.ipvsvm.guest CMD [ARGS...]", file=sys.stderr)
        return 2
    res = run_in_guest(argv, timeout=float(os.environ.get("IPVSVM_TIMEOUT", "900")))
    sys.stdout.write(res.output)
    if res.returncode in (RC_TIMEOUT, RC_GUEST_FAILED) or os.environ.get("IPVSVM_VERBOSE"):
        sys.stderr.write(_tail(res.console, 50) + "\n")
    summary = f"[ipvsvm] rc={res.returncode} {res.duration:.2f}s boot={res.boot_seconds}s"
    print(summary, file=sys.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
