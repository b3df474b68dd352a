"""Security: script security, clean script environment, no injection, safe files, grammar
cache, metrics bind address.

Each test plants the attack for real (world-writable dirs, symlinks to a victim file, shell
metacharacters in names, secrets in the environment) and checks the outcome on disk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import shutil
import signal
import stat
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykeepalived.config import LoadOptions, load_config
from pykeepalived.config.host import HostInfo
from pykeepalived.config.model import Script
from pykeepalived.daemon.files import write_atomic, write_pidfile

ROOT = Path(__file__).resolve().parents[2]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, setuid)")


@pytest.fixture
def safe_dir() -> Iterator[Path]:
    """A root-owned 0755 directory under /run: /tmp itself is world-writable, so a script
    under tmp_path is (rightly) insecure whatever its own mode."""
    d = Path(tempfile.mkdtemp(prefix="pykh-", dir="/run" if os.access("/run", os.W_OK)
                              else None))
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _script(path: Path, body: str = "exit 0\n") -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _conf(tmp: Path, script: Path, security: bool = True) -> list:  # type: ignore[type-arg]
    conf = tmp / "k.conf"
    conf.write_text(textwrap.dedent(f"""
        global_defs {{
            {'enable_script_security' if security else ''}
            script_user nobody
        }}
        vrrp_script chk {{
            script "{script}"
        }}
        vrrp_instance VI_1 {{
            interface eth0
            virtual_router_id 51
            track_script {{
                chk
            }}
            virtual_ipaddress {{
                192.0.2.100/24
            }}
        }}
    """))
    res = load_config(str(conf), LoadOptions(host=HostInfo(frozenset({"eth0"}))))
    return [d.format() for d in res.diagnostics.items]


# --------------------------------------------------------------------------- script security

@root_only
def test_script_in_world_writable_dir_is_refused_and_named(safe_dir: Path, tmp_path: Path
                                                           ) -> None:
    bad = safe_dir / "open"
    bad.mkdir()
    bad.chmod(0o777)
    s = _script(bad / "chk.sh")
    msgs = "\n".join(_conf(tmp_path, s))
    assert "Disabling track script chk due to insecure" in msgs
    assert f"'{bad}' is writable by a non-root user" in msgs


@root_only
def test_script_owned_by_non_root_or_group_writable_parent(safe_dir: Path, tmp_path: Path
                                                           ) -> None:
    import pwd

    nobody = pwd.getpwnam("nobody")
    s = _script(safe_dir / "mine.sh")
    os.chown(s, nobody.pw_uid, nobody.pw_gid)
    msgs = "\n".join(_conf(tmp_path, s))
    assert f"'{s}'" in msgs and "Disabling track script chk" in msgs
    os.chown(s, 0, 0)
    grp_dir = safe_dir / "grp"
    grp_dir.mkdir()
    os.chown(grp_dir, 0, nobody.pw_gid)
    grp_dir.chmod(0o775)
    s2 = _script(grp_dir / "g.sh")
    msgs = "\n".join(_conf(tmp_path, s2))
    assert f"'{grp_dir}'" in msgs


@root_only
def test_secure_script_is_accepted_and_symlink_judged_by_target(safe_dir: Path, tmp_path: Path
                                                                ) -> None:
    s = _script(safe_dir / "ok.sh")
    assert not [m for m in _conf(tmp_path, s) if "insecure" in m]
    # a root-owned link in a safe dir pointing into an unsafe dir is judged by the target
    bad = safe_dir / "open"
    bad.mkdir()
    bad.chmod(0o777)
    target = _script(bad / "t.sh")
    link = safe_dir / "link.sh"
    link.symlink_to(target)
    msgs = "\n".join(_conf(tmp_path, link))
    assert f"'{bad}'" in msgs


def test_without_script_security_a_violation_is_reported(tmp_path: Path) -> None:
    s = _script(tmp_path / "chk.sh")
    msgs = "\n".join(_conf(tmp_path, s, security=False))
    assert "SECURITY VIOLATION" in msgs


# --------------------------------------------------------------------------- environment

ENV_DUMP = 'tr "\\0" "\\n" < /proc/self/environ > "{out}"\n'


def test_vrrp_and_check_scripts_get_a_clean_environment(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret in the daemon's environment (service manager, operator shell) must not leak
    into notify / vrrp_script / MISC_CHECK children."""
    from pykeepalived.check import proc
    from pykeepalived.vrrp import notify

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("LD_PRELOAD", "/tmp/evil.so")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    out_v, out_c = tmp_path / "v.env", tmp_path / "c.env"
    sv = _script(tmp_path / "v.sh", ENV_DUMP.format(out=out_v))
    sc = _script(tmp_path / "c.sh", ENV_DUMP.format(out=out_c))

    async def main() -> None:
        r = await notify.run_script(Script((str(sv),)), ("INSTANCE", "VI_1", "MASTER", "100"),
                                    timeout=5)
        assert r.status == 0, r
        o = await proc.run_script((str(sc),), 5)
        assert o.status == 0, o

    asyncio.run(main())
    for out in (out_v, out_c):
        env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
        assert "AWS_SECRET_ACCESS_KEY" not in env and "LD_PRELOAD" not in env
        assert str(tmp_path) not in env.get("PATH", ""), "PATH inherited from the daemon"
        assert env["PATH"].startswith("/usr/local/sbin")


# --------------------------------------------------------------------------- injection

NAMES = ["VI_1;touch {x}", "$(touch {x})", "`touch {x}`", "VI_1 && touch {x}",
         "VI_1'\"; touch {x}; echo '"]


@pytest.mark.parametrize("shell_cmd", [False, True], ids=["direct", "via-sh"])
def test_no_injection_through_instance_names_or_notify_args(tmp_path: Path,
                                                             shell_cmd: bool) -> None:
    """Names reach notify scripts as single argv elements; when the configured command
    needs /bin/sh (a redirection here), the extra arguments are shell-quoted."""
    from pykeepalived.vrrp import notify

    args_out = tmp_path / "args"
    s = _script(tmp_path / "n.sh", f'for a in "$@"; do printf "%s\\n" "$a"; done >> "{args_out}"\n')
    conf = tmp_path / "k.conf"
    conf.write_text(textwrap.dedent("""
        vrrp_instance VI_1 {
            interface eth0
            virtual_router_id 51
            virtual_ipaddress {
                192.0.2.100/24
            }
        }
    """))
    cfg = load_config(str(conf), LoadOptions(host=HostInfo(frozenset({"eth0"})),
                                             check_scripts=False)).config
    cmd: tuple[str, ...] = (str(s),)
    if shell_cmd:
        cmd = (str(s), "2>/dev/null")
    assert notify.needs_shell(cmd) is shell_cmd
    victims = []

    async def main() -> None:
        n = notify.Notifier(cfg)
        for i, tmpl in enumerate(NAMES):
            x = tmp_path / f"pwned{i}"
            victims.append(x)
            inst = dataclasses.replace(cfg.vrrp_instances[0], name=tmpl.format(x=x),
                                       notify=Script(cmd))
            n.instance(inst, "MASTER", 100)
        await n.drain(10)

    asyncio.run(main())
    assert not [v for v in victims if v.exists()], "a name was executed by a shell"
    got = args_out.read_text().splitlines()
    for i, tmpl in enumerate(NAMES):
        assert tmpl.format(x=victims[i]) in got  # passed verbatim, as one argument


def test_plain_commands_are_execed_without_a_shell() -> None:
    from pykeepalived.vrrp import notify

    argv = notify.command_argv(Script(("/usr/local/bin/notify.sh", "--flag")), ("a;b",))
    assert argv == ["/usr/local/bin/notify.sh", "--flag", "a;b"]
    argv = notify.command_argv(Script(("/bin/echo", "x", ">/dev/null")), ("$(id)",))
    assert argv[:2] == ["/bin/sh", "-c"] and argv[2].endswith("'$(id)'")


# --------------------------------------------------------------------------- files

def _victim(tmp: Path) -> Path:
    v = tmp / "victim"
    v.write_text("precious\n")
    v.chmod(0o644)
    return v


@pytest.mark.parametrize("writer", ["dump", "pidfile"])
def test_planted_symlink_is_replaced_not_followed(tmp_path: Path, writer: str) -> None:
    victim = _victim(tmp_path)
    shared = tmp_path / "shared"  # stands for /tmp or /run
    shared.mkdir()
    shared.chmod(0o1777)
    target = shared / ("keepalived.data" if writer == "dump" else "pykeepalived.pid")
    target.symlink_to(victim)
    if writer == "dump":
        write_atomic(str(target), "dump text\n")
    else:
        write_pidfile(str(target), 4242)
    assert victim.read_text() == "precious\n"
    assert not target.is_symlink() and target.is_file()
    st = target.lstat()
    assert st.st_uid == os.geteuid()
    assert stat.S_IMODE(st.st_mode) == (0o600 if writer == "dump" else 0o644)
    assert not [p for p in shared.iterdir() if p.name.startswith(".")], "temp file left"


def test_planted_hardlink_and_dangling_link(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    hard = tmp_path / "keepalived.stats"
    os.link(victim, hard)
    write_atomic(str(hard), "stats\n")
    assert victim.read_text() == "precious\n"
    dangling = tmp_path / "keepalived.json"
    dangling.symlink_to(tmp_path / "would-be-created")
    write_atomic(str(dangling), "{}\n")
    assert not (tmp_path / "would-be-created").exists()


def test_notify_fifo_is_not_written_through_a_planted_link(tmp_path: Path) -> None:
    """notify_fifo /tmp/x: a symlink (or regular file) planted there is refused."""
    from pykeepalived.vrrp import notify

    victim = _victim(tmp_path)
    fifo = tmp_path / "notify.fifo"
    fifo.symlink_to(victim)
    conf = tmp_path / "k.conf"
    conf.write_text(f"global_defs {{\n    notify_fifo {fifo}\n}}\n")
    cfg = load_config(str(conf), LoadOptions(check_scripts=False)).config
    n = notify.Notifier(cfg)
    n.write_fifo('INSTANCE "VI_1" MASTER 100')
    assert victim.read_text() == "precious\n"
    fifo.unlink()
    fifo.write_text("")  # a regular file is no FIFO either
    n.write_fifo('INSTANCE "VI_1" MASTER 100')
    assert fifo.read_text() == ""
    fifo.unlink()
    n.write_fifo('INSTANCE "VI_1" MASTER 100')  # a fresh path: created as a real FIFO
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    n.close()


@pytest.mark.netns
def test_vrrp_runner_dump_does_not_follow_a_planted_link(tmp_path: Path) -> None:
    """pykeepalived.vrrp.run --dump (tests and operators use it): same rule as the daemon."""
    from helpers.netns import netns_skip_reason
    from nsrig import Rig, vrrp_conf, wait_for

    if netns_skip_reason():
        pytest.skip(netns_skip_reason() or "")
    victim = _victim(tmp_path)
    dump = tmp_path / "a.json"
    dump.symlink_to(victim)
    rig = Rig(tmp_path, ("a",))
    try:
        rig.up()
        a = rig.start_py("a", vrrp_conf(state="MASTER"), "--dump", str(dump))
        assert rig.wait_log(a, "Entering MASTER STATE", 6), a.text()
        a.popen.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: not dump.is_symlink(), 3), a.text()
        time.sleep(0.1)
        assert victim.read_text() == "precious\n"
        assert '"instances"' in dump.read_text()
    finally:
        rig.down()


# --------------------------------------------------------------------------- grammar, metrics

def test_lark_never_given_a_cache() -> None:
    """A Lark cache file is a pickle: loading one another user could write would run their
    code as root. No Lark() call passes cache= (nor **kwargs that could); -t runs the LALR
    table shipped as JSON beside the grammar (config/grammar_table.py)."""
    import ast

    calls = 0
    for py in (ROOT / "pykeepalived").rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "Lark":
                calls += 1
                assert not [k for k in node.keywords if k.arg in (None, "cache")], \
                    f"{py}:{node.lineno} passes cache= or **kwargs to Lark"
    assert calls >= 1


def test_metrics_endpoint_binds_loopback_by_default() -> None:
    from pykeepalived.daemon import metrics

    assert inspect.signature(metrics.serve).parameters["host"].default == "127.0.0.1"

    async def main() -> list[str]:
        srv = await metrics.serve(port=0)
        try:
            return [s.getsockname()[0] for s in srv.sockets]
        finally:
            srv.close()
            await srv.wait_closed()

    assert asyncio.run(main()) == ["127.0.0.1"]
