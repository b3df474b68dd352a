"""The keepalived 2.3.3 oracle: Debian 13's keepalived in a debootstrap'd root, run with chroot.

`run(file, cwd, netns)` answers what `keepalived -t -f FILE` 2.3.3 says about a config, the
way the host's 2.2.7 is asked in tests/config/test_differential.py. Each run happens in a
private mount namespace over a throw-away overlay of the shared root, so concurrent runs never
see each other's files and nothing is left behind, even if the run is killed:
- the directories holding the config and the working directory are bind-mounted at the same
  paths (includes and relative paths resolve as on the host);
- script files the config names (absolute paths, or bare commands found on the host's PATH)
  are copied in with their owner and mode, and so are the host's /etc/passwd and /etc/group:
  script security then judges the same files and users as the host's 2.2.7 does;
- keepalived is PID 1 of its own PID namespace (2.2.7's `-t` SIGTERMs itself otherwise).
The root is built by scripts/kad233-root.sh when missing (set PYK_KAD233_BUILD=0 to forbid).
Standard library only, so bench/ can import it too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = Path(os.environ.get("PYK_KAD233_ROOT", "/var/cache/pykeepalived/trixie-keepalived"))
BUILD_SCRIPT = REPO / "scripts" / "kad233-root.sh"
MARK = ".pykeepalived-complete"
KEEPALIVED = "/usr/sbin/keepalived"
TIMEOUT_RC = 124

# directories that belong to the root's own system: never bind a host copy over them
_SYSTEM = {"/", "/etc", "/usr", "/var", "/bin", "/sbin", "/lib", "/lib64", "/proc", "/sys",
           "/dev", "/run", "/boot", "/tmp", "/root", "/home", "/opt", "/srv", "/mnt"}
# keywords whose values are commands keepalived checks (script security, "Cannot find")
_SCRIPT_KWS = re.compile(
    r"^\s*(script|misc_path|notify\w*|quorum_up|quorum_down|startup_script|shutdown_script"
    r"|\w*fifo_script|\w*notify_fifo)\b(.*)$")
_LINE = re.compile(r"^\((?:(?P<file>[^)]*): )?Line (?P<line>\d+)\) (?P<msg>.*)$")
_MAX_SCAN = 200  # config files followed through include, per run


def root_ready(root: Path = ROOT) -> bool:
    return (root / MARK).is_file() and (root / KEEPALIVED.lstrip("/")).exists()


@lru_cache(maxsize=1)
def skip_reason() -> str | None:
    """Why the 2.3.3 oracle cannot run here (None: it can); builds the root when allowed."""
    if os.geteuid() != 0:
        return "the keepalived 2.3.3 oracle needs root (chroot, namespaces)"
    for tool in ("ip", "unshare", "mount"):
        if shutil.which(tool) is None:
            return f"the keepalived 2.3.3 oracle needs {tool}"
    if root_ready():
        return None
    if os.environ.get("PYK_KAD233_BUILD", "1") == "0":
        return f"no keepalived 2.3.3 root at {ROOT} (PYK_KAD233_BUILD=0 forbids building it)"
    p = subprocess.run(["bash", str(BUILD_SCRIPT), str(ROOT)], capture_output=True, text=True,
                       timeout=900, stdin=subprocess.DEVNULL)
    if p.returncode != 0 or not root_ready():
        why = (p.stderr.strip().splitlines() or ["no message"])[-1]
        return f"cannot build the keepalived 2.3.3 root: {why}"
    return None


def version() -> str:
    """The oracle's version line, e.g. 'Keepalived v2.3.3 (03/30,2025)'."""
    return (ROOT / MARK).read_text(encoding="utf-8").strip()


def parse(messages: list[str]) -> list[tuple[int | None, str]]:
    """(line, message) pairs from keepalived's `(FILE: Line N) message` output lines."""
    out: list[tuple[int | None, str]] = []
    for raw in messages:
        m = _LINE.match(raw)
        out.append((int(m.group("line")), m.group("msg")) if m else (None, raw))
    return out


def run(file: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None,
        netns: str | None = None, timeout: float = 20) -> tuple[int, list[str]]:
    """`keepalived -t -f FILE` 2.3.3 in `netns` (None: the caller's): exit code, output lines.

    A run that does not finish in `timeout` is killed and answers TIMEOUT_RC (as timeout(1)).
    """
    reason = skip_reason()
    if reason:
        raise RuntimeError(reason)
    path = Path(os.path.abspath(file))
    wd = Path(os.path.abspath(cwd)) if cwd is not None else path.parent
    with tempfile.TemporaryDirectory(prefix="pyk-kad233-") as tmp:
        t = Path(tmp)
        upper, work, merged = t / "upper", t / "work", t / "merged"
        for d in (upper, work, merged):
            d.mkdir()
        trees = _trees(path, wd)
        for tree in trees:
            _mkdirs_like_host(upper, tree)
        for f in ("/etc/passwd", "/etc/group"):
            _copy_like_host(upper, Path(f))
        for f in _named_files(path, trees, wd):
            if not (ROOT / str(f).lstrip("/")).exists():
                _copy_like_host(upper, f)
        if not any(path.is_relative_to(tree) for tree in trees):
            _copy_like_host(upper, path)
        q = shlex.quote
        script = [f"mount -t overlay pyk-kad233 -o lowerdir={q(str(ROOT))},"
                  f"upperdir={q(str(upper))},workdir={q(str(work))} {q(str(merged))}"]
        script += [f"mount --rbind {q(str(tree))} {q(str(merged) + str(tree))}"
                   for tree in trees]
        script += _netns_binds(upper, merged)
        # --kill-child: a keepalived that hangs (2.3.3 loops on some configs) dies with us
        script.append(f"exec unshare --pid --fork --kill-child --root={q(str(merged))} "
                      f"--wd={q(str(wd))} "
                      f"{KEEPALIVED} -t -f {q(str(path))}")
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-ec",
               "\n".join(script)]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return TIMEOUT_RC, [f"keepalived -t did not finish within {timeout:g} s"]
        # the overlay's work dir holds a root-only 'work' dir: TemporaryDirectory removes it
    lines = [ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    return p.returncode, lines


def _netns_binds(upper: Path, merged: Path) -> list[str]:
    """Bind the caller's /run/netns in: keepalived opens `net_namespace NAME` there, and
    2.3.3 exits 0 without checking the rest of a file whose namespace it cannot open."""
    if not Path("/run/netns").is_dir():
        return []
    (upper / "run" / "netns").mkdir(parents=True, exist_ok=True)
    return [f"mount --rbind /run/netns {shlex.quote(str(merged) + '/run/netns')}"]


def _trees(path: Path, wd: Path) -> list[Path]:
    """Host directories bound into the root: the config's and the working directory."""
    out: list[Path] = []
    for d in (path.parent, wd):
        if str(d) in _SYSTEM:
            continue
        if any(d.is_relative_to(o) for o in out):
            continue
        out = [o for o in out if not o.is_relative_to(d)] + [d]
    return out


def _mkdirs_like_host(upper: Path, d: Path) -> None:
    """Create d's path in the overlay with the host's owner and mode on each component."""
    cur = Path("/")
    for part in d.parts[1:]:
        cur = cur / part
        target = upper / str(cur).lstrip("/")
        if target.exists():
            continue
        if (ROOT / str(cur).lstrip("/")).is_dir() and cur != d:
            # the root has it already: keep the root's attributes (e.g. /tmp, /etc)
            target.mkdir()
            st = (ROOT / str(cur).lstrip("/")).stat()
        else:
            target.mkdir()
            st = cur.stat()
        os.chown(target, st.st_uid, st.st_gid)
        os.chmod(target, st.st_mode & 0o7777)


def _copy_like_host(upper: Path, f: Path) -> None:
    if not f.is_file():
        return
    _mkdirs_like_host(upper, f.parent)
    target = upper / str(f).lstrip("/")
    shutil.copy2(f, target)
    st = f.stat()
    os.chown(target, st.st_uid, st.st_gid)


def _named_files(path: Path, trees: list[Path], wd: Path) -> set[Path]:
    """Script files the config and its includes name that lie outside the bound trees."""
    seen: set[Path] = set()
    todo = [path]
    out: set[Path] = set()
    while todo and len(seen) < _MAX_SCAN:
        f = todo.pop()
        if f in seen or not f.is_file():
            continue
        seen.add(f)
        try:
            names, includes = _scan(str(f), f.stat().st_mtime_ns)
        except OSError:
            continue
        for pattern in includes:
            for base in (f.parent, wd):
                root, pat = (Path("/"), pattern.lstrip("/")) if pattern.startswith("/") \
                    else (base, pattern)
                hits = [h for h in sorted(root.glob(pat))[:_MAX_SCAN] if h.is_file()]
                todo.extend(hits)
                # an include outside the bound trees is copied in like a script
                out.update(h for h in hits if not any(h.is_relative_to(t) for t in trees))
                if hits or pattern.startswith("/"):
                    break
        for name in names:
            cand = Path(name) if name.startswith("/") else None
            if cand is None:
                found = shutil.which(name)
                cand = Path(found) if found else None
            if cand is not None and cand.is_file() \
                    and not any(cand.is_relative_to(t) for t in trees):
                out.add(cand)
    return out


@lru_cache(maxsize=4096)
def _scan(file: str, mtime_ns: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Command words of the script keywords, and include patterns, of one config file."""
    try:
        text = Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return (), ()
    names: list[str] = []
    includes: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].split("!", 1)[0]
        words = line.split()
        if len(words) >= 2 and words[0] == "include" and "$" not in words[1]:
            includes.append(words[1].strip("\"'"))
            continue
        m = _SCRIPT_KWS.match(line)
        if not m:
            continue
        for tok in re.split(r"[\s\"']+", m.group(2)):
            if tok and not tok.isdigit() and (tok.startswith("/")
                                              or re.fullmatch(r"[A-Za-z0-9_.+-]+", tok)):
                names.append(tok)
    return tuple(dict.fromkeys(names)), tuple(includes)


def daemon_argv(netns: str, conf: str | os.PathLike[str], run_dir: str | os.PathLike[str],
                *extra: str) -> list[str]:
    """argv running the keepalived 2.3.3 daemon (`-n -l -D -P`) in `netns`, for interop tests.

    The root is mounted as an overlay whose upper layer is `run_dir` (its pidfiles and
    anything it writes stay there), with /proc, /sys and the config's directory bound in, all
    inside a private mount namespace that vanishes with the process. keepalived is exec()ed,
    so the returned process is keepalived itself: signals reach it directly.
    """
    reason = skip_reason()
    if reason:
        raise RuntimeError(reason)
    rd = Path(run_dir)
    upper, work, merged = rd / "upper", rd / "work", rd / "merged"
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    path = Path(os.path.abspath(conf))
    _mkdirs_like_host(upper, path.parent)
    for f in ("/etc/passwd", "/etc/group"):
        _copy_like_host(upper, Path(f))
    q = shlex.quote
    m = str(merged)
    script = "\n".join([
        f"mount -t overlay pyk-kad233 -o lowerdir={q(str(ROOT))},upperdir={q(str(upper))},"
        f"workdir={q(str(work))} {q(m)}",
        f"mount --rbind /proc {q(m + '/proc')}",
        f"mount --rbind /sys {q(m + '/sys')}",
        f"mount --rbind {q(str(path.parent))} {q(m + str(path.parent))}",
        *_netns_binds(upper, merged),
        f"cd {q(m)}",
        f"exec chroot {q(m)} {KEEPALIVED} -n -l -D -P -f {q(str(path))} "
        + " ".join(q(a) for a in extra),
    ])
    return ["ip", "netns", "exec", netns, "unshare", "--mount", "--propagation", "private",
            "sh", "-ec", script]
