"""The grammar places keepalived's blocks: a block is a section only where keepalived has it.

A misplaced block (a real_server at the top level, a TCP_CHECK inside vrrp_instance) is
classified by Lark as UNEXPECTED, never a parse failure, and reported with keepalived 2.2.7's
messages and lines (the real binary, run as PID 1 of its own PID namespace, is the oracle).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.netns import add_veth_pair, netns, requires_netns

from pykeepalived.config.diagnostics import Diagnostics
from pykeepalived.config.keywords import BLOCK_TYPES, sections_by_rule, table
from pykeepalived.config.load import LoadOptions, load_config
from pykeepalived.config.parser import Node, parse_lines
from pykeepalived.config.reader import Reader, ReaderOptions

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"

_VS = ["virtual_server 192.0.2.1 80 {"]
_RS = [*_VS, "real_server 192.0.2.2 80 {"]
# how to reach each section of keywords.txt
PATH: dict[str, list[str]] = {
    "root": [], "global_defs": ["global_defs {"], "bfd_instance": ["bfd_instance B {"],
    "vrrp_script": ["vrrp_script S {"], "track_file": ["track_file F {"],
    "vrrp_track_process": ["vrrp_track_process P {"], "vrrp_sync_group": ["vrrp_sync_group G {"],
    "vrrp_instance": ["vrrp_instance V {"],
    "authentication": ["vrrp_instance V {", "authentication {"], "SSL": ["SSL {"],
    "virtual_server": _VS, "real_server": _RS,
    **{c: [*_RS, f"{c} {{"] for c in ("TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK",
                                        "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK",
                                        "FILE_CHECK", "BFD_CHECK")},
    "url": [*_RS, "HTTP_GET {", "url {"],
}


def parse(text: str, tmp_path: Path) -> tuple[list[Node], Diagnostics]:
    f = tmp_path / "k.conf"
    f.write_text(text)
    diag = Diagnostics()
    return parse_lines(Reader(diag, ReaderOptions()).read(str(f)), diag), diag


def innermost(nodes: list[Node], depth: int) -> list[Node]:
    for _ in range(depth):
        nodes = list(nodes[0].children or ())
    return nodes


def test_every_section_is_reachable() -> None:
    assert set(PATH) == {s for s in table() if not s.startswith("checker_")}


@pytest.mark.parametrize("section", sorted(PATH))
def test_grammar_places_blocks_where_the_table_has_them(section: str, tmp_path: Path) -> None:
    """Every block keyword of a section opens its block there (a section rule for `block`,
    a value-block rule otherwise); a block keyword of another section is UNEXPECTED."""
    path = PATH[section]
    kws = table()[section]
    for name, kw in kws.items():
        if kw.type not in BLOCK_TYPES:
            continue
        nodes, _ = parse("\n".join([*path, f"{name} A {{", "}", *["}"] * len(path)]) + "\n",
                         tmp_path)
        [node] = innermost(nodes, len(path))
        assert node.rule not in ("", "unexpected"), (section, name)
        if kw.type == "block":
            assert sections_by_rule()[node.rule] == kw.arg, (section, name)
    for name in ("real_server", "TCP_CHECK", "vrrp_instance", "url", "authentication"):
        if name in kws:
            continue
        nodes, _ = parse("\n".join([*path, f"{name} {{", "x 1", "}", *["}"] * len(path)]) + "\n",
                         tmp_path)
        inner = innermost(nodes, len(path))
        # the block's '}' closes the enclosing one: the path's last '}' is read a level up
        assert [n.rule for n in inner][:2] == ["unexpected", ""], (section, name)


MISPLACED = """\
real_server 192.0.2.1 80 {
  weight 1
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  TCP_CHECK {
    connect_timeout 3
  }
  priority 100
}
virtual_server 192.0.2.2 80 {
  protocol TCP
  real_server 192.0.2.3 80 {
    TCP_CHECK {
      connect_timeout 3
    }
    url {
      path /
    }
  }
}
"""


def test_lark_classifies_misplaced_blocks(tmp_path: Path) -> None:
    nodes, diag = parse(MISPLACED, tmp_path)
    assert not diag.items  # braces balance: everything else is the grammar's
    top = [(n.loc.line, n.rule, n.keyword) for n in nodes]
    # the real_server's '}' closes nothing at the top level; TCP_CHECK's '}' closes
    # vrrp_instance, so `priority` and the instance's own '}' are read at the top level
    assert top == [(1, "unexpected", "real_server"), (2, "", "weight"), (3, "stray", "}"),
                   (4, "vrrp_instance", "vrrp_instance"), (10, "", "priority"),
                   (11, "stray", "}"), (12, "virtual_server", "virtual_server"),
                   (22, "stray", "}")]
    vi = nodes[3].children or ()
    assert [(n.loc.line, n.rule) for n in vi] == [(5, ""), (6, ""), (7, "unexpected"), (8, "")]
    [_, rs] = nodes[6].children or ()  # url's '}' closed real_server, its '}' the vs
    assert [(n.loc.line, n.rule) for n in rs.children or ()] == [
        (15, "tcp_check"), (18, "unexpected"), (19, "")]


@pytest.fixture(scope="module")
def ns() -> Iterator[str]:
    with netns("pyk-gram") as name:
        add_veth_pair(name, "eth0", "eth1", "192.0.2.11/24")
        yield name


def keepalived_lines(ns: str, path: Path) -> list[tuple[int, str]]:
    # PID 1 of its own PID namespace: 2.2.7's -t otherwise SIGTERMs itself checking scripts
    p = subprocess.run(["ip", "netns", "exec", ns, "unshare", "--pid", "--fork",
                        "--kill-child", KEEPALIVED, "-t", "-f", str(path)],
                       capture_output=True, text=True, timeout=60)
    out = []
    for raw in (p.stdout + p.stderr).splitlines():
        head, sep, msg = raw.strip().partition(") ")
        if sep and "Line " in head:
            out.append((int(head.rsplit("Line ", 1)[1]), msg))
    return out


@requires_netns
@pytest.mark.netns
@pytest.mark.keepalived
@pytest.mark.skipif(not Path(KEEPALIVED).exists(), reason="keepalived 2.2.7 not installed")
def test_misplaced_blocks_reported_like_keepalived(ns: str, tmp_path: Path) -> None:
    f = tmp_path / "misplaced.conf"
    f.write_text(MISPLACED)
    theirs = keepalived_lines(ns, f)
    # keepalived's -t reads the file once per process; each pass repeats the top-level lines
    want = {(n, m) for n, m in theirs if m.startswith(("Unknown keyword", "Unexpected '{'"))}
    res = load_config(str(f), LoadOptions(check_interfaces=False, check_scripts=False))
    ours = [(d.loc.line, d.message) for d in res.diagnostics.items
            if d.loc and d.message.startswith(("Unknown keyword", "Unexpected '{'"))]
    assert want and set(ours) == want
    assert theirs[0] == ours[0]
    assert (7, "Unknown keyword 'TCP_CHECK'") in want
    assert (1, "Unknown keyword 'real_server'") in want
