"""Loading config text in tests (a uniquely named module: `conftest` is ambiguous)."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config import LoadOptions, LoadResult, load_config
from pykeepalived.config.host import HostInfo


def load_text(tmp_path: Path, text: str, name: str = "keepalived.conf",
              interfaces: frozenset[str] = frozenset({"eth0", "eth1"}),
              **kw: object) -> LoadResult:
    p = tmp_path / name
    p.write_text(text)
    opts = LoadOptions(host=HostInfo(interfaces), check_scripts=bool(kw.pop("scripts", False)),
                       **kw)  # type: ignore[arg-type]
    return load_config(str(p), opts)
