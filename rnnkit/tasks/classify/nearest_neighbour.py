"""The classical baseline beside every classifier: 1-nearest-neighbour under DTW (and Euclidean distance).

Dynamic time warping between a (T_a, C) and b (T_b, C), "dependent" DTW for several channels
(one warping path shared by all channels, cost = squared distance across channels), full window:

    c[i, j] = sum_c (a[i, c] - b[j, c])^2
    D[i, j] = c[i, j] + min(D[i-1, j-1], D[i-1, j], D[i, j-1]),   D[-1, -1] = 0, D[-1, j] = D[i, -1] = inf
    dtw(a, b) = D[T_a - 1, T_b - 1]

(no square root: it does not change which neighbour is nearest). `dtw_reference` is that
recurrence as a plain loop; `dtw_distances` computes the same numbers for all pairs at once.

Why our own DTW rather than a library (dtaidistance would install here): the matrices are small (up to
a few hundred steps), and a NumPy version vectorised over all pairs runs at about 5 x 10^7 cells per
second on one core, which keeps 1-NN DTW at seconds for the bundled sets (GunPoint, 7500 pairs of
150 x 150: 3-5 s) without a compiled dependency or its pure-Python fallback;
`tests/tasks/test_classify_baseline.py` checks it against `dtw_reference` and brute-force paths.

Row form used for speed: with e[j] = c[i, j] + min(D[i-1, j-1], D[i-1, j]) the left-to-right part
D[i, j] = min(e[j], c[i, j] + D[i, j-1]) unrolls to

    D[i, j] = S[j] + min_{k <= j} (e[k] - S[k]),    S[j] = sum_{m <= j} c[i, m]

so one row is a cumulative sum and a cumulative minimum, vectorised over every pair (float64).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["DTW_CELL_BUDGET", "dtw_distances", "dtw_reference", "euclidean_distances", "nearest_neighbour_baselines"]

#: DTW cells (pairs x T_a x T_b x C) computed before the baseline falls back to Euclidean distance only:
#: about a minute on one core of the 2-core machine in docs/results.md.
DTW_CELL_BUDGET = 3e9

_CHUNK_ELEMENTS = 1 << 16  # (A, B, T_b) float64 work arrays of 512 KB: cache-sized, measured fastest


def dtw_reference(a: np.ndarray, b: np.ndarray) -> float:
    """DTW of a (T_a, C) and b (T_b, C) by the textbook recurrence, one cell at a time."""
    T_a, T_b = len(a), len(b)
    D = np.full((T_a + 1, T_b + 1), np.inf)  # D[i + 1, j + 1] holds D[i, j]
    D[0, 0] = 0.0
    for i in range(T_a):
        for j in range(T_b):
            cost = float(np.sum((np.asarray(a[i], np.float64) - np.asarray(b[j], np.float64)) ** 2))
            D[i + 1, j + 1] = cost + min(D[i, j], D[i, j + 1], D[i + 1, j])
    return float(D[T_a, T_b])


def _padded(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(N, T_max, C) float64 zero-padded at the end, and the lengths (N,)."""
    lengths = np.array([len(s) for s in sequences])
    out = np.zeros((len(sequences), int(lengths.max()), sequences[0].shape[1]))
    for n, s in enumerate(sequences):
        out[n, : len(s)] = s
    return out, lengths


def dtw_distances(queries: list[np.ndarray], references: list[np.ndarray]) -> np.ndarray:
    """(N_q, N_r) DTW between every query and every reference, each (T_i, C) of any length.

    Sequences are padded at the end; D[i, j] depends only on cells up to row i and column j, so each
    pair's value is read at its own (T_a - 1, T_b - 1) and the padding never reaches it.
    """
    B, lengths_b = _padded(references)  # (N_r, T_b, C)
    N_r, T_b, _ = B.shape
    order = np.argsort([len(q) for q in queries], kind="stable")  # similar lengths share a chunk
    out = np.empty((len(queries), N_r))
    per_chunk = max(1, _CHUNK_ELEMENTS // (N_r * T_b))
    columns = np.arange(N_r)
    for start in range(0, len(order), per_chunk):
        index = order[start : start + per_chunk]
        A, lengths_a = _padded([queries[k] for k in index])  # (A, T_a, C)
        out[index] = _dtw_chunk(A, lengths_a, B, lengths_b, columns)
    return out


def _dtw_chunk(A: np.ndarray, lengths_a: np.ndarray, B: np.ndarray, lengths_b: np.ndarray,
               columns: np.ndarray) -> np.ndarray:
    n_a, T_a, C = A.shape
    N_r, T_b, _ = B.shape
    result = np.empty((n_a, N_r))
    c, S = np.empty((n_a, N_r, T_b)), np.empty((n_a, N_r, T_b))       # this row's costs and their cumsum
    D, previous = np.empty((n_a, N_r, T_b)), np.empty((n_a, N_r, T_b))  # D[i, :] and D[i-1, :] of every pair
    B_flat = B.reshape(N_r * T_b, C)
    B_squared = (B**2).sum(axis=-1)  # (N_r, T_b)
    for i in range(T_a):
        if C == 1:
            np.subtract(A[:, None, None, i, 0], B[None, :, :, 0], out=c)
            np.square(c, out=c)
        else:  # sum_c (a - b)^2 = |a|^2 + |b|^2 - 2 a.b: one matrix product instead of an (A, N_r, T_b, C) array
            a = A[:, i, :]  # (A, C)
            np.matmul(a, B_flat.T, out=c.reshape(n_a, N_r * T_b))
            c *= -2.0
            c += B_squared[None]
            c += (a**2).sum(axis=-1)[:, None, None]
            np.maximum(c, 0.0, out=c)  # rounding can leave -1e-16 where a == b
        np.cumsum(c, axis=-1, out=S)
        if i == 0:  # row 0: only the path along the row, D[0, j] = S[j]
            D[:] = S
        else:       # e[j] = c[i, j] + min(D[i-1, j-1], D[i-1, j]), with D[i-1, -1] = inf
            D[..., 0] = previous[..., 0]
            np.minimum(previous[..., :-1], previous[..., 1:], out=D[..., 1:])
            D += c
            D -= S                                      # e - S
            np.minimum.accumulate(D, axis=-1, out=D)    # min_{k <= j} (e[k] - S[k])
            D += S
        ending = np.flatnonzero(lengths_a == i + 1)  # queries whose last step is row i
        if ending.size:
            result[ending] = D[ending][:, columns, lengths_b - 1]
        D, previous = previous, D
    return result


def euclidean_distances(queries: list[np.ndarray], references: list[np.ndarray]) -> np.ndarray:
    """(N_q, N_r) squared Euclidean distances between equal-length sequences (T, C)."""
    Q = np.stack(queries).reshape(len(queries), -1).astype(np.float64)
    R = np.stack(references).reshape(len(references), -1).astype(np.float64)
    return np.maximum((Q**2).sum(1)[:, None] + (R**2).sum(1)[None, :] - 2.0 * Q @ R.T, 0.0)


def _resampled(sequences: list[np.ndarray], length: int) -> list[np.ndarray]:
    """Each (T_i, C) linearly resampled to (length, C)."""
    out = []
    for s in sequences:
        where = np.linspace(0.0, len(s) - 1.0, length)
        out.append(np.stack([np.interp(where, np.arange(len(s)), s[:, c]) for c in range(s.shape[1])], axis=1))
    return out


def nearest_neighbour_baselines(train: list[np.ndarray], train_labels: np.ndarray, test: list[np.ndarray],
                                test_labels: np.ndarray, *, dtw: bool = True,
                                cell_budget: float = DTW_CELL_BUDGET) -> dict[str, dict[str, Any]]:
    """1-NN Euclidean and 1-NN DTW (full window) test accuracy, each with its predictions and time.

    Euclidean needs equal lengths: sequences of different lengths are first resampled to the
    longest training length (stated in the result). DTW is skipped, with the reason, when its cells
    exceed `cell_budget`.
    """
    results: dict[str, dict[str, Any]] = {}
    start = time.perf_counter()
    lengths = {len(s) for s in train + test}
    note = "" if len(lengths) == 1 else f"sequences resampled to length {max(len(s) for s in train)}"
    if note:
        L = max(len(s) for s in train)
        nearest = euclidean_distances(_resampled(test, L), _resampled(train, L)).argmin(axis=1)
    else:
        nearest = euclidean_distances(test, train).argmin(axis=1)
    results["1nn_euclidean"] = _scored("1-NN Euclidean", train_labels[nearest], test_labels, start, note)
    cells = len(train) * len(test) * max(len(s) for s in train) * max(len(s) for s in test) * train[0].shape[1]
    if not dtw:
        return results
    if cells > cell_budget:
        results["1nn_dtw"] = {"method": "1-NN DTW (full window)", "accuracy": None,
                              "skipped": f"{cells:.2g} DTW cells exceed the budget of {cell_budget:.2g} "
                                         f"(about a minute); 1-NN Euclidean is reported instead"}
        return results
    start = time.perf_counter()
    nearest = dtw_distances(test, train).argmin(axis=1)
    results["1nn_dtw"] = _scored("1-NN DTW (full window)", train_labels[nearest], test_labels, start, "")
    return results


def _scored(method: str, predicted: np.ndarray, labels: np.ndarray, start: float, note: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"method": method, "accuracy": float((predicted == labels).mean()),
                             "seconds": round(time.perf_counter() - start, 2), "predictions": predicted}
    if note:
        entry["note"] = note
    return entry
