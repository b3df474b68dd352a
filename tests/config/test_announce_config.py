"""The announce_* extension lines (issue 15): how they load, and that keepalived 2.2.7 really
rejects exactly the lines we flag as pykeepalived extensions (its own `-t` is the oracle)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.configs import load_text
from helpers.paths import DATA

from pykeepalived.config.diagnostics import Severity
from pykeepalived.config.keywords import table
from pykeepalived.config.model import AnnounceRoute

REPO = Path(__file__).resolve().parents[2]
DIRECTOR = REPO / "conf.d" / "ecmp" / "pykeepalived-director.conf"
KEEPALIVED = "/usr/sbin/keepalived"
IFACES = frozenset({"lo", "eth0"})
EXT = ("announce_address", "announce_route", "announce_only_if_master",
       "announce_without_ipvs")


def vs(body: str, head: str = "192.0.2.10 80") -> str:
    return f"""vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {{
        192.0.2.100
    }}
}}
virtual_server {head} {{
    lb_algo mh
    lb_kind DR
    protocol TCP
{body}
    real_server 192.0.2.141 80 {{
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
}}
"""


def load(tmp_path: Path, body: str, head: str = "192.0.2.10 80"):  # type: ignore[no-untyped-def]
    return load_text(tmp_path, vs(body, head), interfaces=IFACES)


def test_extension_lines_warn_and_load(tmp_path: Path) -> None:
    res = load(tmp_path, "    announce_address lo\n"
                         "    announce_route table 100 proto 18 metric 5 dev lo\n"
                         "    announce_only_if_master VI_1\n"
                         "    announce_without_ipvs\n")
    assert res.exit_code() == 0, res.diagnostics.to_json()
    warned = [d for d in res.diagnostics.warnings if "pykeepalived extension" in d.message]
    assert [d.loc.line for d in warned if d.loc] == [13, 14, 15, 16]
    a = res.config.virtual_servers[0].announce
    assert a is not None
    assert a.address_dev == "lo"
    assert a.route == AnnounceRoute(table=100, proto=18, metric=5, dev="lo")
    assert a.only_if_master == "VI_1" and a.without_ipvs


def test_defaults_and_names(tmp_path: Path) -> None:
    res = load(tmp_path, "    announce_address\n    announce_route table main proto static\n")
    a = res.config.virtual_servers[0].announce
    assert a is not None and a.address_dev == "lo"
    assert a.route == AnnounceRoute(table=254, proto=4, metric=None, dev="lo")
    res = load(tmp_path, "    announce_route\n")
    a = res.config.virtual_servers[0].announce
    assert a is not None and a.route == AnnounceRoute() and a.address_dev is None


@pytest.mark.parametrize(("body", "needle"), [
    ("    announce_route proto 186\n", "belongs to FRR"),
    ("    announce_route proto 12\n", "belongs to BIRD"),
    ("    announce_route proto bgp\n", "invalid proto"),
    ("    announce_route proto 256\n", "invalid proto"),
    ("    announce_route table 255\n", "cannot hold our route"),
    ("    announce_route via 192.0.2.1\n", "unexpected 'via'"),
    ("    announce_route table\n", "unexpected 'table'"),
    ("    announce_address lo eth0\n", "takes one interface"),
    ("    announce_address eth9\n", "interface eth9"),
    ("    announce_only_if_master VI_1\n", "announce nothing"),
    ("    announce_address lo\n    announce_only_if_master VI_9\n", "VI_9 not found"),
])
def test_bad_lines_are_clear_errors(tmp_path: Path, body: str, needle: str) -> None:
    res = load(tmp_path, body)
    errs = [d.format() for d in res.diagnostics.errors]
    assert any(needle in e for e in errs), errs
    assert res.exit_code() == 5
    if "eth9" not in needle:  # a missing interface is reported, the line still applies
        assert res.config.virtual_servers[0].announce is None


def test_fwmark_and_group_have_nothing_to_announce(tmp_path: Path) -> None:
    res = load(tmp_path, "    announce_address lo\n", head="fwmark 3")
    assert any("has none - not announcing" in d.message for d in res.diagnostics.errors)
    assert res.config.virtual_servers[0].announce is None


def test_without_ipvs_alone_drains(tmp_path: Path) -> None:
    """Commenting out the means line and reloading drains a director: checks go on."""
    res = load(tmp_path, "    announce_without_ipvs\n")
    assert res.exit_code() == 0
    assert any("nothing is programmed or announced" in d.message
               for d in res.diagnostics.warnings)
    a = res.config.virtual_servers[0].announce
    assert a is not None and a.without_ipvs and a.address_dev is None and a.route is None


def test_strict_fails_on_extensions(tmp_path: Path) -> None:
    res = load(tmp_path, "    announce_address lo\n")
    assert res.diagnostics.exit_code(strict=True) == 5


def test_extension_keywords_are_not_keepalived_keywords() -> None:
    inventory = {ln.strip() for ln in (DATA / "keywords-inventory.txt").read_text().splitlines()
                 if ln.strip() and not ln.startswith("#")}
    ext = {k for sec in table().values() for k, kw in sec.items() if kw.ext}
    assert ext == set(EXT)
    assert not ext & inventory


def test_shipped_director_config_checks_clean(tmp_path: Path) -> None:
    from pykeepalived.config import LoadOptions, load_config
    from pykeepalived.config.host import HostInfo

    for cid, rid in (("director1", "director1"), ("director2", "director2")):
        res = load_config(str(DIRECTOR), LoadOptions(host=HostInfo(IFACES), config_id=cid))
        assert res.exit_code() == 0, res.diagnostics.to_json()
        assert res.config.global_defs.router_id == rid
        assert {d.severity for d in res.diagnostics.items} <= {Severity.WARNING}
        assert all("pykeepalived extension" in d.message for d in res.diagnostics.items)
        v = res.config.virtual_servers[0]
        assert (v.lvs_sched, v.sched_flags) == ("mh", ("mh-port", "mh-fallback"))
        assert v.announce is not None and v.announce.address_dev == "lo"


LINE = re.compile(r"^\((?:[^)]*: )?Line (\d+)\) (.*)$")


@pytest.mark.keepalived
@pytest.mark.skipif(not Path(KEEPALIVED).exists() or shutil.which("unshare") is None,
                    reason="needs keepalived 2.2.7 and unshare")
@pytest.mark.parametrize("which", ["director", "all-lines"])
def test_keepalived_rejects_exactly_the_extension_lines(tmp_path: Path, which: str) -> None:
    if which == "director":
        path = DIRECTOR
    else:
        path = tmp_path / "k.conf"
        path.write_text(vs("    announce_address lo\n    announce_route proto 18\n"
                           "    announce_only_if_master VI_1\n    announce_without_ipvs\n")
                        .replace("interface eth0", "interface lo"))
    # PID 1 of its own PID namespace (keepalived 2.2.7 -t otherwise may SIGTERM itself)
    p = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", KEEPALIVED,
                        "-t", "-i", "director1", "-f", str(path)],
                       capture_output=True, text=True, timeout=60)
    theirs = {int(m.group(1)) for raw in (p.stdout + p.stderr).splitlines()
              if (m := LINE.match(raw.strip())) and "Unknown keyword" in m.group(2)}
    assert p.returncode == 5
    from pykeepalived.config import LoadOptions, load_config
    from pykeepalived.config.host import HostInfo

    res = load_config(str(path), LoadOptions(host=HostInfo(IFACES), config_id="director1"))
    ours = {d.loc.line for d in res.diagnostics.warnings
            if d.loc and "pykeepalived extension" in d.message}
    assert ours and ours == theirs
