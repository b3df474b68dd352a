"""Config language: reader, grammar, keyword table, typed model, validation.

The loading machinery is imported on first use (PEP 562): a process that only holds a model
(the daemon's parent and children, which get it from the loader) imports `config.model` and
`config.diagnostics`, not the reader, parser and sections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pykeepalived.config.load import LoadOptions, LoadResult, load_config

__all__ = ["LoadOptions", "LoadResult", "load_config"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pykeepalived.config import load

        return getattr(load, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
