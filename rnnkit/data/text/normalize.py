"""Unicode normalisation and the input checks every tokenizer shares.

Normalisation forms (``unicodedata``): ``"NFC"`` composes (``"e" + U+0301`` → ``"é"``, one code point),
``"NFD"`` decomposes, ``"NFKC"`` / ``"NFKD"`` also fold compatibility characters (``"ﬁ"`` → ``"fi"``,
full-width ``"Ａ"`` → ``"A"``, ``"①"`` → ``"1"``); ``None`` leaves text as it is. A combining mark
without a precomposed form (``"q" + U+0307``) stays a separate code point under NFC.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["NORMALIZATIONS", "check_normalization", "normalize", "check_text", "check_texts"]

#: accepted values of ``normalization=``
NORMALIZATIONS = ("NFC", "NFD", "NFKC", "NFKD", None)


def check_normalization(owner: str, value: Any) -> str | None:
    if value not in NORMALIZATIONS:
        raise ValueError(f"{owner}: normalization must be one of {list(NORMALIZATIONS)}; got {value!r}.")
    return value


def normalize(text: str, form: str | None) -> str:
    """``text`` in Unicode normal form ``form`` (None: unchanged)."""
    if form is None or unicodedata.is_normalized(form, text):
        return text
    return unicodedata.normalize(form, text)


def check_text(owner: str, text: Any, what: str = "text") -> str:
    if not isinstance(text, str):
        hint = " Decode bytes first, e.g. text.decode('utf-8')." if isinstance(text, (bytes, bytearray)) else ""
        raise TypeError(f"{owner}: {what} must be a str; got {type(text).__name__}.{hint}")
    return text


def check_texts(owner: str, texts: Any) -> Iterator[str]:
    """Iterate ``texts`` (any iterable of str, consumed once), checking each item's type.

    A bare ``str`` is refused: iterating it would yield its characters, one "text" each.
    """
    if isinstance(texts, (str, bytes, bytearray)):
        raise TypeError(
            f"{owner}: texts must be an iterable of str (a list of documents); got a single "
            f"{type(texts).__name__}. Wrap it in a list: [text]."
        )
    if not isinstance(texts, Iterable):
        raise TypeError(f"{owner}: texts must be an iterable of str; got {type(texts).__name__}.")
    return _checked(owner, texts)


def _checked(owner: str, texts: Iterable[Any]) -> Iterator[str]:
    for i, text in enumerate(texts):
        yield check_text(owner, text, f"texts[{i}]")
