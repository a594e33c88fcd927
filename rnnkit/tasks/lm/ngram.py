r"""The baselines a language model is scored beside: add-one unigram and interpolated Kneser–Ney n-grams.

Interpolated Kneser–Ney (Kneser & Ney 1995; Chen & Goodman 1998, eq. 12–13), for a context h of k − 1
tokens and h' = h without its oldest token:

    p_k(w | h) = max(c(h w) − D_k, 0) / c(h·)  +  D_k · N₁₊(h ·) / c(h·) · p_{k−1}(w | h')
    p_0(w)     = 1 / V                                          (the uniform floor: every id gets mass)

where at the highest order used c is the raw count, and at every lower order the continuation count
N₁₊(· h w), the number of distinct tokens seen before h w (what makes a lower order a good back-off). c(h·)
sums c(h w) over w and N₁₊(h ·) counts the w with c(h w) > 0; a context never seen (c(h·) = 0) passes
p_{k−1} on unchanged. One discount per order and kind of count, D = n₁ / (n₁ + 2 n₂) from the training
counts (n_r: how many n-grams have count r; Ney, Essen & Kneser 1994), 0.75 where that is undefined.
Positions near the start of the scored text use the history they have (order i + 1 at position i), as the
recurrent model starts from a zero state.

Vectorised: every k-gram is one int64 code Σ t_j V^(k−j), counted with ``np.unique`` and looked up with
``np.searchsorted``; 1 M characters train in about a second per order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["KneserNey", "unigram_log_probs"]

FALLBACK_DISCOUNT = 0.75


def unigram_log_probs(train: np.ndarray, scored: np.ndarray, vocab_size: int) -> np.ndarray:
    """log p(w) under add-one unigram counts of ``train``: (c(w) + 1) / (N + V), for each token of ``scored``."""
    counts = np.bincount(np.asarray(train, dtype=np.int64), minlength=vocab_size).astype(np.float64)
    return np.log((counts[np.asarray(scored, dtype=np.int64)] + 1.0) / (counts.sum() + vocab_size))


@dataclass
class _Table:
    """One order's counts (raw or continuation): sorted n-gram codes and their counts, and per context
    (the code // V) the total and the number of distinct next tokens."""

    keys: np.ndarray          # (G,) int64 sorted codes
    counts: np.ndarray        # (G,) float64
    context_keys: np.ndarray  # (C,) int64 sorted
    totals: np.ndarray        # (C,) float64 c(h·)
    types: np.ndarray         # (C,) float64 N₁₊(h ·)
    discount: float

    @classmethod
    def of(cls, keys: np.ndarray, counts: np.ndarray, vocab_size: int) -> _Table:
        context = keys // vocab_size                  # keys are sorted, so contexts come grouped and sorted
        context_keys, first, types = np.unique(context, return_index=True, return_counts=True)
        totals = np.add.reduceat(counts, first) if len(counts) else np.zeros(0)
        n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
        discount = n1 / (n1 + 2 * n2) if n1 and n2 else FALLBACK_DISCOUNT
        return cls(keys, counts.astype(np.float64), context_keys, totals.astype(np.float64),
                   types.astype(np.float64), float(discount))


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """values[keys == query] for each query, 0 where a query is not among the keys."""
    if len(keys) == 0:
        return np.zeros(len(query))
    index = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[index] == query, values[index], 0.0)


class KneserNey:
    """Interpolated Kneser–Ney over token ids ``0 .. vocab_size - 1`` (see the module docstring).

        >>> model = KneserNey(order=5, vocab_size=tok.vocab_size).fit(train_ids)
        >>> nats = -model.log_probs(val_ids).mean()
    """

    def __init__(self, *, order: int, vocab_size: int) -> None:
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"KneserNey: order must be an int >= 1; got {order!r}.")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
            raise ValueError(f"KneserNey: vocab_size must be an int >= 1; got {vocab_size!r}.")
        if vocab_size ** order >= 2 ** 62:
            raise ValueError(f"KneserNey: vocab_size ** order must stay below 2**62 (codes are int64); got "
                             f"{vocab_size} ** {order}. Use a lower order or a smaller vocabulary.")
        self.order, self.vocab_size = order, vocab_size
        self.raw: list[_Table] = []            # raw[k - 1]: counts of k-grams
        self.continuation: list[_Table] = []   # continuation[k - 1]: N₁₊(· k-gram), for k < order

    def _codes(self, ids: np.ndarray, k: int) -> np.ndarray:
        """(M,) codes of the k-grams ending at each position (positions < k - 1 get garbage, never used)."""
        code = ids.copy()
        for back in range(1, k):
            code[back:] += ids[:-back] * self.vocab_size ** back
        return code

    def fit(self, ids: Sequence[int] | np.ndarray) -> KneserNey:
        ids = self._check("fit", ids)
        V = self.vocab_size
        self.raw, self.continuation = [], []
        for k in range(1, self.order + 1):
            keys, counts = np.unique(self._codes(ids, k)[k - 1:], return_counts=True)
            self.raw.append(_Table.of(keys, counts, V))
        for k in range(1, self.order):
            # N₁₊(· g): the distinct (k+1)-grams whose last k tokens are g
            keys, counts = np.unique(self.raw[k].keys % V ** k, return_counts=True)
            self.continuation.append(_Table.of(keys, counts, V))
        return self

    def _check(self, where: str, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
            raise ValueError(f"KneserNey.{where}: ids must be a 1-D sequence of ints; got shape {ids.shape}, "
                             f"dtype {ids.dtype}.")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"KneserNey.{where}: ids must be in [0, vocab_size={self.vocab_size}); got values in "
                             f"[{ids.min()}, {ids.max()}].")
        if where == "fit" and ids.size == 0:
            raise ValueError("KneserNey.fit: ids is empty; pass the training tokens.")
        return ids

    def _probs(self, codes: list[np.ndarray], top: np.ndarray) -> np.ndarray:
        """p(w | history) for M positions. codes[k - 1]: (M,) k-gram codes ending at w; top: (M,) the highest
        order each position uses (raw counts there, continuation counts below)."""
        V = self.vocab_size
        p = np.full(len(top), 1.0 / V)                                          # p_0: uniform
        for k in range(1, int(top.max()) + 1):
            use = top >= k
            table_raw, table_cont = self.raw[k - 1], self.continuation[k - 1] if k < self.order else None
            p_k = np.zeros(len(top))
            for table, rows in ((table_raw, use & (top == k)), (table_cont, use & (top > k))):
                if table is None or not rows.any():
                    continue
                gram, context = codes[k - 1][rows], codes[k - 1][rows] // V
                total = _lookup(table.context_keys, table.totals, context)
                types = _lookup(table.context_keys, table.types, context)
                count = _lookup(table.keys, table.counts, gram)
                D, lower = table.discount, p[rows]
                seen = total > 0
                safe = np.where(seen, total, 1.0)
                p_k[rows] = np.where(seen, (np.maximum(count - D, 0.0) + D * types * lower) / safe, lower)
            p = np.where(use, p_k, p)
        return p

    def log_probs(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """(M,) log p(ids[i] | ids[i - order + 1 : i]), the history cut at the start of ``ids``."""
        self._require_fitted("log_probs")
        ids = self._check("log_probs", ids)
        top = np.minimum(np.arange(len(ids)) + 1, self.order)
        return np.log(self._probs([self._codes(ids, k) for k in range(1, self.order + 1)], top))

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """(V,) p(w | context) for every id w (the last order - 1 tokens of ``context`` are used)."""
        self._require_fitted("distribution")
        context = self._check("distribution", context)[-(self.order - 1):] if self.order > 1 else np.zeros(0, np.int64)
        V, n = self.vocab_size, len(context)
        rows = np.concatenate([np.tile(context, (V, 1)), np.arange(V)[:, None]], axis=1)   # (V, n + 1)
        codes = [np.zeros(V, dtype=np.int64) for _ in range(self.order)]
        for k in range(1, n + 2):
            for j in range(k):
                codes[k - 1] += rows[:, n + 1 - k + j] * V ** (k - 1 - j)
        return self._probs(codes, np.full(V, n + 1))

    def _require_fitted(self, where: str) -> None:
        if not self.raw:
            raise ValueError(f"KneserNey.{where}: fit(train_ids) first.")
