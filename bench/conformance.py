#!/usr/bin/env python3
"""Conformance runner: `pykeepalived -t` against keepalived's `-t` verdicts on a config corpus.

    .venv/bin/python bench/conformance.py --corpus ../shared/corpus/wild-dev [--live]
        [--kad233] [--oracle NAME=MODULE:CALLABLE] [--only REGEX] [--json FILE] [-v]

The corpus holds `EXPECTED-keepalived-2.2.7.tsv` (entry point, exit code, wall s, first
message), recorded in one network namespace holding a veth (up) for every interface name the
corpus mentions. The runner rebuilds that world without touching the host: it re-executes
itself under `unshare --mount --net --uts` (private mount, network and host-name namespaces),
mounts sysfs (so /sys/class/net is this netns's), a tmpfs on /run/netns with a bind mount of
this netns for every `net_namespace NAME` the corpus names (keepalived 2.2.7 exits 0 without
checking a file whose namespace it cannot open), sets a host name no `@ID` line names, and
creates the veths (names from `interface`, `dev` and track_interface, parameters substituted;
not `use_vmac` names, not wireless ones: the recording had none). Everything vanishes with the
process; the live keepalived run against its own recording tells whether the world matches.

Oracles: the recorded 2.2.7 verdicts always; `--live` adds the installed keepalived (run as PID
1 of its own PID namespace, else 2.2.7's -t SIGTERMs itself when it checks scripts);
`--kad233` keepalived 2.3.3 in its debootstrap'd root (tests/helpers/kad233.py);
`--oracle NAME=module:attr` any other: a callable (file, cwd, netns) -> (rc, messages), run
inside the namespaces with the corpus as working directory; `netns` names this netns in the
private /run/netns so `ip netns exec NETNS ...` works too. A version in NAME selects the
compat.py differences that apply to it.

Ours runs in-process (forked per file from a warmed-up parent: the grammar is built once), two
at a time, each with its own timeout (a hang); `--ours-cli` runs the command instead.
Exit codes must be equal; a disagreement counts as agreement only when keepalived failed with
5, we passed, and every keepalived message is an intended difference listed in
pykeepalived/config/compat.py (or one it only logs). First error line: where both fail and
keepalived's first message has a line, our first error must be on that line (our first
warning, when keepalived's first message is an intended difference).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import inspect
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pykeepalived.config.compat import is_intended_for, is_log_only  # noqa: E402

TSV = "EXPECTED-keepalived-2.2.7.tsv"
NETNS_NAME = "pyk-conformance"  # this netns, as seen in the private /run/netns
INSIDE_ENV = "PYK_CONFORMANCE_INSIDE"
# the host name inside (a private UTS namespace): keepalived's default config id for `@ID`
# lines, so verdicts do not depend on the machine's name (none of the corpus's ids)
HOSTNAME = "conformance"
NO_VERDICT = (124, 139)  # keepalived hung (timeout) or crashed: no verdict to compare with
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"

Messages = list[str]
OracleFn = Callable[[str, Path, str], tuple[int, Messages]]


@dataclass(frozen=True)
class Oracle:
    """A reference `-t`: name + callable(file relative to cwd, cwd, netns) -> (rc, messages)."""

    name: str
    run: OracleFn
    version: str = "2.2.7"  # which keepalived's differences in compat.py apply


@dataclass(frozen=True)
class Entry:
    file: str  # relative to the corpus root (keepalived was run from there with -f FILE)
    rc: int
    wall: float
    first: str  # '' when keepalived printed nothing


@dataclass
class Ours:
    rc: int | None = None  # None: traceback or hang
    diags: list[dict] = field(default_factory=list)
    traceback: str | None = None
    hang: bool = False
    wall: float = 0.0


# ---------------------------------------------------------------- corpus


def read_tsv(corpus: Path) -> list[Entry]:
    out: list[Entry] = []
    for raw in (corpus / TSV).read_text().splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        f, rc, wall, first = [*raw.split("\t"), "", "", ""][:4]
        out.append(Entry(f, int(rc), float(wall or 0), "" if first == "-" else first))
    return out


_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_NSNAME = re.compile(r"^[^/\s.][^/\s]{0,62}$")
_DEF = re.compile(r"^\s*(?:@\^?\S+\s+)?\$([A-Za-z_][A-Za-z0-9_]*)=\s*(\S*)")
_USE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_IF_KW = re.compile(r"^\s*(?:interface|default_interface|lvs_sync_daemon|"
                    r"lvs_sync_daemon_interface)\s+(\S+)")
_DEV = re.compile(r"\bdev\s+(\S+)")
_VMAC = re.compile(r"^\s*use_vmac\s+(\S+)")
_NETNS = re.compile(r"\bnet_namespace\s+(\S+)")
# The recording's world had no wireless names (its keepalived said "interface wlan0 ...
# doesn't exist" for `interface wlan0`): leave them out so the recorded verdicts hold.
_NOT_MADE = re.compile(r"^wl")


def _corpus_files(corpus: Path) -> Iterable[Path]:
    for p in sorted(corpus.rglob("*")):
        if p.is_file() and p.name != TSV and p.stat().st_size < 4 << 20:
            yield p


def _expand(word: str, params: dict[str, set[str]], depth: int = 3) -> set[str]:
    """Every value `word` can take with the file's parameters (each definition counts)."""
    out = {word}
    for _ in range(depth):
        nxt: set[str] = set()
        for w in out:
            m = _USE.search(w)
            vals = params.get((m.group(1) or m.group(2)) if m else "", set())
            if not m or not vals:
                nxt.add(w)
                continue
            nxt.add(w)  # an undefined parameter stays as written
            nxt.update(w[:m.start()] + v + w[m.end():] for v in sorted(vals)[:32])
        out = nxt if len(nxt) <= 256 else out
    return out


def scan_names(corpus: Path) -> tuple[list[str], list[str]]:
    """Interface names and net_namespace names the corpus mentions (sorted).

    Interfaces: `interface X` (instances, sync daemon, default), `dev X` (addresses, routes,
    rules) and the entries of `track_interface` blocks, with every value a `$NAME=value`
    parameter of the same file takes substituted; never a `use_vmac` name (keepalived makes
    those). Namespaces: every `net_namespace X`, as written and substituted.
    """
    ifs: set[str] = set()
    vmacs: set[str] = set()
    netns: set[str] = set()
    for p in _corpus_files(corpus):
        try:
            text = p.read_text(errors="replace")
        except OSError:
            continue
        params: dict[str, set[str]] = {}
        for line in text.splitlines():
            cond = re.match(r"\s*@(\^?)(\S+)", line)
            if cond and (cond.group(2) == HOSTNAME) == bool(cond.group(1)):
                continue
            m = _DEF.match(line)
            if m:
                params.setdefault(m.group(1), set()).add(m.group(2).rstrip("\\"))
        in_track = False
        for line in text.splitlines():
            line = re.split(r"(?<!\\)[#!]", line, maxsplit=1)[0].replace("\\", " ")
            words = line.split()
            if not words:
                continue
            if words[0].startswith("@"):  # a config-id conditional, as keepalived reads it
                neg = words[0].startswith("@^")
                if (words[0][2 if neg else 1:] == HOSTNAME) == neg:
                    continue
                words = words[1:]
                line = " ".join(words)
            if not words:
                continue
            if in_track:
                if "}" in line:
                    in_track = False
                elif words[0] != "{":
                    ifs.update(_expand(words[0], params))
                continue
            if words[0] == "track_interface":
                in_track = "}" not in line
                continue
            for rx, into in ((_IF_KW, ifs), (_VMAC, vmacs), (_NETNS, netns)):
                for m in rx.finditer(line):
                    into.update(_expand(m.group(1), params))
            for m in _DEV.finditer(line):
                ifs.update(_expand(m.group(1), params))
    names = sorted(n for n in ifs - vmacs
                   if _IFNAME.match(n) and n != "lo" and not _NOT_MADE.match(n))
    return names, sorted(n for n in netns if _NSNAME.match(n))


# ---------------------------------------------------------------- the namespace world


def _sh(*cmd: str, stdin: str | None = None) -> None:
    subprocess.run(cmd, check=True, input=stdin, text=True, capture_output=True, timeout=60)


def build_world(ifnames: list[str], netns_names: list[str]) -> None:
    """Inside the private mount + net namespace: sysfs, /run/netns binds, the veths."""
    _sh("mount", "--make-rprivate", "/")
    socket.sethostname(HOSTNAME)
    _sh("mount", "-t", "sysfs", "sysfs", "/sys")
    os.makedirs("/run/netns", exist_ok=True)
    _sh("mount", "-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs", "/run/netns")
    for name in [NETNS_NAME, *netns_names]:
        target = f"/run/netns/{name}"
        Path(target).touch()
        _sh("mount", "--bind", f"/proc/{os.getpid()}/ns/net", target)
    names = list(ifnames)
    if len(names) % 2:
        names.append("pykc-pad0")
    batch = ["link set lo up"]
    for a, b in zip(names[::2], names[1::2], strict=True):
        batch += [f"link add {a} type veth peer name {b}", f"link set {a} up",
                  f"link set {b} up"]
    _sh("ip", "-batch", "-", stdin="\n".join(batch) + "\n")


def reexec_inside(argv: list[str]) -> int:
    env = dict(os.environ, **{INSIDE_ENV: "1"})
    cmd = ["unshare", "--mount", "--net", "--uts", "--propagation", "private", "--",
           sys.executable, str(Path(__file__).resolve()), *argv]
    return subprocess.run(cmd, env=env).returncode


# ---------------------------------------------------------------- ours


def _ours_inproc(file: str, cwd: Path) -> dict:
    from pykeepalived.config import load_config

    os.chdir(cwd)
    res = load_config(file)
    return {"rc": int(res.exit_code()),
            "diags": [d.as_dict() for d in res.diagnostics.items]}


def _ours_cli(file: str, cwd: Path) -> dict:
    p = subprocess.run([sys.executable, "-m", "pykeepalived", "-t", "--json", "-f", file],
                       cwd=cwd, capture_output=True, text=True, timeout=120)
    if "Traceback" in p.stderr:
        return {"traceback": p.stderr[-4000:]}
    return {"rc": p.returncode, "diags": json.loads(p.stdout or "[]")}


def warm_up() -> None:
    """Build the grammar and import everything once, so each forked check starts warm."""
    import tempfile

    from pykeepalived.config import load_config

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "k.conf"
        p.write_text("global_defs {\n router_id x\n}\nvrrp_instance V {\n interface lo\n"
                     " virtual_router_id 1\n priority 100\n virtual_ipaddress {\n"
                     "  192.0.2.1\n }\n}\n")
        load_config(str(p))


def run_ours_all(files: list[str], cwd: Path, jobs: int, timeout: float,
                 cli: bool) -> dict[str, Ours]:
    """One forked child per file, `jobs` at a time; a child past `timeout` is a hang."""
    fn = _ours_cli if cli else _ours_inproc
    if not cli:
        warm_up()
    todo = list(files)
    running: dict[int, tuple[str, int, float, bytearray]] = {}  # fd -> (file, pid, t0, buf)
    out: dict[str, Ours] = {}

    def finish(fd: int, hang: bool) -> None:
        file, pid, t0, buf = running.pop(fd)
        os.close(fd)
        if hang:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        wall = time.monotonic() - t0
        if hang:
            out[file] = Ours(hang=True, wall=wall)
            return
        try:
            d = json.loads(buf.decode())
        except ValueError:
            d = {"traceback": "child died without a result: " + buf[-2000:].decode("replace")}
        out[file] = Ours(rc=d.get("rc"), diags=d.get("diags", []),
                         traceback=d.get("traceback"), wall=wall)

    while todo or running:
        while todo and len(running) < jobs:
            file = todo.pop(0)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # child
                os.close(r)
                try:
                    res = fn(file, cwd)
                except BaseException:
                    res = {"traceback": traceback.format_exc()}
                data = json.dumps(res).encode()
                view = memoryview(data)
                while view:
                    n = os.write(w, view)
                    view = view[n:]
                os._exit(0)
            os.close(w)
            running[r] = (file, pid, time.monotonic(), bytearray())
        ready, _, _ = select.select(list(running), [], [], 0.2)
        for fd in ready:
            chunk = os.read(fd, 1 << 16)
            if chunk:
                running[fd][3].extend(chunk)
            else:
                finish(fd, hang=False)
        now = time.monotonic()
        for fd in [fd for fd, v in running.items() if now - v[2] > timeout]:
            finish(fd, hang=True)
    return out


# ---------------------------------------------------------------- oracles


def recorded_oracle(entries: list[Entry]) -> Oracle:
    by = {e.file: e for e in entries}

    def run(file: str, cwd: Path, netns: str) -> tuple[int, Messages]:
        e = by[file]
        return e.rc, [e.first] if e.first else []

    return Oracle("keepalived-2.2.7 (recorded)", run)


def keepalived_live(binary: str = KEEPALIVED, timeout: float = 20.0,
                    known_hangs: dict[str, int] | None = None) -> OracleFn:
    """The installed keepalived, as PID 1 of its own PID namespace, in this netns.

    `known_hangs`: files recorded as hanging or crashing (no verdict either way) are not run
    again unless asked (`--rerun-hangs`): each would cost the whole timeout.
    """

    def run(file: str, cwd: Path, netns: str) -> tuple[int, Messages]:
        if known_hangs and file in known_hangs:  # recorded as hanging: 20 s each, no verdict
            return known_hangs[file], []
        try:
            p = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", binary, "-t",
                                "-f", file], cwd=cwd, capture_output=True, text=True,
                               timeout=timeout, errors="replace")
        except subprocess.TimeoutExpired:
            return 124, []
        rc = p.returncode if p.returncode >= 0 else 128 - p.returncode
        return rc, [ln.strip() for ln in (p.stderr + p.stdout).splitlines() if ln.strip()]

    return run


def _oracle_path() -> None:
    for extra in (ROOT, ROOT / "tests", ROOT / "bench"):
        if str(extra) not in sys.path:
            sys.path.append(str(extra))


def load_oracle(spec: str) -> Oracle:
    """NAME=module:attr: attr is the callable (file, cwd, netns), or makes it when called
    with no argument (a factory, e.g. one that builds a chroot first)."""
    name, _, target = spec.partition("=")
    mod, _, attr = target.partition(":")
    _oracle_path()
    obj = getattr(importlib.import_module(mod), attr)
    required = [p for p in inspect.signature(obj).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    version = re.search(r"\d+\.\d+\.\d+", name)
    return Oracle(name, obj if required else obj(), version.group(0) if version else "2.2.7")


def kad233_oracle() -> Oracle | str:
    """keepalived 2.3.3 in its debootstrap'd root (tests/helpers/kad233.py), or why not."""
    _oracle_path()
    try:
        kad233 = importlib.import_module("helpers.kad233")
    except ImportError as e:
        return f"no keepalived 2.3.3 oracle: {e}"
    why = kad233.skip_reason()
    return why if why else Oracle("keepalived-2.3.3", kad233.run, "2.3.3")


def run_oracle(oracle: Oracle, files: list[str], cwd: Path, jobs: int) -> dict[str, tuple]:
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        futs = {f: ex.submit(oracle.run, f, cwd, NETNS_NAME) for f in files}
        out = {}
        for f, fut in futs.items():
            try:
                rc, msgs = fut.result()
                # a run killed by a signal (subprocess's -N) is 128+N, as a shell reports it
                out[f] = (128 - rc if rc is not None and rc < 0 else rc, msgs)
            except Exception:  # an oracle that breaks is reported, not fatal
                tb = traceback.format_exc().strip().splitlines()
                out[f] = (None, [f"oracle error: {tb[-1]} ({' / '.join(tb[-3:-1])})"])
        return out


# ---------------------------------------------------------------- comparison

_LINE = re.compile(r"^\((?:(?P<file>[^)]*): )?Line (?P<line>\d+)\) ")


def kad_line(msg: str) -> tuple[str | None, int] | None:
    m = _LINE.match(msg)
    return (m.group("file"), int(m.group("line"))) if m else None


def our_first_error(o: Ours, warnings: bool = False) -> dict | None:
    for d in o.diags:
        if d.get("severity") == "error" and d.get("rc", 5) != 0:
            return d
        if (warnings and d.get("severity") == "warning" and d.get("line")
                and "is recognised but not acted on" not in d.get("message", "")):
            return d
    return None


def our_first_message(o: Ours) -> str:
    if o.traceback:
        return "TRACEBACK " + o.traceback.strip().splitlines()[-1]
    if o.hang:
        return "HANG"
    d = our_first_error(o) or (o.diags[0] if o.diags else None)
    if d is None:
        return "-"
    where = f"({d['file']}: Line {d['line']}) " if d.get("line") else ""
    return f"{where}{d['severity']}: {d['message']}"


@dataclass
class Verdict:
    file: str
    krc: int | None
    kmsgs: Messages
    orc: int | None
    agree: bool
    via_compat: bool = False
    line_match: bool | None = None  # None: not comparable
    ours_first: str = ""


def judge(file: str, krc: int | None, kmsgs: Messages, o: Ours, version: str = "2.2.7"
          ) -> Verdict:
    v = Verdict(file, krc, kmsgs, o.rc, agree=o.rc is not None and o.rc == krc,
                ours_first=our_first_message(o))
    listed = [is_intended_for(m, version) for m in kmsgs]
    if (not v.agree and o.rc == 0 and krc == 5 and any(listed)
            and all(ok or is_log_only(m) for ok, m in zip(listed, kmsgs, strict=True))):
        v.agree = v.via_compat = True
    if krc not in (0, None, *NO_VERDICT) and o.rc not in (0, None) and kmsgs:
        kl = kad_line(kmsgs[0])
        # keepalived's first message is an intended difference: ours is a warning there
        mine = our_first_error(o, warnings=is_intended_for(kmsgs[0], version))
        if kl is not None:
            v.line_match = bool(mine and mine.get("line") == kl[1] and (
                kl[0] is None or Path(mine.get("file") or "").name == Path(kl[0]).name))
    return v


@dataclass
class Summary:
    oracle: str
    files: int
    compared: int
    agree: int
    via_compat: int
    no_verdict: list[str]
    line_total: int
    line_match: int
    disagreements: list[dict]

    @property
    def agreement(self) -> float:
        return 100.0 * self.agree / self.compared if self.compared else 0.0

    @property
    def line_rate(self) -> float:
        return 100.0 * self.line_match / self.line_total if self.line_total else 100.0


def summarise(name: str, verdicts: list[Verdict]) -> Summary:
    compared = [v for v in verdicts if v.krc not in (None, *NO_VERDICT)]
    lines = [v for v in compared if v.line_match is not None]
    return Summary(
        oracle=name, files=len(verdicts), compared=len(compared),
        agree=sum(v.agree for v in compared), via_compat=sum(v.via_compat for v in compared),
        no_verdict=[f"{v.file} (keepalived rc {v.krc})" for v in verdicts
                    if v.krc in (None, *NO_VERDICT)],
        line_total=len(lines), line_match=sum(bool(v.line_match) for v in lines),
        disagreements=[{"file": v.file, "keepalived_rc": v.krc, "ours_rc": v.orc,
                        "keepalived_first": v.kmsgs[0] if v.kmsgs else "-",
                        "ours_first": v.ours_first, "line_match": v.line_match}
                       for v in compared if not v.agree or v.line_match is False],
    )


# ---------------------------------------------------------------- main


def main_inside(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus).resolve()
    entries = read_tsv(corpus)
    if args.only:
        entries = [e for e in entries if re.search(args.only, e.file)]
    files = [e.file for e in entries]
    t0 = time.monotonic()
    ifnames, netns_names = scan_names(corpus)
    build_world(ifnames, netns_names)
    t_world = time.monotonic() - t0

    ours = run_ours_all(files, corpus, args.jobs, args.ours_timeout, args.ours_cli)
    t_ours = time.monotonic() - t0 - t_world

    oracles = [recorded_oracle(entries)]
    if args.live:
        hangs_known = None if args.rerun_hangs else {
            e.file: e.rc for e in entries if e.rc in NO_VERDICT}
        oracles.append(Oracle("keepalived-2.2.7 (live)",
                              keepalived_live(timeout=args.timeout, known_hangs=hangs_known)))
    oracles += [load_oracle(s) for s in args.oracle]
    if args.kad233:
        o233 = kad233_oracle()
        if isinstance(o233, str):
            print(o233, file=sys.stderr)
            return 3
        oracles.append(o233)
    os.chdir(corpus)  # for oracles that resolve `file` against the process's directory
    results = {o.name: run_oracle(o, files, corpus, args.jobs) for o in oracles}
    live = results.get("keepalived-2.2.7 (live)")

    summaries: list[Summary] = []
    for o in oracles:
        verdicts = []
        for f in files:
            krc, kmsgs = results[o.name][f]
            if o.name.endswith("(recorded)") and live and live[f][0] == krc:
                # the recording keeps only the first message: judge compat on all of them
                kmsgs = live[f][1] or kmsgs
            verdicts.append(judge(f, krc, kmsgs, ours[f], o.version))
        summaries.append(summarise(o.name, verdicts))

    world_diff = []  # the live keepalived against its own recording: is this world the same?
    if live:
        rec = results[oracles[0].name]
        world_diff = [{"file": f, "recorded": rec[f], "live": [live[f][0], live[f][1][:1]]}
                      for f in files if rec[f][0] != live[f][0]
                      or (rec[f][1][:1] and live[f][1][:1]
                          and not live[f][1][0].startswith(rec[f][1][0][:150]))]
    tracebacks = sorted(f for f, o in ours.items() if o.traceback)
    hangs = sorted(f for f, o in ours.items() if o.hang)
    report = {
        "corpus": str(corpus), "files": len(files), "interfaces": len(ifnames),
        "net_namespaces": netns_names,
        "seconds": {"world": round(t_world, 2), "ours": round(t_ours, 2),
                    "total": round(time.monotonic() - t0, 2)},
        "tracebacks": {f: ours[f].traceback for f in tracebacks},
        "hangs": hangs,
        "recorded_vs_live": world_diff,
        "oracles": [dict(asdict(s), agreement=round(s.agreement, 2),
                         line_rate=round(s.line_rate, 2)) for s in summaries],
        "per_file": {f: {"ours": asdict(ours[f]),
                         **{o.name: list(results[o.name][f]) for o in oracles}}
                     for f in files},
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    print_report(report, summaries, ours, args.verbose)
    return 0


def print_report(report: dict, summaries: list[Summary], ours: dict[str, Ours],
                 verbose: bool) -> None:
    p = print
    p(f"corpus {report['corpus']}: {report['files']} entry points, "
      f"{report['interfaces']} interfaces, net_namespaces {report['net_namespaces']}; "
      f"{report['seconds']}")
    p(f"ours: {len(report['tracebacks'])} tracebacks, {len(report['hangs'])} hangs; "
      f"exit codes {dict(sorted(Counter(o.rc for o in ours.values()).items(), key=str))}")
    for f, tb in report["tracebacks"].items():
        p(f"  TRACEBACK {f}: {tb.strip().splitlines()[-1]}")
        if verbose:
            p("    " + tb.replace("\n", "\n    "))
    for f in report["hangs"]:
        p(f"  HANG {f}")
    if report["recorded_vs_live"]:
        p(f"live keepalived differs from its recording on {len(report['recorded_vs_live'])}:")
        for d in report["recorded_vs_live"]:
            p(f"  {d['file']}: recorded {d['recorded']} live {d['live']}")
    for s in summaries:
        p("")
        p(f"== {s.oracle}: agreement {s.agreement:.2f}% ({s.agree}/{s.compared}, "
          f"{s.via_compat} via compat.py); first error line equal where both fail "
          f"{s.line_rate:.2f}% ({s.line_match}/{s.line_total}); no verdict: {s.no_verdict}")
        for d in s.disagreements:
            tag = "RC  " if d["keepalived_rc"] != d["ours_rc"] else "LINE"
            p(f"  {tag} {d['file']}: keepalived {d['keepalived_rc']} "
              f"{d['keepalived_first'][:150]!r}")
            p(f"       {' ' * len(d['file'])}  ours       {d['ours_rc']} "
              f"{d['ours_first'][:150]!r}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True, help="folder holding " + TSV)
    ap.add_argument("--live", action="store_true",
                    help="also run the installed keepalived -t as an oracle")
    ap.add_argument("--oracle", action="append", default=[], metavar="NAME=MODULE:CALLABLE",
                    help="another oracle: callable(file, cwd, netns) -> (rc, messages)")
    ap.add_argument("--kad233", action="store_true",
                    help="also keepalived 2.3.3 (tests/helpers/kad233.py; builds its root once)")
    ap.add_argument("--rerun-hangs", action="store_true",
                    help="with --live: also run the files keepalived was recorded hanging on")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="per file and live oracle, seconds (the recording's: 20)")
    ap.add_argument("--ours-timeout", type=float, default=60.0,
                    help="per file for pykeepalived, seconds: past it is a hang (the corpus's "
                         "largest expansion, 330k lines, takes ~6 s on a loaded 2-core VM)")
    ap.add_argument("--only", default=None, help="regex: entry points to run")
    ap.add_argument("--ours-cli", action="store_true",
                    help="run `python -m pykeepalived -t --json` per file, not in-process")
    ap.add_argument("--json", default=None, help="write the full report here")
    ap.add_argument("-v", "--verbose", action="store_true", help="full tracebacks")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if not (Path(args.corpus) / TSV).is_file():
        print(f"{args.corpus}: no {TSV}", file=sys.stderr)
        return 2
    if os.environ.get(INSIDE_ENV) != "1":
        if os.geteuid() != 0:
            print("needs root (network and mount namespaces)", file=sys.stderr)
            return 2
        kept: list[str] = []  # the child writes the report: give it an absolute path
        it = iter(argv)
        for a in it:
            if a == "--json":
                next(it, None)
            elif not a.startswith("--json="):
                kept.append(a)
        argv = kept
        if args.json:
            argv[:0] = ["--json", str(Path(args.json).resolve())]
        return reexec_inside(argv)
    return main_inside(args)


if __name__ == "__main__":
    sys.exit(main())
