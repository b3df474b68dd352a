"""keepalived's lexical layer: every feature keeps file:line through its expansion."""

from __future__ import annotations

from pathlib import Path

from helpers.configs import load_text

from pykeepalived.config.diagnostics import Diagnostics, Rc
from pykeepalived.config.reader import Reader, ReaderOptions, decomment, tokenize

BASE = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100/24
    }
}
"""


def read(tmp_path: Path, text: str, **opts: object) -> tuple[list, Diagnostics]:
    p = tmp_path / "k.conf"
    p.write_text(text)
    d = Diagnostics()
    lines = Reader(d, ReaderOptions(**opts)).read(str(p))  # type: ignore[arg-type]
    return lines, d


def test_comments_anywhere_outside_quotes() -> None:
    assert decomment('auth_pass 11#11') == ("auth_pass 11", False)
    assert decomment('script "echo a#b" ! c') == ('script "echo a#b" ', False)
    assert decomment(r"router_id a\#b") == ("router_id a#b", False)


def test_quotes_and_braces_split() -> None:
    assert tokenize('notify "/bin/x a b" root') == (["notify", "/bin/x a b", "root"], False)
    assert tokenize("x { a }") == (["x", "{", "a", "}"], False)
    assert tokenize('a "open') == (["a", "open"], True)


def test_block_brace_on_next_line_and_one_line_block(tmp_path: Path) -> None:
    res = load_text(tmp_path, "vrrp_instance VI_1\n{\n interface eth0\n virtual_router_id 9\n"
                    " virtual_ipaddress { 192.0.2.5 }\n}\n")
    assert res.diagnostics.items == []
    assert str(res.config.vrrp_instances[0].virtual_ipaddress[0].address) == "192.0.2.5/32"


def test_value_block_is_one_entry_per_line(tmp_path: Path) -> None:
    res = load_text(tmp_path, BASE.replace("192.0.2.100/24", "192.0.2.100/24 192.0.2.101"))
    msgs = [d.message for d in res.diagnostics.errors]
    assert any("Unknown configuration entry '192.0.2.101'" in m for m in msgs)
    assert res.diagnostics.errors[0].loc.line == 6


def test_include_relative_glob_brace_and_lines(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "a.conf").write_text("\n\nbogus_a 1\n")
    (sub / "b.conf").write_text("bogus_b 1\n")
    (sub / "c.conf").write_text("bogus_c 1\n")
    res = load_text(tmp_path, "include sub/{a,b}.conf\ninclude sub/c*.conf\n")
    got = {(Path(d.loc.file).name, d.loc.line, d.message) for d in res.diagnostics.errors}
    assert got == {("a.conf", 3, "Unknown keyword 'bogus_a'"),
                   ("b.conf", 1, "Unknown keyword 'bogus_b'"),
                   ("c.conf", 1, "Unknown keyword 'bogus_c'")}


def test_include_inside_a_block(tmp_path: Path) -> None:
    (tmp_path / "vips.conf").write_text("192.0.2.7/24\n")
    res = load_text(tmp_path, BASE.replace("192.0.2.100/24", "include vips.conf"))
    assert [str(v.address) for v in res.config.vrrp_instances[0].virtual_ipaddress] == \
        ["192.0.2.7/24"]


def test_missing_include_semantics(tmp_path: Path) -> None:
    plain = load_text(tmp_path, "include nothere.conf\n")
    assert plain.exit_code() == Rc.OK
    assert "Config files missing" in plain.diagnostics.items[0].message
    assert load_text(tmp_path, "includea nothere.conf\n").exit_code() == Rc.SECURITY
    assert load_text(tmp_path, "include nothere.conf\n", all_config=True).exit_code() == \
        Rc.CANNOT_RUN
    assert load_text(tmp_path, "include no*.conf\n").diagnostics.items == []


def test_include_loop_is_reported_not_hung(tmp_path: Path) -> None:
    res = load_text(tmp_path, "include keepalived.conf\n")
    assert any("include loop" in d.message for d in res.diagnostics.errors)
    assert len(res.diagnostics.errors) == 1


def test_conditional_lines(tmp_path: Path) -> None:
    text = "global_defs {\n@main router_id M\n@^main router_id NOT_M\n}\n"
    assert load_text(tmp_path, text, config_id="main").config.global_defs.router_id == "M"
    assert load_text(tmp_path, text, config_id="other").config.global_defs.router_id == "NOT_M"


def test_parameters_recursive_use_time_and_untouched(tmp_path: Path) -> None:
    lines, _ = read(tmp_path, "$B=10.2.${S}\n$S=0\n${B}.1\n$S=10\n${B}.1\n$X y\nscript $UNDEF\n")
    assert [ln.words for ln in lines] == [("10.2.0.1",), ("10.2.10.1",), ("$X", "y"),
                                         ("script", "$UNDEF")]
    assert [ln.loc.line for ln in lines] == [3, 5, 6, 7]


def test_multiline_parameter_expands_to_blocks(tmp_path: Path) -> None:
    text = ("$INST= \\\nvrrp_instance VI_${N} { \\\n interface eth0 \\\n"
            " virtual_router_id ${N} \\\n virtual_ipaddress { \\\n 192.0.2.${N} \\\n } \\\n}\n"
            "$N=1\n$INST\n$N=2\n$INST\n")
    res = load_text(tmp_path, text)
    assert res.diagnostics.errors == []
    assert [(i.name, i.virtual_router_id) for i in res.config.vrrp_instances] == \
        [("VI_1", 1), ("VI_2", 2)]


def test_predefined_parameters(tmp_path: Path) -> None:
    lines, _ = read(tmp_path, "a ${_PWD} ${_INSTANCE} ${_RANDOM 5 5} ${_HASH}${_BANG} b\n",
                    config_id="nodeA")
    # ${_HASH}/${_BANG} yield '#'/'!', which start a comment (test_corpus_causes.py)
    assert lines[0].words == ("a", str(tmp_path), "nodeA", "5")


def test_seq_and_lst(tmp_path: Path) -> None:
    lines, _ = read(tmp_path, "~SEQ(i, 1, 3) x 192.0.2.$i\n~SEQx(h, 0x90, 0x10, 0xb0) y ${h}\n"
                    "~LST({a,b}, {1,2},{3,4}) z ${a}-${b}\n")
    assert [ln.words for ln in lines] == [
        ("x", "192.0.2.1"), ("x", "192.0.2.2"), ("x", "192.0.2.3"),
        ("y", "90"), ("y", "a0"), ("y", "b0"), ("z", "1-2"), ("z", "3-4")]


def test_line_too_long_and_nul_are_ignored_with_a_line(tmp_path: Path) -> None:
    lines, d = read(tmp_path, "a" * 2000 + "\nb\x00c\nok 1\n")
    assert [ln.words for ln in lines] == [("ok", "1")]
    assert [(e.loc.line, "too long" in e.message or "NUL" in e.message) for e in d.errors] == \
        [(1, True), (2, True)]


def test_brace_repair_reports_and_continues(tmp_path: Path) -> None:
    res = load_text(tmp_path, BASE + "}\n")
    # keepalived 2.2.7: "(Line N) Extra '}' found" and "(Line N) Unknown keyword '}'"
    assert [d.message for d in res.diagnostics.errors] == ["Extra '}' found",
                                                           "Unknown keyword '}'"]
    res = load_text(tmp_path, BASE.rstrip().rstrip("}"))
    assert "missing '}'" in res.diagnostics.errors[0].message
    assert res.config.vrrp_instances[0].virtual_router_id == 51


def test_missing_value_is_fatal_like_keepalived(tmp_path: Path) -> None:
    res = load_text(tmp_path, BASE.replace("virtual_router_id 51", "virtual_router_id"))
    assert res.exit_code() == Rc.FATAL_PARSE
    assert res.diagnostics.errors[0].loc.line == 4
