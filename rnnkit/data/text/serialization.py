"""Tokenizers to and from JSON, by kind name: ``"char"``, ``"word"``, ``"bpe"``.

``tokenizer_from_dict`` looks the kind up in ``TOKENIZER_KINDS``, a fixed table: a saved file names a kind,
never a module or class to import, and an unknown kind, key or version is a ``ValueError``.
"""

from __future__ import annotations

from typing import Any

from rnnkit.data.text.base import FORMAT_VERSION, Tokenizer
from rnnkit.data.text.bpe import BPETokenizer
from rnnkit.data.text.char import CharTokenizer
from rnnkit.data.text.word import WordTokenizer

__all__ = ["TOKENIZER_KINDS", "tokenizer_from_dict", "tokenizer_from_json"]

#: the only tokenizer classes saved data may name
TOKENIZER_KINDS: dict[str, type[Tokenizer]] = {cls.kind: cls for cls in (CharTokenizer, WordTokenizer, BPETokenizer)}

_KEYS = {"kind", "format_version", "config", "state"}


def tokenizer_from_dict(value: Any) -> Tokenizer:
    """A fitted tokenizer from ``Tokenizer.to_dict()``."""
    if not isinstance(value, dict) or set(value) != _KEYS:
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise ValueError(f"tokenizer data must be a dict with keys {sorted(_KEYS)} (from Tokenizer.to_dict()); "
                         f"got {got}.")
    kind = value["kind"]
    cls = TOKENIZER_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of {sorted(TOKENIZER_KINDS)}.")
    if value["format_version"] != FORMAT_VERSION:
        raise ValueError(f"tokenizer format_version {value['format_version']!r} is not supported "
                         f"(expected {FORMAT_VERSION}).")
    config = value["config"]
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise ValueError(f"tokenizer config must be a dict of options; got {type(config).__name__}.")
    try:
        tokenizer = cls(**config)
    except TypeError as error:  # an unknown option: say which, as a data error
        raise ValueError(f"invalid {kind!r} tokenizer config: {error}") from None
    tokenizer._restore(value["state"])
    tokenizer.fitted = True
    return tokenizer


def tokenizer_from_json(text: str) -> Tokenizer:
    """A fitted tokenizer from ``Tokenizer.to_json()``."""
    return Tokenizer.from_json(text)
