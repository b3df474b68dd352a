"""`-d`: the parsed model, readable, with every default and inherited value shown."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from pykeepalived.config.model import Config


def _fmt(v: Any) -> str:
    if isinstance(v, Enum):
        return str(v.value)
    if isinstance(v, bytes):
        return v.hex()
    return str(v)


def _lines(obj: Any, indent: int) -> list[str]:
    pad = "  " * indent
    out: list[str] = []
    for f in dataclasses.fields(obj):
        if f.name == "loc":
            continue
        v = getattr(obj, f.name)
        if v is None or v == ():
            continue
        if dataclasses.is_dataclass(v):
            out.append(f"{pad}{f.name}:")
            out.extend(_lines(v, indent + 1))
        elif isinstance(v, tuple) and v and dataclasses.is_dataclass(v[0]):
            for item in v:
                head = getattr(item, "name", None) or getattr(item, "address", None) \
                    or getattr(item, "kind", None) or getattr(item, "ip", "")
                out.append(f"{pad}{f.name} {head}:")
                out.extend(_lines(item, indent + 1))
        else:
            out.append(f"{pad}{f.name} = {_fmt(v)}")
    return out


def dump_config(cfg: Config) -> str:
    out = ["------< pykeepalived configuration >------"]
    out.extend(_lines(cfg, 0))
    return "\n".join(out)
