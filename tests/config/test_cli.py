"""`pykeepalived -t` as a user runs it: exit codes, output forms, and a light import path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers.paths import ROOT

PY = sys.executable


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "pykeepalived", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_lvs_dr_seed_configs_pass_with_legacy_warnings() -> None:
    for name in ("lvs-dr-master.conf", "lvs-dr-backup.conf"):
        p = run("-t", "--no-host-checks", "-f", f"conf.d/{name}")
        assert p.returncode == 0, p.stderr
        assert "legacy keyword" in p.stderr and "nat_mask" in p.stderr
        assert "Traceback" not in p.stderr


def test_strict_makes_warnings_fatal() -> None:
    p = run("-t", "--strict", "--no-host-checks", "-f", "conf.d/lvs-dr-master.conf")
    assert p.returncode == 5


def test_json_lists_diagnostics_with_lines(tmp_path: Path) -> None:
    f = tmp_path / "k.conf"
    f.write_text("global_defs {\n  router_idd x\n}\n")
    p = run("-t", "--json", "-f", str(f))
    data = json.loads(p.stdout)
    assert p.returncode == 5
    assert data[0]["line"] == 2 and data[0]["severity"] == "error"
    assert data[0]["hint"] == "did you mean 'router_id'?"


def test_keepalived_message_form(tmp_path: Path) -> None:
    f = tmp_path / "k.conf"
    f.write_text("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 300\n"
                 " virtual_ipaddress {\n 192.0.2.1\n }\n}\n")
    p = run("-t", "--no-host-checks", "-f", str(f))
    assert p.returncode == 5
    assert f"({f}: Line 4) error: number '300' outside range [1, 255]" in p.stderr


def test_missing_file_like_keepalived(tmp_path: Path) -> None:
    assert run("-t", "-f", str(tmp_path / "nope.conf")).returncode == 0
    assert run("-t", "-e", "-f", str(tmp_path / "nope.conf")).returncode == 4


def test_config_test_never_imports_pyroute2_or_scapy() -> None:
    code = ("import sys; from pykeepalived.cli import main; rc = main(['-t', '-f', "
            "'conf.d/lvs-dr-master.conf']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyroute2', 'scapy')))")
    p = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.stdout.strip().splitlines()[-1] == "[]", p.stdout + p.stderr


def test_config_test_imports_no_daemon_machinery() -> None:
    """-t is a config check: none of the daemon, VRRP, checker or IPVS modules, nor asyncio,
    ssl or the syslog handlers they bring (the -S check lives in loglevels for this), nor
    lark (the grammar's LALR table is shipped as JSON: config/grammar_table.py)."""
    code = ("import sys; from pykeepalived.cli import main; rc = main(['-t', '-f', "
            "'conf.d/lvs-dr-master.conf']); "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in ([p, s] for p, s in "
            "[('pykeepalived', 'daemon'), ('pykeepalived', 'vrrp'), ('pykeepalived', 'check'), "
            "('pykeepalived', 'ipvs'), ('pykeepalived', 'announce')]) "
            "or m in ('asyncio', 'ssl', 'logging.handlers', 'lark')))")
    p = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.stdout.strip().splitlines()[-1] == "[]", p.stdout + p.stderr


def test_dump_shows_completed_model() -> None:
    p = run("-t", "-d", "--no-host-checks", "-f", "conf.d/lvs-dr-master.conf")
    assert "virtual_router_id = " in p.stdout and "lvs_sched = wrr" in p.stdout
    # nb_get_retry 3 in the seed became the checker's retry
    assert "retry = 3" in p.stdout


def test_version_and_signum() -> None:
    assert "pykeepalived" in run("-v").stderr  # keepalived prints -v on stderr
    assert run("--signum=RELOAD").stdout.strip() == "1"


def test_keepalived_daemon_flags_are_accepted() -> None:
    from pykeepalived.cli import build_parser
    from pykeepalived.daemon.logsetup import facility_code

    args = build_parser().parse_args(["-D", "-S", "local3", "-B", "--all", "-a", "-x", "-m",
                                      "-s", "ns1", "-b", "/run/b.pid", "-u", "022", "-X"])
    assert args.log_facility == "local3" and args.umask == "022"
    assert facility_code("local3") == facility_code("3") == 19  # LOG_LOCAL3
    assert facility_code("user") == 1 and facility_code(None) == 3  # LOG_USER, LOG_DAEMON


def test_genhash_mode(tmp_path: Path) -> None:
    p = run("-T", "-h")
    assert p.returncode in (0, 1, 2) and "Traceback" not in p.stderr
