"""``BPETokenizer``: byte-level byte-pair encoding, trained locally with HuggingFace ``tokenizers``.

    >>> tok = BPETokenizer(max_vocab=2000).fit(texts)      # BpeTrainer + train_from_iterator, no download
    >>> tok.decode(tok.encode("naïve café 你好 🙂"))         # exactly the input

The text is split as GPT-2 does (``pre_tokenizers.ByteLevel``: words with their leading space, digits,
punctuation), each piece is read as UTF-8 bytes, and merges learned by ``trainers.BpeTrainer`` join
frequent byte pairs. The 256 single bytes are always in the vocabulary (ids 4..259 hold them, with the
merges after), so no text is ever unknown and, with ``normalization=None`` (the default), ``decode(encode(t))
== t`` for any str UTF-8 can encode: accents, CJK, emoji, combining marks, tabs, newlines and repeated spaces
included (a lone surrogate such as ``"\\ud800"`` is a ``ValueError``). With
``normalization="NFC"`` (or another form) the round trip gives the normalised text. Text that spells a
special token (``"<pad>"``) is encoded as ordinary bytes, never as the special id.

``max_vocab`` is the trained vocabulary size (the 4 specials and 256 bytes included, so at least 260;
default 1000); ``min_frequency`` (default 2) is how often a pair must occur to be merged. Tokens are
byte-level strings (``"Ġthe"`` is " the"). Training is deterministic: the same corpus gives the same merges.
What is saved is HuggingFace's own JSON (``Tokenizer.to_str()``), loaded back with ``Tokenizer.from_str``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from rnnkit.data.text.base import Tokenizer
from rnnkit.data.text.vocabulary import NUM_SPECIAL, SpecialTokens

__all__ = ["BPETokenizer", "MIN_BPE_VOCAB"]

_BYTES = 256
MIN_BPE_VOCAB = NUM_SPECIAL + _BYTES
_HF_NORMALIZERS = {"NFC": "NFC", "NFD": "NFD", "NFKC": "NFKC", "NFKD": "NFKD"}
_SURROGATE_ERROR = ("{owner}: a text holds a lone surrogate code point (U+D800..U+DFFF), which UTF-8 cannot encode "
                    "and byte-level BPE cannot read; clean it first, e.g. text.encode('utf-8', 'replace').decode().")


def _hf() -> Any:
    try:
        import tokenizers
    except ImportError:  # a declared dependency, but say how to get it if an environment lacks it
        raise ImportError("BPETokenizer needs HuggingFace tokenizers: pip install tokenizers") from None
    return tokenizers


class BPETokenizer(Tokenizer):
    """Byte-level BPE (HuggingFace ``tokenizers.models.BPE``); ids 0..3 are pad, unk, bos, eos."""

    kind = "bpe"

    def __init__(self, *, max_vocab: int = 1000, min_frequency: int = 2, normalization: str | None = None,
                 special_tokens: SpecialTokens | None = None) -> None:
        super().__init__(max_vocab=max_vocab, min_frequency=min_frequency, special_tokens=special_tokens)
        if max_vocab is None or max_vocab < MIN_BPE_VOCAB:
            raise ValueError(f"BPETokenizer: max_vocab counts the {NUM_SPECIAL} special tokens and the {_BYTES} "
                             f"byte tokens, so it must be >= {MIN_BPE_VOCAB}; got {max_vocab}. E.g. max_vocab=1000.")
        if normalization not in (*_HF_NORMALIZERS, None):
            raise ValueError(f"BPETokenizer: normalization must be one of {[*_HF_NORMALIZERS, None]}; "
                             f"got {normalization!r}.")
        self.normalization = normalization
        self._tokenizer: Any = None  # tokenizers.Tokenizer once fitted

    def _new_tokenizer(self) -> Any:
        hf = _hf()
        tokenizer = hf.Tokenizer(hf.models.BPE(unk_token=self.special_tokens.unk))
        if self.normalization is not None:
            tokenizer.normalizer = getattr(hf.normalizers, _HF_NORMALIZERS[self.normalization])()
        tokenizer.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = hf.decoders.ByteLevel()
        return tokenizer

    def _train(self, texts: Iterator[str]) -> Any:
        hf = _hf()
        tokenizer = self._new_tokenizer()
        trainer = hf.trainers.BpeTrainer(
            vocab_size=self.max_vocab, min_frequency=self.min_frequency, show_progress=False,
            special_tokens=self.special_tokens.as_list(),            # in this order: pad = 0, unk = 1, bos, eos
            initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is ever unknown
        )
        try:
            tokenizer.train_from_iterator(texts, trainer=trainer)
        except UnicodeEncodeError:
            raise ValueError(_SURROGATE_ERROR.format(owner="BPETokenizer.fit")) from None
        return tokenizer

    def _adopt(self, tokenizer: Any) -> None:
        self._check_specials(tokenizer)
        tokenizer.encode_special_tokens = True  # "<pad>" in a text is text (not kept by to_str: set on load too)
        self._tokenizer = tokenizer

    def _check_specials(self, tokenizer: Any) -> None:
        ids = [tokenizer.token_to_id(token) for token in self.special_tokens.as_list()]
        if ids != list(range(NUM_SPECIAL)):
            raise ValueError(f"BPETokenizer: the special tokens {self.special_tokens.as_list()} must have ids "
                             f"0..3; the tokenizer gives them {ids}.")

    def _encode(self, text: str) -> list[int]:
        return self._encode_batch([text])[0]

    def _encode_batch(self, texts: list[str]) -> list[list[int]]:
        try:
            return [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]
        except TypeError:  # tokenizers' message for a str that is not valid UTF-8 ("must be str") misleads
            raise ValueError(_SURROGATE_ERROR.format(owner="BPETokenizer.encode")) from None

    def _decode(self, ids: list[int]) -> str:
        # specials were already dropped (or kept) by decode(); unk is written as its token, as elsewhere
        return self._tokenizer.decode(ids, skip_special_tokens=False)

    @property
    def vocab_size(self) -> int:
        self.require_fitted("vocab_size")
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def token_to_id(self, token: str) -> int | None:
        """The id of a byte-level token (``"Ġthe"`` for " the"), or None."""
        self.require_fitted("token_to_id")
        return self._tokenizer.token_to_id(token)

    def id_to_token(self, id: int) -> str:
        self.require_fitted("id_to_token")
        token = None if isinstance(id, bool) or not isinstance(id, int) else self._tokenizer.id_to_token(id)
        if token is None:
            raise ValueError(f"BPETokenizer.id_to_token: id must be an int in [0, {self.vocab_size}); got {id!r}.")
        return token

    def _config(self) -> dict[str, Any]:
        return {"normalization": self.normalization, **self._common_config()}

    def _state(self) -> dict[str, Any]:
        return {"tokenizer": json.loads(self._tokenizer.to_str())}

    def _restore(self, state: Any) -> None:
        if not isinstance(state, dict) or set(state) != {"tokenizer"} or not isinstance(state["tokenizer"], dict):
            raise ValueError("BPETokenizer: state must be {'tokenizer': <HuggingFace tokenizer JSON object>}.")
        model = state["tokenizer"].get("model")
        if not isinstance(model, dict) or model.get("type") != "BPE":
            raise ValueError("BPETokenizer: the saved HuggingFace tokenizer is not a BPE model.")
        try:
            tokenizer = _hf().Tokenizer.from_str(json.dumps(state["tokenizer"]))
        except Exception as error:  # tokenizers raises its own exception type for malformed JSON
            raise ValueError(f"BPETokenizer: cannot read the saved HuggingFace tokenizer ({error}).") from None
        self._adopt(tokenizer)
