"""``WordTokenizer``: words and punctuation by a regular expression, with lowercasing and normalisation.

    >>> tok = WordTokenizer(lowercase=True, min_frequency=2, max_vocab=20_000).fit(texts)
    >>> tok.split("Don't panic!")                 # ["don", "'", "t", "panic", "!"]
    >>> tok.decode(tok.encode("Don't panic!"))    # "don't panic!"

Steps: lowercase (``str.lower``, all of Unicode) if asked, then normalise (``"NFC"`` default, ``"NFKC"``, ...,
or None), then every non-empty match of ``pattern`` (default ``\\w+|[^\\w\\s]``: runs of letters, digits and
underscores, and each other non-space character alone) is a token. Whitespace only separates tokens.

Vocabulary: tokens seen ``min_frequency`` times or more, most frequent first, ties in code-point order,
cut to ``max_vocab`` entries counting the 4 specials (see :mod:`.vocabulary`).

``decode`` is lossy: tokens are joined by single spaces except that no space goes before ``. , ; : ! ? %
) ] } … ” »``, none after ``( [ { “ « ¿ ¡``, none on either side of ``' ’ - /``, and double quotes ``"``
alternate opening and closing. So ``decode(encode(t)) == t`` exactly when ``t`` is already lowercased (if
``lowercase``) and normalised, every token is in the vocabulary, and its spacing is what that rule writes
(``"Hello, world!"``, ``"don't"``, ``"(see p. 3)"`` round-trip; ``"a  b"``, ``"a\\nb"``, ``"a - b"`` and
``"$5"`` come back as ``"a b"``, ``"a b"``, ``"a-b"`` and ``"$ 5"``). Unknown words decode as ``"<unk>"``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from rnnkit.data.text.base import VocabularyTokenizer
from rnnkit.data.text.normalize import check_normalization, normalize
from rnnkit.data.text.vocabulary import NUM_SPECIAL, UNK_ID, SpecialTokens, Vocabulary, rank_tokens

__all__ = ["WordTokenizer", "DEFAULT_PATTERN", "detokenize"]

DEFAULT_PATTERN = r"\w+|[^\w\s]"

_ATTACH_LEFT = frozenset(".,;:!?%)]}…”»")   # no space before
_ATTACH_RIGHT = frozenset("([{“«¿¡")        # no space after
_ATTACH_BOTH = frozenset("'’-/")            # neither


def detokenize(tokens: list[str]) -> str:
    """Join ``tokens`` with the spacing rule of the module docstring."""
    parts: list[str] = []
    glue_next = True      # no space before the next token (start of text, or after an opening token)
    quote_open = False
    for token in tokens:
        quote = token == '"'
        left = token in _ATTACH_LEFT or token in _ATTACH_BOTH or (quote and quote_open)
        right = token in _ATTACH_RIGHT or token in _ATTACH_BOTH or (quote and not quote_open)
        quote_open ^= quote
        if parts and not (glue_next or left):
            parts.append(" ")
        parts.append(token)
        glue_next = right
    return "".join(parts)


class WordTokenizer(VocabularyTokenizer):
    """Regex tokens → ids; unknown tokens → unk (1)."""

    kind = "word"

    def __init__(self, *, pattern: str = DEFAULT_PATTERN, lowercase: bool = False, normalization: str | None = "NFC",
                 max_vocab: int | None = None, min_frequency: int = 1,
                 special_tokens: SpecialTokens | None = None) -> None:
        super().__init__(max_vocab=max_vocab, min_frequency=min_frequency, special_tokens=special_tokens)
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"WordTokenizer: pattern must be a non-empty str (a regular expression); got {pattern!r}.")
        try:
            self._regex = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"WordTokenizer: pattern {pattern!r} is not a valid regular expression "
                             f"({error}).") from None
        if not isinstance(lowercase, bool):
            raise TypeError(f"WordTokenizer: lowercase must be a bool; got {type(lowercase).__name__} {lowercase!r}.")
        self.pattern = pattern
        self.lowercase = lowercase
        self.normalization = check_normalization("WordTokenizer", normalization)

    def standardize(self, text: str) -> str:
        """The text the pattern runs on: lowercased (if ``lowercase``), then normalised."""
        return normalize(text.lower() if self.lowercase else text, self.normalization)

    def split(self, text: str) -> list[str]:
        """The tokens of ``text`` before the vocabulary lookup (non-empty matches of ``pattern``)."""
        return [m.group(0) for m in self._regex.finditer(self.standardize(text)) if m.group(0)]

    def _train(self, texts: Iterator[str]) -> list[str]:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(self.split(text))
        for special in self.special_tokens.as_list():  # never learned as words (see Vocabulary)
            counts.pop(special, None)
        max_tokens = None if self.max_vocab is None else self.max_vocab - NUM_SPECIAL
        return rank_tokens(counts, max_tokens=max_tokens, min_frequency=self.min_frequency)

    def _install(self, tokens: list[str]) -> None:
        self._vocab = Vocabulary(self.special_tokens, tokens)

    def _encode(self, text: str) -> list[int]:
        table = self._vocab.encode_table
        return [table.get(token, UNK_ID) for token in self.split(text)]

    def _decode(self, ids: list[int]) -> str:
        return detokenize(self._decode_tokens(ids))

    def _config(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "lowercase": self.lowercase, "normalization": self.normalization,
                **self._common_config()}
