"""1-NN DTW: the vectorised distances equal the textbook recurrence, and the UCR archive's published errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.tasks.classify.nearest_neighbour import (
    dtw_distances,
    dtw_reference,
    euclidean_distances,
    nearest_neighbour_baselines,
)


def brute_force_dtw(a: np.ndarray, b: np.ndarray) -> float:
    """The minimum over every monotone warping path of the summed squared distances, by enumeration."""
    best = np.inf

    def walk(i: int, j: int, total: float) -> None:
        nonlocal best
        total += float(np.sum((a[i] - b[j]) ** 2))
        if (i, j) == (len(a) - 1, len(b) - 1):
            best = min(best, total)
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < len(a) and j + dj < len(b):
                walk(i + di, j + dj, total)

    walk(0, 0, 0.0)
    return best


def test_reference_recurrence_is_the_minimum_over_all_warping_paths():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.normal(size=(rng.integers(1, 6), 2))
        b = rng.normal(size=(rng.integers(1, 6), 2))
        assert dtw_reference(a, b) == pytest.approx(brute_force_dtw(a, b), rel=1e-12)


def test_known_value_warps_a_repeated_step():
    a = np.array([[0.0], [1.0], [2.0]])
    b = np.array([[0.0], [1.0], [1.0], [2.0]])  # a with its middle step held: warping absorbs it exactly
    assert dtw_reference(a, b) == 0.0
    assert dtw_distances([a], [b])[0, 0] == 0.0
    assert euclidean_distances([a], [a + 1.0])[0, 0] == pytest.approx(3.0)


@pytest.mark.parametrize("channels", [1, 3])
def test_vectorised_dtw_equals_the_reference_for_any_lengths(channels):
    rng = np.random.default_rng(channels)
    queries = [rng.normal(size=(rng.integers(1, 12), channels)).astype(np.float32) for _ in range(9)]
    references = [rng.normal(size=(rng.integers(1, 12), channels)).astype(np.float32) for _ in range(6)]
    expected = np.array([[dtw_reference(q, r) for r in references] for q in queries])
    np.testing.assert_allclose(dtw_distances(queries, references), expected, rtol=1e-10, atol=1e-10)


def test_dtw_chunks_agree_with_one_chunk(monkeypatch):
    import rnnkit.tasks.classify.nearest_neighbour as nearest_neighbour

    rng = np.random.default_rng(5)
    queries = [rng.normal(size=(rng.integers(2, 20), 2)) for _ in range(30)]
    references = [rng.normal(size=(rng.integers(2, 20), 2)) for _ in range(7)]
    whole = dtw_distances(queries, references)
    monkeypatch.setattr(nearest_neighbour, "_CHUNK_ELEMENTS", 1)  # one query per chunk
    np.testing.assert_allclose(dtw_distances(queries, references), whole, rtol=1e-12)


def test_baseline_skips_dtw_past_its_budget_and_resamples_for_euclidean():
    rng = np.random.default_rng(0)
    train = [rng.normal(size=(length, 1)) for length in (5, 8, 5, 8)]
    test = [train[0] + 0.01, train[3] + 0.01]
    result = nearest_neighbour_baselines(train, np.array([0, 1, 0, 1]), test, np.array([0, 1]), cell_budget=10)
    assert result["1nn_euclidean"]["accuracy"] == 1.0
    assert result["1nn_euclidean"]["note"] == "sequences resampled to length 8"
    assert result["1nn_dtw"]["accuracy"] is None and "exceed the budget" in result["1nn_dtw"]["skipped"]
    result = nearest_neighbour_baselines(train, np.array([0, 1, 0, 1]), test, np.array([0, 1]))
    assert result["1nn_dtw"]["accuracy"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("name, dtw_error, euclidean_error", [
    ("gun_point", 0.0933, 0.0867),            # UCR archive (Dau et al. 2018): DTW full window, ED
    ("italy_power_demand", 0.0496, 0.0447),
])
def test_published_ucr_error_rates(name, dtw_error, euclidean_error):
    pytest.importorskip("aeon")
    from rnnkit.data import load_dataset

    data = load_dataset(name)
    result = nearest_neighbour_baselines(data.train_sequences, data.train_labels, data.test_sequences, data.test_labels)
    assert 1 - result["1nn_dtw"]["accuracy"] == pytest.approx(dtw_error, abs=5e-4)
    assert 1 - result["1nn_euclidean"]["accuracy"] == pytest.approx(euclidean_error, abs=5e-4)
