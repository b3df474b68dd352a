"""Config language: reader, grammar, keyword table, typed model, validation."""

from pykeepalived.config.load import LoadOptions, LoadResult, load_config

__all__ = ["LoadOptions", "LoadResult", "load_config"]
