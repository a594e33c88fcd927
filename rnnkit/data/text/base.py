"""``Tokenizer``: the one interface of the character, word and BPE tokenizers.

    >>> tok = WordTokenizer(lowercase=True, max_vocab=20_000, min_frequency=2).fit(texts)
    >>> ids = tok.encode("Hello, world!", add_bos=True, add_eos=True)     # list[int]
    >>> tok.decode(ids)                                                   # "hello, world!"
    >>> same = Tokenizer.from_json(tok.to_json())                         # by kind: "char" | "word" | "bpe"

Ids 0..3 are always pad, unk, bos, eos (:mod:`.vocabulary`). ``decode(ids, skip_special=True)`` drops
pad, bos and eos but always writes unk as its token (``"<unk>"``), so what was unknown stays visible.
``to_json`` holds everything needed to encode and decode (options and vocabulary or merges); ``from_json``
rebuilds by the ``kind`` name from a fixed table: a file can never cause an import.
Errors: fitting twice, encoding before ``fit``, an empty corpus and non-str input are ``ValueError`` /
``TypeError`` that say what to do.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from rnnkit.data.text.normalize import check_text, check_texts
from rnnkit.data.text.vocabulary import BOS_ID, EOS_ID, PAD_ID, UNK_ID, SpecialTokens, Vocabulary, check_limits

__all__ = ["Tokenizer", "VocabularyTokenizer", "FORMAT_VERSION"]

FORMAT_VERSION = 1


class Tokenizer(abc.ABC):
    """Base class. Subclasses set ``kind`` and implement ``_train``, ``_adopt``, ``_encode``, ``_decode``,
    ``_config``, ``_state`` and ``_restore``; the checks and the special-token handling live here once."""

    kind: ClassVar[str]
    pad_id: ClassVar[int] = PAD_ID
    unk_id: ClassVar[int] = UNK_ID
    bos_id: ClassVar[int] = BOS_ID
    eos_id: ClassVar[int] = EOS_ID

    def __init__(self, *, max_vocab: int | None = None, min_frequency: int = 1,
                 special_tokens: SpecialTokens | None = None) -> None:
        check_limits(type(self).__name__, max_vocab, min_frequency)
        if special_tokens is not None and not isinstance(special_tokens, (SpecialTokens, dict)):
            raise TypeError(f"{type(self).__name__}: special_tokens must be a SpecialTokens; got "
                            f"{type(special_tokens).__name__}.")
        self.max_vocab = max_vocab
        self.min_frequency = min_frequency
        self.special_tokens = SpecialTokens.from_dict(special_tokens or SpecialTokens())
        self.fitted = False

    # --- subclass hooks -----------------------------------------------------------------------------
    @abc.abstractmethod
    def _train(self, texts: Iterator[str]) -> Any:
        """Learn from ``texts`` and return the state ``_adopt`` installs (nothing changes before that)."""

    @abc.abstractmethod
    def _adopt(self, state: Any) -> None: ...

    @abc.abstractmethod
    def _encode(self, text: str) -> list[int]: ...

    @abc.abstractmethod
    def _decode(self, ids: list[int]) -> str:
        """Text of ``ids`` (specials already removed or kept by ``decode``)."""

    @abc.abstractmethod
    def _config(self) -> dict[str, Any]:
        """The keyword arguments of ``__init__`` (plain JSON values)."""

    @abc.abstractmethod
    def _state(self) -> Any:
        """What ``fit`` learned, as plain JSON values."""

    @abc.abstractmethod
    def _restore(self, state: Any) -> None: ...

    @property
    @abc.abstractmethod
    def vocab_size(self) -> int:
        """Number of ids, the 4 special tokens included: ``Embedding(input_dim=tok.vocab_size)``."""

    @abc.abstractmethod
    def token_to_id(self, token: str) -> int | None:
        """The id of ``token``, or None when it is not in the vocabulary."""

    @abc.abstractmethod
    def id_to_token(self, id: int) -> str: ...

    # --- fitting ------------------------------------------------------------------------------------
    def fit(self, texts: Iterable[str]) -> Tokenizer:
        """Learn the vocabulary from ``texts`` (an iterable of str, read once). Returns ``self``."""
        owner = f"{type(self).__name__}.fit"
        if self.fitted:
            raise ValueError(f"{owner}: this tokenizer is already fitted; a vocabulary is learned once. Create a "
                             f"new {type(self).__name__}(...) to fit another corpus.")
        stats = {"texts": 0, "chars": 0}

        def counted() -> Iterator[str]:
            for text in check_texts(owner, texts):
                stats["texts"] += 1
                stats["chars"] += len(text)
                yield text

        state = self._train(counted())
        if stats["texts"] == 0:
            raise ValueError(f"{owner}: texts is empty; pass at least one non-empty str.")
        if stats["chars"] == 0:
            raise ValueError(f"{owner}: every one of the {stats['texts']} texts is empty; nothing to learn from.")
        self._adopt(state)
        self.fitted = True
        return self

    def require_fitted(self, where: str) -> None:
        if not self.fitted:
            raise ValueError(f"{type(self).__name__}.{where}: the tokenizer is not fitted yet; call "
                             f"fit(texts) first (or load one with Tokenizer.from_json).")

    # --- encoding and decoding ----------------------------------------------------------------------
    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Ids of ``text``; ``add_bos`` / ``add_eos`` put bos (2) first / eos (3) last."""
        self.require_fitted("encode")
        return self._wrap(self._encode(check_text(f"{type(self).__name__}.encode", text)), add_bos, add_eos)

    def encode_batch(self, texts: Iterable[str], *, add_bos: bool = False, add_eos: bool = False) -> list[list[int]]:
        """``[encode(t) for t in texts]`` (BPE runs the batch in parallel)."""
        self.require_fitted("encode_batch")
        batch = list(check_texts(f"{type(self).__name__}.encode_batch", texts))
        return [self._wrap(ids, add_bos, add_eos) for ids in self._encode_batch(batch)]

    def _encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [self._encode(text) for text in texts]

    def _wrap(self, ids: list[int], add_bos: bool, add_eos: bool) -> list[int]:
        return [BOS_ID] * bool(add_bos) + ids + [EOS_ID] * bool(add_eos)

    def decode(self, ids: Sequence[int] | np.ndarray | Any, *, skip_special: bool = True) -> str:
        """Text of ``ids`` (a list, NumPy array or 1-D tensor of ints). ``skip_special`` drops pad, bos and
        eos; unk is always written as its token. What round-trips exactly: see each tokenizer's docstring."""
        self.require_fitted("decode")
        ids = self._check_ids(ids)                                     # (N,) int64
        if skip_special:
            ids = ids[(ids != PAD_ID) & (ids != BOS_ID) & (ids != EOS_ID)]
        return self._decode(ids.tolist())

    def _check_ids(self, ids: Any) -> np.ndarray:
        owner = f"{type(self).__name__}.decode"
        if hasattr(ids, "detach"):  # a torch tensor
            ids = ids.detach().cpu().numpy()
        array = np.asarray(ids)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise TypeError(f"{owner}: ids must be a 1-D sequence of ints (one text); got shape {array.shape}, "
                            f"dtype {array.dtype}. For a batch use [decode(row) for row in ids].")
        array = array.astype(np.int64)
        bad = (array < 0) | (array >= self.vocab_size)
        if bad.any():
            raise ValueError(f"{owner}: ids must be in [0, vocab_size={self.vocab_size}); "
                             f"got {array[bad][:5].tolist()}.")
        return array

    def get_vocabulary(self) -> list[str]:
        """Every token by id (index = id), the special tokens first."""
        self.require_fitted("get_vocabulary")
        return [self.id_to_token(i) for i in range(self.vocab_size)]

    # --- persistence --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: ``{"kind", "format_version", "config", "state"}``."""
        self.require_fitted("to_dict")
        return {"kind": self.kind, "format_version": FORMAT_VERSION, "config": self._config(), "state": self._state()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())  # ASCII escapes: lone surrogates survive any file encoding

    @classmethod
    def from_dict(cls, value: Any) -> Tokenizer:
        """Rebuild from ``to_dict()``; the ``kind`` is looked up in a fixed table (``TOKENIZER_KINDS``)."""
        from rnnkit.data.text.serialization import tokenizer_from_dict

        tokenizer = tokenizer_from_dict(value)
        if cls is not Tokenizer and not isinstance(tokenizer, cls):
            raise ValueError(f"{cls.__name__}.from_dict: the data holds a {type(tokenizer).__name__} "
                             f"(kind {tokenizer.kind!r}); use Tokenizer.from_dict to accept any kind.")
        return tokenizer

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        if not isinstance(text, (str, bytes, bytearray)):
            raise TypeError(f"{cls.__name__}.from_json: expected the str from to_json(); got {type(text).__name__}.")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{cls.__name__}.from_json: not valid JSON ({error}).") from None
        return cls.from_dict(value)

    def _common_config(self) -> dict[str, Any]:
        return {"max_vocab": self.max_vocab, "min_frequency": self.min_frequency,
                "special_tokens": self.special_tokens.to_dict()}

    def __repr__(self) -> str:
        size = self.vocab_size if self.fitted else "unfitted"
        return f"{type(self).__name__}(vocab_size={size})"


class VocabularyTokenizer(Tokenizer):
    """A tokenizer whose learned state is a list of tokens (char, word): ``_train`` returns the ranked
    tokens and ``_install(tokens)`` sets up the lookup; saving stores ``{"tokens": [...]}``."""

    _vocab: Vocabulary | None = None

    @abc.abstractmethod
    def _install(self, tokens: list[str]) -> None:
        """Set ``self._vocab`` (and any lookup table) from the learned ``tokens``."""

    def _adopt(self, tokens: list[str]) -> None:
        if not tokens:
            raise ValueError(f"{type(self).__name__}.fit: no token occurs min_frequency={self.min_frequency} times; "
                             "lower min_frequency or check the texts.")
        self._install(tokens)

    @property
    def vocab_size(self) -> int:
        self.require_fitted("vocab_size")
        return len(self._vocab)

    def token_to_id(self, token: str) -> int | None:
        self.require_fitted("token_to_id")
        return self._vocab.token_to_id(token)

    def id_to_token(self, id: int) -> str:
        self.require_fitted("id_to_token")
        if isinstance(id, bool) or not isinstance(id, (int, np.integer)) or not 0 <= id < len(self._vocab):
            raise ValueError(f"{type(self).__name__}.id_to_token: id must be an int in [0, {len(self._vocab)}); "
                             f"got {id!r}.")
        return self._vocab.id_to_token[int(id)]

    def _decode_tokens(self, ids: list[int]) -> list[str]:
        tokens = self._vocab.id_to_token
        return [tokens[i] for i in ids]

    def _state(self) -> dict[str, Any]:
        return {"tokens": self._vocab.learned()}

    def _restore(self, state: Any) -> None:
        if not isinstance(state, dict) or set(state) != {"tokens"} or not isinstance(state["tokens"], list) \
                or not state["tokens"]:
            raise ValueError(f"{type(self).__name__}: state must be {{'tokens': [str, ...]}} with at least one token.")
        self._install(state["tokens"])
