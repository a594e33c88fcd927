"""``CharTokenizer``: one id per Unicode code point, after optional normalisation (NFC by default).

    >>> tok = CharTokenizer().fit(["héllo wörld", "你好 🙂"])
    >>> tok.decode(tok.encode("hello 🙂"))      # "hello 🙂": every character was seen
    >>> tok.decode(tok.encode("hello ☃"))       # "hello <unk>": "☃" was not

What round-trips: ``decode(encode(t)) == normalize(t, normalization)`` exactly when every code point of
the normalised text was seen by ``fit`` (with ``normalization=None``: ``== t``). NFC composes a letter and
its combining accent into one code point where Unicode has one (``"e" + U+0301`` → ``"é"``), so ``"é"``
typed either way is one token; a sequence without a precomposed form (``"q" + U+0307``) stays two code
points, the mark its own token. An emoji is one code point (``"🙂"``), but a ZWJ sequence (``"👩‍💻"``) or a
flag is several. Unseen code points become unk (id 1), decoded as ``"<unk>"``.

Speed: encoding maps the UTF-32 code points through a dense NumPy table (a few ms for 1 MB of text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from rnnkit.data.text.base import VocabularyTokenizer
from rnnkit.data.text.normalize import check_normalization, normalize
from rnnkit.data.text.vocabulary import NUM_SPECIAL, UNK_ID, SpecialTokens, Vocabulary, rank_tokens

__all__ = ["CharTokenizer"]


def _code_points(text: str) -> np.ndarray:
    """``(N,)`` uint32 code points of ``text`` (lone surrogates included as they are)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class CharTokenizer(VocabularyTokenizer):
    """Characters (code points) → ids; ``max_vocab`` keeps the most frequent (4 specials included)."""

    kind = "char"

    def __init__(self, *, normalization: str | None = "NFC", max_vocab: int | None = None, min_frequency: int = 1,
                 special_tokens: SpecialTokens | None = None) -> None:
        super().__init__(max_vocab=max_vocab, min_frequency=min_frequency, special_tokens=special_tokens)
        self.normalization = check_normalization("CharTokenizer", normalization)
        self._table: np.ndarray | None = None  # (max code point + 2,) id of each code point, unk elsewhere

    def _train(self, texts: Iterator[str]) -> list[str]:
        chunks = [_code_points(normalize(text, self.normalization)) for text in texts]
        if not chunks:
            return []
        codes, counts = np.unique(np.concatenate(chunks), return_counts=True)
        tally = {chr(int(c)): int(n) for c, n in zip(codes, counts)}
        max_tokens = None if self.max_vocab is None else self.max_vocab - NUM_SPECIAL
        return rank_tokens(tally, max_tokens=max_tokens, min_frequency=self.min_frequency)

    def _install(self, tokens: list[str]) -> None:
        if not all(len(t) == 1 for t in tokens):
            raise ValueError("CharTokenizer: every learned token must be one code point.")
        self._vocab = Vocabulary(self.special_tokens, tokens)
        codes = np.array([ord(t) for t in tokens], dtype=np.int64)
        table = np.full(int(codes.max()) + 2, UNK_ID, dtype=np.int32)  # the last slot: anything beyond
        table[codes] = np.arange(NUM_SPECIAL, NUM_SPECIAL + len(tokens))
        self._table = table

    def _encode(self, text: str) -> list[int]:
        codes = _code_points(normalize(text, self.normalization))        # (N,)
        last = len(self._table) - 1
        return self._table[np.minimum(codes, last)].tolist()             # (N,) ids, unk past the table

    def _decode(self, ids: list[int]) -> str:
        return "".join(self._decode_tokens(ids))

    def _config(self) -> dict[str, Any]:
        return {"normalization": self.normalization, **self._common_config()}
