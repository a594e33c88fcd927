"""Special tokens with fixed ids, and a token ↔ id table built from counts.

Ids 0..3 are always ``pad``, ``unk``, ``bos``, ``eos`` (in that order), whatever the tokenizer:
``pad = 0`` is what ``Embedding(mask_zero=True)`` and ``pad_sequences`` take as padding, and ``unk = 1``
matches Keras' ``[UNK]`` index in ``TextVectorization``. Learned tokens follow from id 4.

Ranking (``rank_tokens``): tokens seen at least ``min_frequency`` times, most frequent first, ties
broken by code-point order of the token (``"A" < "a" < "é"``), so the vocabulary depends only on the
counts, not on the order of the corpus; then cut to ``max_vocab`` entries *including* the 4 specials
(``vocab_size <= max_vocab``, so ``Embedding(input_dim=max_vocab)`` always fits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["PAD_ID", "UNK_ID", "BOS_ID", "EOS_ID", "NUM_SPECIAL", "SpecialTokens", "Vocabulary", "check_limits",
           "rank_tokens"]

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
NUM_SPECIAL = 4


@dataclass(frozen=True)
class SpecialTokens:
    """The strings of the special tokens (their ids are fixed: pad 0, unk 1, bos 2, eos 3)."""

    pad: str = "<pad>"   # id 0: padding (Embedding(mask_zero=True) skips it)
    unk: str = "<unk>"   # id 1: anything not in the vocabulary
    bos: str = "<bos>"   # id 2: begin of sequence (encode(..., add_bos=True))
    eos: str = "<eos>"   # id 3: end of sequence (encode(..., add_eos=True))

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, str) or not value:
                raise TypeError(f"SpecialTokens: {name} must be a non-empty str; got {value!r}.")
        if len(set(self.as_list())) != NUM_SPECIAL:
            raise ValueError(f"SpecialTokens: the four tokens must differ; got {self.as_list()}.")

    def as_list(self) -> list[str]:
        """``[pad, unk, bos, eos]``: index = id."""
        return [self.pad, self.unk, self.bos, self.eos]

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Any) -> SpecialTokens:
        if isinstance(value, SpecialTokens):
            return value
        if not isinstance(value, dict) or set(value) - {"pad", "unk", "bos", "eos"}:
            raise ValueError(f"special_tokens must be a SpecialTokens or a dict with keys pad/unk/bos/eos; "
                             f"got {value!r}.")
        return cls(**value)


def check_limits(owner: str, max_vocab: Any, min_frequency: Any) -> None:
    """``max_vocab``: None (no cap) or an int > 4 (it counts the 4 specials); ``min_frequency``: int >= 1."""
    if max_vocab is not None and (isinstance(max_vocab, bool) or not isinstance(max_vocab, int)):
        raise TypeError(f"{owner}: max_vocab must be an int or None; got {type(max_vocab).__name__} {max_vocab!r}.")
    if max_vocab is not None and max_vocab <= NUM_SPECIAL:
        raise ValueError(f"{owner}: max_vocab counts the {NUM_SPECIAL} special tokens, so it must be > "
                         f"{NUM_SPECIAL}; got {max_vocab}.")
    if isinstance(min_frequency, bool) or not isinstance(min_frequency, int):
        raise TypeError(f"{owner}: min_frequency must be an int; got {type(min_frequency).__name__} {min_frequency!r}.")
    if min_frequency < 1:
        raise ValueError(f"{owner}: min_frequency must be >= 1; got {min_frequency}.")


def rank_tokens(counts: Mapping[str, int], *, max_tokens: int | None, min_frequency: int) -> list[str]:
    """Tokens with ``count >= min_frequency``, by count descending then code-point order, at most ``max_tokens``."""
    kept = [(token, n) for token, n in counts.items() if n >= min_frequency]
    kept.sort(key=lambda item: (-item[1], item[0]))
    if max_tokens is not None:
        kept = kept[:max_tokens]
    return [token for token, _ in kept]


class Vocabulary:
    """``id_to_token`` (a list: index = id; specials at 0..3) and its inverse for the learned tokens.

    ``encode_table`` holds the learned tokens only: text that spells a special token (say ``"<pad>"``
    split out by a custom word pattern) is never read as that special token; it encodes as unk.
    """

    def __init__(self, specials: SpecialTokens, tokens: Sequence[str]) -> None:
        tokens = list(tokens)
        if not all(isinstance(t, str) and t for t in tokens):
            raise ValueError("vocabulary: every token must be a non-empty str.")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary: tokens must be unique.")
        clash = sorted(set(tokens) & set(specials.as_list()))
        if clash:
            raise ValueError(f"vocabulary: learned tokens must not spell special tokens; got {clash}.")
        self.specials = specials
        self.id_to_token: list[str] = [*specials.as_list(), *tokens]
        self.encode_table: dict[str, int] = {t: i for i, t in enumerate(self.id_to_token) if i >= NUM_SPECIAL}

    def __len__(self) -> int:
        return len(self.id_to_token)

    def learned(self) -> list[str]:
        """The tokens after the specials, in id order."""
        return self.id_to_token[NUM_SPECIAL:]

    def token_to_id(self, token: str) -> int | None:
        if token in self.encode_table:
            return self.encode_table[token]
        specials = self.specials.as_list()
        return specials.index(token) if token in specials else None
