"""``TextVectorization``: raw strings → token ids ``(B, T)`` or a bag of tokens ``(B, V)``, as in Keras.

    >>> vectorizer = TextVectorization(max_tokens=20_000, output_sequence_length=200)
    >>> vectorizer.adapt(train_texts)                                   # learns the vocabulary
    >>> ids, lengths = vectorizer.vectorize(["The cat sat.", "A dog"])  # (2, 200) int64 and (2,) token counts
    >>> vectorizer(["The cat sat."])                                    # ids only, as Keras returns
    >>> TextVectorization(tokenizer=BPETokenizer(max_vocab=8000))       # or one of rnnkit.data.text's

Keras' steps: standardize (``"lower_and_strip_punctuation"`` default, ``"lower"``, ``"strip_punctuation"``,
None), split (``"whitespace"`` default, ``"character"``, None: the whole string), n-grams (``ngrams=n``:
widths 1..n; a tuple: those widths, in that order, joined by a space), vocabulary lookup, output:

- ``"int"``: ids padded with 0 (or cut) to ``output_sequence_length``, else to the batch's longest row;
  vocabulary ``["", "[UNK]", ...]``: 0 = padding, 1 = out of vocabulary. ``max_tokens`` counts both.
- ``"multi_hot"`` / ``"count"`` / ``"tf_idf"``: ``(B, V)`` float32 over the vocabulary ``["[UNK]", ...]``
  (``V`` = vocabulary size, or ``max_tokens`` with ``pad_to_max_tokens``): 1 where a token occurs / its
  count / count × idf, with Keras' ``idf = log(1 + N / (1 + df))`` over the N adapted texts, and the mean
  idf for ``[UNK]``.

``adapt`` ranks tokens by count, ties by reverse code-point order (Keras' sort). Departures, on purpose:
lowercasing is ``str.lower`` (all of Unicode; Keras' ``tf.strings.lower`` lowers ASCII only) and the
whitespace split is ``str.split()`` (Unicode spaces). With ``tokenizer=`` the tokenizer does all of the
splitting, ids are its own (pad 0, unk 1), and ``adapt`` fits it unless it is fitted already (and computes
idf over all its ids for ``"tf_idf"``).

Inside a model, ``propagate`` passes on the ids and their real token counts as ``lengths``, so padding
never reaches the recurrences. ``get_config`` carries the vocabulary, idf weights and the tokenizer's
JSON: ``model.save`` / ``rnnkit.load_model`` rebuild the layer and read raw text identically.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from rnnkit.layers._base import Layer, Shape

__all__ = ["TextVectorization"]

MASK_TOKEN, OOV_TOKEN = "", "[UNK]"
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)
_SPLIT = ("whitespace", "character", None)
_MODES = ("int", "multi_hot", "count", "tf_idf")
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')  # Keras' DEFAULT_STRIP_REGEX
_UNSET: Any = type("Unset", (), {"__repr__": lambda self: "<default>"})()


class TextVectorization(Layer):
    """Strings ``(B,)`` (a list or NumPy array; ``(B, 1)`` too) → ids ``(B, T)`` int64 or ``(B, V)`` float32."""

    def __init__(
        self, *, max_tokens: int | None = None, standardize: str | None = _UNSET, split: str | None = _UNSET,
        ngrams: int | Sequence[int] | None = None, output_mode: str = "int", output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False, vocabulary: Sequence[str] | None = None,
        idf_weights: Sequence[float] | None = None, tokenizer: Any = None,
        name: str | None = None, input_shape: Any = None,
    ) -> None:
        super().__init__(name=name, input_shape=input_shape)
        owner = "TextVectorization"
        if output_mode not in _MODES:
            raise ValueError(f"{owner}: output_mode must be one of {list(_MODES)}; got {output_mode!r}.")
        self.output_mode = output_mode
        self.tokenizer = _as_tokenizer(tokenizer)
        if self.tokenizer is not None:
            given = {k: v for k, v in (("standardize", standardize), ("split", split), ("ngrams", ngrams),
                                       ("max_tokens", max_tokens), ("vocabulary", vocabulary))
                     if v is not _UNSET and v is not None}
            if given:
                raise ValueError(f"{owner}: with tokenizer= the tokenizer splits the text and owns the vocabulary; "
                                 f"drop {sorted(given)} (set them on the tokenizer instead).")
            standardize = split = None
        standardize = "lower_and_strip_punctuation" if standardize is _UNSET else standardize
        split = "whitespace" if split is _UNSET else split
        if standardize not in _STANDARDIZE:
            raise ValueError(f"{owner}: standardize must be one of {list(_STANDARDIZE)}; got {standardize!r}.")
        if split not in _SPLIT:
            raise ValueError(f"{owner}: split must be one of {list(_SPLIT)}; got {split!r}.")
        self.standardize, self.split = standardize, split
        self.ngrams = _check_ngrams(owner, ngrams, split)
        self.max_tokens = _check_int(owner, "max_tokens", max_tokens, minimum=2 + (output_mode == "int"))
        self.output_sequence_length = _check_int(owner, "output_sequence_length", output_sequence_length, minimum=1)
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"{owner}: output_sequence_length applies to output_mode='int' only; got output_mode="
                             f"{output_mode!r}.")
        if not isinstance(pad_to_max_tokens, bool) or (pad_to_max_tokens and max_tokens is None):
            raise ValueError(f"{owner}: pad_to_max_tokens must be a bool and needs max_tokens; got "
                             f"pad_to_max_tokens={pad_to_max_tokens!r}, max_tokens={max_tokens!r}.")
        self.pad_to_max_tokens = pad_to_max_tokens and output_mode != "int"
        self.token_start = 2 if output_mode == "int" else 1   # "" and "[UNK]", or "[UNK]" alone
        self._tokens: list[str] | None = None                 # learned tokens (Keras mode)
        self._index: dict[str, int] = {}
        self._idf: np.ndarray | None = None                   # (vocabulary_size,) float32, for "tf_idf"
        self._has_input_vocabulary = vocabulary is not None
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{owner}: idf_weights apply to output_mode='tf_idf' only; got {output_mode!r}.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            if self.tokenizer is None or not self.tokenizer.fitted:
                raise ValueError(f"{owner}: idf_weights need a vocabulary (vocabulary= or a fitted tokenizer=).")
            self._idf = _check_idf(owner, idf_weights, self.tokenizer.vocab_size)
        # no weights; the anchor follows model.to(device) so that outputs land where the next layer is
        self.register_buffer("_device_anchor", torch.empty(0), persistent=False)
        self.build_once(self.input_shape or ())

    # --- vocabulary -------------------------------------------------------------------------------
    @property
    def adapted(self) -> bool:
        """A vocabulary (and, for ``"tf_idf"``, idf weights) to vectorize with."""
        known = self.tokenizer.fitted if self.tokenizer is not None else self._tokens is not None
        return known and (self.output_mode != "tf_idf" or self._idf is not None)

    def adapt(self, data: Iterable[str]) -> None:
        """Learn the vocabulary (and document frequencies, for ``"tf_idf"``) from ``data``, an iterable of str."""
        texts = _as_texts(f"{self.display_name}.adapt", data)
        if self.tokenizer is not None:
            if not self.tokenizer.fitted:
                self.tokenizer.fit(texts)
            if self.output_mode == "tf_idf":
                df = np.zeros(self.tokenizer.vocab_size, dtype=np.float64)
                for ids in self.tokenizer.encode_batch(texts):
                    df[np.unique(np.asarray(ids, dtype=np.int64))] += 1
                self._idf = np.log1p(len(texts) / (1.0 + df)).astype(np.float32)
            return
        if self._has_input_vocabulary:
            raise ValueError(f"{self.display_name}.adapt: the vocabulary was given at construction (or loaded from "
                             "a file); create a new TextVectorization to adapt to other texts.")
        counts: Counter[str] = Counter()
        document_counts: Counter[str] = Counter()
        for text in texts:
            tokens = self.tokens_of(text)
            counts.update(tokens)
            document_counts.update(set(tokens))
        counts.pop(OOV_TOKEN, None)
        ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)  # Keras' order
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - self.token_start]
        if not ranked:
            raise ValueError(f"{self.display_name}.adapt: the texts hold no tokens after standardize="
                             f"{self.standardize!r} and split={self.split!r}.")
        tokens = [token for token, _ in ranked]
        idf = None
        if self.output_mode == "tf_idf":
            df = np.array([document_counts[t] for t in tokens], dtype=np.float64)
            idf = np.log1p(len(texts) / (1.0 + df)).astype(np.float32)       # log(1 + N / (1 + df))
            idf = np.concatenate([[idf.mean(dtype=np.float32)], idf])         # [UNK] gets the mean, as Keras
        self._install(tokens, idf)

    def set_vocabulary(self, vocabulary: Sequence[str], idf_weights: Sequence[float] | None = None) -> None:
        """Keras' ``set_vocabulary``: tokens with or without the leading specials; ``idf_weights`` as long as
        ``vocabulary`` (without specials, ``[UNK]`` gets their mean)."""
        owner = f"{self.display_name}.set_vocabulary"
        if self.tokenizer is not None:
            raise ValueError(f"{owner}: the vocabulary belongs to the tokenizer.")
        vocabulary = list(vocabulary) if not isinstance(vocabulary, str) else None
        if vocabulary is None or not vocabulary or not all(isinstance(t, str) for t in vocabulary):
            raise TypeError(f"{owner}: vocabulary must be a non-empty list of str.")
        specials = [MASK_TOKEN, OOV_TOKEN][2 - self.token_start:]
        has_specials = vocabulary[: self.token_start] == specials
        tokens = vocabulary[self.token_start:] if has_specials else vocabulary
        if len(set(tokens)) != len(tokens) or set(tokens) & {MASK_TOKEN, OOV_TOKEN}:
            raise ValueError(f"{owner}: tokens must be unique and must not be {MASK_TOKEN!r} or {OOV_TOKEN!r} "
                             f"except as the leading specials {specials}.")
        if self.max_tokens is not None and self.token_start + len(tokens) > self.max_tokens:
            raise ValueError(f"{owner}: {self.token_start + len(tokens)} entries exceed max_tokens={self.max_tokens}.")
        idf = None
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{owner}: output_mode='tf_idf' needs idf_weights with the vocabulary.")
            idf = _check_idf(owner, idf_weights, len(vocabulary))
            if not has_specials:
                idf = np.concatenate([[idf.mean(dtype=np.float32)], idf])
        self._install(tokens, idf)

    def _install(self, tokens: list[str], idf: np.ndarray | None) -> None:
        self._tokens = tokens
        self._index = {token: i for i, token in enumerate(tokens, start=self.token_start)}
        self._idf = idf

    def vocabulary_size(self) -> int:
        """Number of ids, specials included (``Embedding(input_dim=...)`` for ``"int"``)."""
        self._require_adapted("vocabulary_size")
        return self.tokenizer.vocab_size if self.tokenizer is not None else self.token_start + len(self._tokens)

    def idf_weights(self) -> np.ndarray:
        """``(vocabulary_size,)`` float32: the idf of each vocabulary entry (``"tf_idf"`` mode only)."""
        self._require_adapted("idf_weights")
        if self.output_mode != "tf_idf":
            raise ValueError(f"{self.display_name}.idf_weights: output_mode is {self.output_mode!r}; idf weights "
                             "exist in output_mode='tf_idf' only.")
        return self._idf.copy()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        self._require_adapted("get_vocabulary")
        if self.tokenizer is not None:
            vocabulary = self.tokenizer.get_vocabulary()
            return vocabulary if include_special_tokens else vocabulary[4:]
        specials = [MASK_TOKEN, OOV_TOKEN][2 - self.token_start:]
        return [*specials, *self._tokens] if include_special_tokens else list(self._tokens)

    def _require_adapted(self, where: str) -> None:
        if not self.adapted:
            raise ValueError(f"{self.display_name}.{where}: no vocabulary yet; call adapt(texts) first "
                             "(or pass vocabulary=, or a fitted tokenizer=).")

    # --- text → ids -------------------------------------------------------------------------------
    def tokens_of(self, text: str) -> list[str]:
        """Keras' standardize → split → n-grams for one text (not used with ``tokenizer=``)."""
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.lower()
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = _PUNCTUATION.sub("", text)
        pieces = text.split() if self.split == "whitespace" else list(text) if self.split == "character" else [text]
        pieces = [p for p in pieces if p]  # split=None on "": no token (Keras' mask token)
        if self.ngrams is None:
            return pieces
        return [" ".join(pieces[i:i + n]) for n in self.ngrams for i in range(len(pieces) - n + 1)]

    def _ids(self, texts: list[str]) -> list[list[int]]:
        if self.tokenizer is not None:
            return self.tokenizer.encode_batch(texts)
        oov = self.token_start - 1
        return [[self._index.get(token, oov) for token in self.tokens_of(text)] for text in texts]

    def vectorize(self, texts: Any) -> tuple[Tensor, Tensor | None]:
        """``(ids (B, T) int64, lengths (B,) int64)`` for ``"int"`` (lengths: tokens per row, at most T; 0 for a
        text without tokens), else ``(features (B, V) float32, None)``."""
        self._require_adapted("vectorize")
        texts = _as_texts(self.display_name, texts, batch=True)
        rows = self._ids(texts)
        device = self._device_anchor.device if not self._device_anchor.is_meta else torch.device("cpu")
        if self.output_mode == "int":
            longest = max((len(r) for r in rows), default=0)
            T = self.output_sequence_length or longest
            ids = np.zeros((len(rows), T), dtype=np.int64)                    # (B, T), 0 = padding
            for b, row in enumerate(rows):
                ids[b, : min(len(row), T)] = row[:T]
            lengths = torch.tensor([min(len(r), T) for r in rows], dtype=torch.int64)
            return torch.from_numpy(ids).to(device), lengths
        V = self.compute_output_shape(())[0]
        counts = np.zeros((len(rows), V), dtype=np.float32)                   # (B, V)
        flat = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]) if rows else np.zeros(0, np.int64)
        owner = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        np.add.at(counts, (owner, flat), 1.0)
        if self.output_mode == "multi_hot":
            counts = (counts > 0).astype(np.float32)
        elif self.output_mode == "tf_idf":
            idf = np.zeros(V, dtype=np.float32)
            idf[: len(self._idf)] = self._idf                                 # past the vocabulary: 0, as Keras
            counts = counts * idf
        return torch.from_numpy(counts).to(device), None

    # --- the Layer interface ------------------------------------------------------------------------
    def forward(self, x: Any, *, lengths: Tensor | None = None, mask: Tensor | None = None,
                training: bool | None = None) -> Tensor:
        """Keras' call: the ids (or features) alone; use :meth:`vectorize` for the lengths too."""
        return self.call(x)

    def call(self, x: Any, *, lengths: Tensor | None = None) -> Tensor:
        return self.vectorize(x)[0]

    def propagate(self, x: Any, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Inside a model: ids and their token counts as lengths (a text without tokens is an error)."""
        if lengths is not None:
            raise ValueError(f"{self.display_name}: takes raw strings and makes the lengths itself; got lengths=.")
        y, lengths = self.vectorize(x)
        if lengths is not None and len(lengths) and int(lengths.min()) == 0:
            row = int((lengths == 0).nonzero()[0])
            raise ValueError(f"{self.display_name}: text {row} has no tokens after standardize={self.standardize!r} "
                             f"and split={self.split!r}; every sequence needs one. Drop or replace empty texts.")
        return y, lengths

    def check_input_shape(self, input_shape: Shape) -> None:
        if tuple(input_shape) not in ((), (1,)):
            raise ValueError(f"{self.display_name}: input must be one string per sample, shape (batch,) or "
                             f"(batch, 1); got (None, {', '.join(map(str, input_shape))}).")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.output_mode == "int":
            return (self.output_sequence_length,)
        if self.pad_to_max_tokens:
            return (self.max_tokens,)
        if not self.adapted:
            raise ValueError(f"{self.display_name}: output_mode={self.output_mode!r} is as wide as the vocabulary, "
                             "unknown before adapt(texts); adapt first, or set max_tokens and pad_to_max_tokens=True.")
        return (self.vocabulary_size(),)

    def get_config(self) -> dict[str, Any]:
        if self.tokenizer is not None and not self.tokenizer.fitted:
            raise ValueError(f"{self.display_name}: the tokenizer is not fitted, so there is nothing to save; "
                             "call adapt(texts) first.")
        keras_vocabulary = self.get_vocabulary() if self.tokenizer is None and self.adapted else None
        return {
            "max_tokens": self.max_tokens, "standardize": self.standardize, "split": self.split,
            "ngrams": list(self.ngrams) if self.ngrams is not None else None, "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length, "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary": keras_vocabulary, "idf_weights": None if self._idf is None else self._idf.tolist(),
            "tokenizer": None if self.tokenizer is None else self.tokenizer.to_dict(), **super().get_config(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextVectorization:
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        if isinstance(config.get("input_shape"), list):
            config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)


def _as_tokenizer(value: Any) -> Any:
    if value is None:
        return None
    from rnnkit.data.text import Tokenizer  # only here: rnnkit.data sits above the layers

    if isinstance(value, dict):
        return Tokenizer.from_dict(value)
    if not isinstance(value, Tokenizer):
        raise TypeError(f"TextVectorization: tokenizer must be an rnnkit.data.text tokenizer (CharTokenizer, "
                        f"WordTokenizer, BPETokenizer); got {type(value).__name__}.")
    return value


def _as_texts(owner: str, data: Any, *, batch: bool = False) -> list[str]:
    """A list of str from a list/tuple, a NumPy array ``(B,)`` or ``(B, 1)``, or (for adapt) any iterable."""
    if isinstance(data, Tensor):
        raise TypeError(f"{owner}: takes raw strings (a list or NumPy array of str); got a torch.Tensor.")
    if isinstance(data, np.ndarray):
        if data.ndim == 2 and data.shape[1] == 1:
            data = data[:, 0]
        if data.ndim != 1:
            raise ValueError(f"{owner}: strings must have shape (batch,) or (batch, 1); got {data.shape}.")
    if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple, np.ndarray) if batch else Iterable):
        raise TypeError(f"{owner}: expected a list of str (one text per sample); got {type(data).__name__}"
                        + (". Wrap a single text in a list: [text]." if isinstance(data, (str, bytes)) else "."))
    texts = [t[0] if isinstance(t, (list, tuple, np.ndarray)) and len(t) == 1 else t for t in data]
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"{owner}: every text must be a str; item {bad} is {type(texts[bad]).__name__}.")
    return texts


def _check_int(owner: str, arg: str, value: Any, *, minimum: int) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
        raise ValueError(f"{owner}: {arg} must be None or an int >= {minimum}; got {value!r}.")
    return value


def _check_ngrams(owner: str, ngrams: Any, split: str | None) -> tuple[int, ...] | None:
    if ngrams is None:
        return None
    widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) and not isinstance(ngrams, bool) else ngrams
    if not isinstance(widths, (tuple, list)) or not widths or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in widths):
        raise ValueError(f"{owner}: ngrams must be None, an int >= 1 or a tuple of them; got {ngrams!r}.")
    if split is None:
        raise ValueError(f"{owner}: ngrams need split='whitespace' or 'character'; got split=None.")
    return tuple(widths)


def _check_idf(owner: str, values: Any, size: int) -> np.ndarray:
    idf = np.asarray(values, dtype=np.float32)
    if idf.shape != (size,) or not np.all(np.isfinite(idf)):
        raise ValueError(f"{owner}: idf_weights must be {size} finite numbers (one per vocabulary entry); got "
                         f"shape {idf.shape}.")
    return idf
