"""The long-range task generators: deterministic, labels recomputed from the inputs alone, markers where the
papers put them, and each stated baseline confirmed on a large sample.

Statistical checks use a fixed seed (so they are deterministic) and a bound of 5 standard errors of the
sample mean, sigma / sqrt(N) with sigma the sample's standard deviation (or the exact one where it is simple).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit.data.long_range import (
    COPY_BLANK,
    COPY_DELIMITER,
    LONG_RANGE_TASKS,
    TEMPORAL_ORDER_SYMBOLS,
    LongRangeTask,
    logistic_regression_baseline,
    make_adding,
    make_copy,
    make_long_range,
    make_multiplication,
    make_pixel_digits,
    make_temporal_order,
    make_xor,
    temporal_order_windows,
)

Z = 5.0   # standard errors allowed


def _length(name: str) -> int:
    return 64 if name.startswith("pixel") else 24


def _within(mean: float, expected: float, sigma: float, N: int) -> None:
    assert abs(mean - expected) < Z * sigma / math.sqrt(N), (mean, expected, sigma, N)


# -------------------------------------------------------------------------------------------------------------
# every task


@pytest.mark.parametrize("name", list(LONG_RANGE_TASKS))
def test_deterministic_under_a_seed_and_different_seeds_differ(name):
    a = make_long_range(name, n=50, length=_length(name), seed=3)
    b = make_long_range(name, n=50, length=_length(name), seed=3)
    c = make_long_range(name, n=50, length=_length(name), seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.baseline == b.baseline and a.threshold == b.threshold
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("name", list(LONG_RANGE_TASKS))
def test_shapes_dtypes_and_fields(name):
    N, T = 30, _length(name)
    task = make_long_range(name, n=N, length=T, seed=0)
    assert isinstance(task, LongRangeTask) and task.name == name and len(task) == N
    steps = T + 20 if name == "copy" else T
    inputs = {"copy": 10, "pixel_digits": 1, "pixel_digits_permuted": 1}.get(name, 8 if "order" in name else 2)
    assert task.x.shape == (N, steps, inputs) and task.x.dtype == np.float32
    if task.kind == "regression":
        assert task.y.shape == (N,) and task.y.dtype == np.float32
        assert task.n_classes is None and task.metric == "mse"
    elif task.kind == "classification":
        assert task.y.shape == (N,) and task.y.dtype == np.int64 and task.metric == "accuracy"
        assert 0 <= task.y.min() and task.y.max() < task.n_classes
    else:
        assert task.y.shape == (N, steps) and task.y.dtype == np.int64 and task.metric == "cross_entropy"
        assert 0 <= task.y.min() and task.y.max() < task.n_classes
    assert 0 < task.baseline and 0 < task.baseline_loss and task.baseline_method
    # the baseline itself never counts as solved
    assert not task.solved(task.baseline)
    for array in task.extras.values():
        assert not array.flags.writeable


def test_solved_compares_in_the_metric_direction():
    adding = make_adding(n=2, length=4)
    assert adding.solved(0.009) and not adding.solved(0.01) and not adding.higher_is_better
    xor = make_xor(n=2, length=4)
    assert xor.solved(0.99) and not xor.solved(0.98) and xor.higher_is_better


# -------------------------------------------------------------------------------------------------------------
# adding, multiplication, xor


def _marked_steps(x: np.ndarray) -> np.ndarray:
    """(N, 2) the steps where the marker channel is 1, in time order (asserting there are exactly two)."""
    markers = x[..., 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert (markers.sum(axis=1) == 2).all()
    return np.sort(np.argsort(-markers, axis=1, kind="stable")[:, :2], axis=1)


@pytest.mark.parametrize("make", [make_adding, make_multiplication, make_xor])
@pytest.mark.parametrize("T", [2, 3, 25])
def test_one_marker_in_each_half(make, T):
    N = 4000
    task = make(n=N, length=T, seed=1)
    steps = _marked_steps(task.x)
    np.testing.assert_array_equal(steps, task.extras["positions"])
    assert (steps[:, 0] < T // 2).all() and (steps[:, 1] >= T // 2).all()
    # every step of each half is used (uniform placement): with N = 4000 each has > 100 draws on average
    assert set(steps[:, 0]) == set(range(T // 2)) and set(steps[:, 1]) == set(range(T // 2, T))


def test_adding_target_is_the_sum_of_the_marked_values():
    task = make_adding(n=500, length=40, seed=2)
    u, m = task.x[..., 0], task.x[..., 1]
    assert 0.0 <= u.min() and u.max() < 1.0
    # y = sum_t u_t m_t: exact in float32, the other terms are zeros
    np.testing.assert_array_equal(task.y, (u * m).sum(axis=1, dtype=np.float32))


def test_multiplication_target_is_the_product_of_the_marked_values():
    task = make_multiplication(n=500, length=40, seed=2)
    u = task.x[..., 0]
    steps = _marked_steps(task.x)
    rows = np.arange(len(task))
    np.testing.assert_array_equal(task.y, u[rows, steps[:, 0]] * u[rows, steps[:, 1]])


def test_xor_target_is_the_xor_of_the_marked_bits():
    task = make_xor(n=500, length=40, seed=2)
    u = task.x[..., 0]
    assert set(np.unique(u)) == {0.0, 1.0}
    steps = _marked_steps(task.x)
    rows = np.arange(len(task))
    np.testing.assert_array_equal(task.y, u[rows, steps[:, 0]].astype(int) ^ u[rows, steps[:, 1]].astype(int))


def test_adding_baseline_mse_is_one_sixth():
    N = 40000
    task = make_adding(n=N, length=20, seed=5)
    loss = (task.y.astype(np.float64) - 1.0) ** 2
    # Var((u_1 + u_2 - 1)^2) = E[(s - 1)^4] - (1/6)^2 = 1/15 - 1/36 = 7/180 (s - 1 is triangular on [-1, 1])
    assert abs(loss.std() ** 2 - 7 / 180) < 0.05 * 7 / 180
    _within(loss.mean(), task.baseline, math.sqrt(7 / 180), N)
    assert task.baseline == pytest.approx(1 / 6, rel=1e-15)
    u = task.x[..., 0].astype(np.float64)
    _within(u.mean(), 0.5, math.sqrt(1 / 12), u.size)


def test_multiplication_baseline_mse_is_seven_over_144():
    N = 40000
    task = make_multiplication(n=N, length=20, seed=5)
    y = task.y.astype(np.float64)
    _within(y.mean(), 0.25, y.std(), N)                       # the constant predicted is E[y] = 1/4
    loss = (y - 0.25) ** 2
    _within(loss.mean(), task.baseline, loss.std(), N)
    assert task.baseline == pytest.approx(7 / 144, rel=1e-15)


def test_xor_classes_are_balanced():
    N = 40000
    task = make_xor(n=N, length=20, seed=5)
    _within(float(task.y.mean()), 0.5, 0.5, N)
    assert task.baseline == 0.5 and task.baseline_loss == pytest.approx(math.log(2))


# -------------------------------------------------------------------------------------------------------------
# temporal order


def _order_from_x(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From the one-hot inputs alone: (N, K) the steps holding X or Y and (N,) the order as a class."""
    tokens = x.argmax(axis=-1)
    relevant = (tokens == TEMPORAL_ORDER_SYMBOLS.index("X")) | (tokens == TEMPORAL_ORDER_SYMBOLS.index("Y"))
    K = int(relevant.sum(axis=1)[0])
    assert (relevant.sum(axis=1) == K).all()
    steps = np.nonzero(relevant)[1].reshape(len(x), K)                       # row-major: in time order
    s = (np.take_along_axis(tokens, steps, axis=1) == TEMPORAL_ORDER_SYMBOLS.index("Y")).astype(int)
    return steps, (s * 2 ** np.arange(K - 1, -1, -1)).sum(axis=1)


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("T", [10, 37, 100])
def test_temporal_order_symbols_windows_and_labels(K, T):
    task = make_temporal_order(n=3000, length=T, seed=7, n_relevant=K)
    assert task.n_classes == 2 ** K and task.x.shape[-1] == len(TEMPORAL_ORDER_SYMBOLS)
    assert (task.x.sum(axis=-1) == 1).all() and set(np.unique(task.x)) == {0.0, 1.0}   # one-hot
    tokens = task.x.argmax(axis=-1)
    assert (tokens[:, 0] == TEMPORAL_ORDER_SYMBOLS.index("E")).all()
    assert (tokens[:, -1] == TEMPORAL_ORDER_SYMBOLS.index("B")).all()
    interior = tokens[:, 1:-1]
    assert not np.isin(interior, [6, 7]).any()                                # E and B only at the ends
    steps, order = _order_from_x(task.x)
    np.testing.assert_array_equal(order, task.y)
    np.testing.assert_array_equal(steps, task.extras["positions"])
    for k, (low, high) in enumerate(temporal_order_windows(T, K)):
        assert (low <= steps[:, k]).all() and (steps[:, k] <= high).all()
        assert set(steps[:, k]) == set(range(low, high + 1))                  # the whole window is used
    if T == 100:
        expected = {2: ((10, 20), (50, 60)), 3: ((10, 20), (33, 43), (66, 76))}[K]
        assert temporal_order_windows(100, K) == expected                     # the paper's positions


def test_temporal_order_windows_fit_between_start_and_trigger_for_every_length():
    for T in range(10, 400):
        for K in (2, 3):
            windows = temporal_order_windows(T, K)
            assert windows[0][0] >= 1 and windows[-1][1] <= T - 2, (T, K, windows)
            for (_, high), (low, _) in zip(windows, windows[1:]):
                assert high < low, (T, K, windows)


@pytest.mark.parametrize("K", [2, 3])
def test_temporal_order_classes_are_uniform(K):
    N = 40000
    task = make_temporal_order(n=N, length=12, seed=9, n_relevant=K)
    p = 1 / 2 ** K
    frequency = np.bincount(task.y, minlength=2 ** K) / N
    for f in frequency:                                                       # each constant guess scores p
        _within(float(f), p, math.sqrt(p * (1 - p)), N)
    assert task.baseline == p and task.baseline_loss == pytest.approx(math.log(2 ** K))


# -------------------------------------------------------------------------------------------------------------
# copy


@pytest.mark.parametrize("T", [1, 2, 30])
def test_copy_layout_and_targets(T):
    N = 200
    task = make_copy(n=N, length=T, seed=4)
    tokens = task.x.argmax(axis=-1)
    assert (task.x.sum(axis=-1) == 1).all()
    c = tokens[:, :10]
    assert (c < 8).all()
    np.testing.assert_array_equal(tokens[:, 10:T + 9], COPY_BLANK)             # T - 1 blanks
    np.testing.assert_array_equal(tokens[:, T + 9], COPY_DELIMITER)
    np.testing.assert_array_equal(tokens[:, T + 10:], COPY_BLANK)             # 10 blanks to answer in
    np.testing.assert_array_equal(task.y[:, :T + 10], COPY_BLANK)
    np.testing.assert_array_equal(task.y[:, T + 10:], c)                      # the 10 symbols, in order


def test_copy_memoryless_baseline():
    N, T = 20000, 50
    task = make_copy(n=N, length=T, seed=6)
    assert task.baseline == 10 * math.log(8) / (T + 20)
    # the memoryless strategy: blank with certainty, then uniform over 0..7, scored on the real targets
    p = np.zeros((T + 20, 9))
    p[:T + 10, COPY_BLANK] = 1.0
    p[T + 10:, :8] = 1 / 8
    cross_entropy = -np.log(p[np.arange(T + 20), task.y]).mean()
    assert cross_entropy == pytest.approx(task.baseline, rel=1e-12)
    # and its premise: the recalled symbols are uniform over the 8 data categories (ln 8 is their entropy)
    frequency = np.bincount(task.y[:, T + 10:].ravel(), minlength=9) / (10 * N)
    assert frequency[COPY_BLANK] == 0
    for f in frequency[:8]:
        _within(float(f), 1 / 8, math.sqrt(1 / 8 * 7 / 8), 10 * N)
    assert task.threshold == pytest.approx(10 * math.log(1 / 0.99) / (T + 20))


# -------------------------------------------------------------------------------------------------------------
# pixel digits


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return load_digits()


def test_pixel_digits_reads_the_images_in_raster_order(digits):
    task = make_pixel_digits(n=100, seed=0)
    np.testing.assert_array_equal(task.x[..., 0], (digits.data[task.extras["image"]] / 16).astype(np.float32))
    np.testing.assert_array_equal(task.y, digits.target[task.extras["image"]])
    np.testing.assert_array_equal(task.extras["permutation"], np.arange(64))
    assert 0.0 == task.x.min() and task.x.max() == 1.0


def test_pixel_digits_train_and_test_are_disjoint_and_cover_the_dataset():
    train = make_pixel_digits(n=1437, split="train", seed=2)
    test = make_pixel_digits(n=360, split="test", seed=2)
    train_images, test_images = set(train.extras["image"]), set(test.extras["image"])
    assert len(train_images) == 1437 and len(test_images) == 360                # drawn without replacement
    assert not train_images & test_images and len(train_images | test_images) == 1797
    assert all(i % 5 == 0 for i in test_images)
    # a smaller n is a prefix of the same seeded order
    np.testing.assert_array_equal(make_pixel_digits(n=50, split="train", seed=2).extras["image"],
                                  train.extras["image"][:50])


def test_pixel_digits_permutation_is_fixed_by_the_seed():
    plain = make_pixel_digits(n=40, split="test", seed=3)
    train = make_pixel_digits(n=40, split="train", seed=3, permuted=True)
    test = make_pixel_digits(n=40, split="test", seed=3, permuted=True)
    order = test.extras["permutation"]
    np.testing.assert_array_equal(train.extras["permutation"], order)         # train and test share it
    assert sorted(order) == list(range(64)) and not np.array_equal(order, np.arange(64))
    np.testing.assert_array_equal(test.extras["image"], plain.extras["image"])  # only the pixel order changes
    np.testing.assert_array_equal(test.x, plain.x[:, order])
    other = make_long_range("pixel_digits_permuted", n=40, length=64, seed=4, split="test")
    assert other.name == "pixel_digits_permuted"
    assert not np.array_equal(other.extras["permutation"], order)


def test_pixel_digits_majority_baseline(digits):
    test = make_pixel_digits(n=360, split="test", seed=0)
    train_labels = digits.target[np.arange(1797) % 5 != 0]
    majority = np.bincount(train_labels).argmax()
    assert test.baseline == np.mean(test.y == majority)
    assert 0.05 < test.baseline < 0.15                                        # ten nearly balanced digits
    frequency = np.bincount(train_labels) / len(train_labels)
    assert test.baseline_loss == pytest.approx(-np.log(frequency[test.y]).mean())


def test_logistic_regression_baseline_beats_the_majority_class():
    train = make_pixel_digits(n=300, split="train", seed=0)
    test = make_pixel_digits(n=200, split="test", seed=0)
    accuracy = logistic_regression_baseline(train, test)
    assert accuracy > 0.8 > test.baseline
    with pytest.raises(TypeError, match="train must be a classification LongRangeTask; got regression"):
        logistic_regression_baseline(make_adding(n=2, length=4), test)


# -------------------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("call, error, match", [
    (lambda: make_long_range("addition", n=2, length=4), ValueError,
     r"unknown task 'addition'; known tasks: adding, multiplication, temporal_order_2, temporal_order_3, xor, "
     r"copy, pixel_digits, pixel_digits_permuted"),
    (lambda: make_long_range(3, n=2, length=4), TypeError, "name must be a str; got int 3"),
    (lambda: make_long_range("adding", n=2, length=4, delay=3), TypeError,
     r"task 'adding' has no option 'delay'; its options: none"),
    (lambda: make_long_range("temporal_order_2", n=2, length=20, n_relevant=3), TypeError,
     r"task 'temporal_order_2' has no option 'n_relevant'"),
    (lambda: make_long_range("pixel_digits", n=2, length=64, permuted=True), TypeError,
     r"has no option 'permuted'; its options: split"),
    (lambda: make_adding(n=0, length=4), ValueError, r"adding: n must be >= 1; got 0"),
    (lambda: make_adding(n=2.5, length=4), TypeError, r"adding: n must be an int; got float 2.5"),
    (lambda: make_adding(n=True, length=4), TypeError, r"adding: n must be an int; got bool True"),
    (lambda: make_adding(n=2, length=1), ValueError, r"adding: length must be >= 2 \(one marked step in each half"),
    (lambda: make_multiplication(n=2, length=4, seed=-1), ValueError, r"multiplication: seed must be >= 0; got -1"),
    (lambda: make_xor(n=2, length="10"), TypeError, r"xor: length must be an int; got str '10'"),
    (lambda: make_long_range("temporal_order_3", n=2, length=9), ValueError,
     r"temporal_order_3: length must be >= 10 \(the windows must fit between the start symbol E and the trigger B"),
    (lambda: make_temporal_order(n=2, length=20, n_relevant=4), ValueError, r"n_relevant must be 2 or 3; got 4"),
    (lambda: make_copy(n=2, length=0), ValueError, r"copy: length must be >= 1 \(the delay"),
    (lambda: make_pixel_digits(n=2, length=100), ValueError,
     r"pixel_digits: length must be 64 \(one step per pixel of an 8x8 image\); got 100"),
    (lambda: make_pixel_digits(n=361, split="test"), ValueError,
     r"pixel_digits: n must be at most 360, the test split's number of images; got 361"),
    (lambda: make_pixel_digits(n=2, split="val"), ValueError, r"split must be 'train' or 'test'; got 'val'"),
    (lambda: make_pixel_digits(n=2, permuted=1), TypeError, r"permuted must be True or False; got int 1"),
])
def test_errors_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
