r"""Long-range benchmark tasks: seeded, deterministic generators of the classic problems that show whether a
recurrent net can carry information (and gradients) across many steps.

    >>> task = make_long_range("adding", n=1000, length=200, seed=0)
    >>> task.x.shape, task.y.shape, task.baseline, task.solved(0.004)
    ((1000, 200, 2), (1000,), 0.16666666666666666, True)

Every generator takes keyword-only `n` (sequences), `length` (T) and `seed`, and returns a `LongRangeTask`:
x (N, T, I) float32, the targets y, and what a trivial strategy scores (`baseline`, in the task's `metric`,
with `baseline_method` saying how), the cross-entropy or MSE of that strategy (`baseline_loss`) and a
success `threshold`. Everything is a function of (seed, arguments): task k draws from
`np.random.default_rng([seed, k])`, so two tasks never share a stream. Draw a test set with another seed.

Notation: u_t the value channel x[:, t, 0], m_t the marker channel x[:, t, 1], t_1 < t_2 the two marked
steps (m_t = 1 exactly there), U[0, 1] the uniform distribution.

**adding** (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", experiment 4; here the variant of
Le, Jaitly & Hinton 2015, "A Simple Way to Initialize Recurrent Networks of Rectified Linear Units", sec. 4.1).
I = 2: u_t ~ U[0, 1] i.i.d., t_1 uniform in the first half 0 <= t_1 < floor(T/2), t_2 uniform in the
second half floor(T/2) <= t_2 < T. Target (regression, at the last step)

    y = sum_t u_t m_t = u_{t_1} + u_{t_2}

Baseline: predict 1 for every sequence, E[y] = 1, so MSE = Var(u_{t_1}) + Var(u_{t_2}) = 2 * 1/12 = 1/6 ~ 0.167
(Le et al.'s "0.167"). Solved: MSE < 0.01 (the criterion of issue 15; Hochreiter & Schmidhuber count a
sequence as right when its absolute error is below 0.04). Their original draws u_t from [-1, 1] and puts
the markers elsewhere; Le et al.'s variant is the one later papers use.

**multiplication** (Hochreiter & Schmidhuber 1997, experiment 5). The same inputs as adding, u_t ~ U[0, 1]:

    y = u_{t_1} * u_{t_2}

Baseline: predict the mean E[y] = 1/2 * 1/2 = 1/4; MSE = Var(y) = E[u^2]^2 - E[u]^4 = 1/9 - 1/16 = 7/144
~ 0.0486. Solved: MSE < 0.0025 (an RMS error of 0.05; rnnkit's convention, about 1/19 of the baseline).

**temporal_order_2 / temporal_order_3** (Hochreiter & Schmidhuber 1997, experiments 6a and 6b; also in
Martens & Sutskever 2011, "Learning Recurrent Neural Networks with Hessian-Free Optimization").
I = 8 one-hot symbols `TEMPORAL_ORDER_SYMBOLS` = a, b, c, d (distractors), X, Y (relevant), E (start),
B (trigger). Step 0 is E, step T-1 is B, every other step a uniform distractor, except K = 2 (or 3)
relevant steps t_k, each uniform in its window and each independently X or Y (s_k = 0 for X, 1 for Y).
The windows, in percent of T as in the paper's T = 100 (`temporal_order_windows`):

    K = 2:  t_1 in [10, 20],  t_2 in [50, 60]
    K = 3:  t_1 in [10, 20],  t_2 in [33, 43],  t_3 in [66, 76]      (floor(p * T / 100), both ends included)

Target (classification, 2^K classes): the order read as a binary number, XX -> 0, XY -> 1, YX -> 2, YY -> 3
(the paper's Q, R, S, U; for K = 3, XXX -> 0 ... YYY -> 7)

    y = sum_k s_k 2^(K - k)

Baseline: every class has probability 2^-K, so any constant guess scores accuracy 1/4 (1/8) and the uniform
prediction has cross-entropy ln 4 (ln 8). Solved: accuracy >= 0.99 (rnnkit's convention; the paper asks for
every output within 0.3 of its target). Departure: the paper draws T from 100..110 per sequence; here T is
fixed (a batch needs no padding) and the windows scale with it. Needs T >= 10 so the windows fit between E
and B.

**xor** (Martens & Sutskever 2011): the adding problem with binary values, u_t ~ Bernoulli(1/2) i.i.d., the
markers placed as in adding. Target (classification, 2 classes)

    y = u_{t_1} XOR u_{t_2}

Baseline: P(y = 1) = 1/2 exactly, chance accuracy 0.5, cross-entropy ln 2. Solved: accuracy >= 0.99.

**copy** (Arjovsky, Shah & Bengio 2016, "Unitary Evolution Recurrent Neural Networks", sec. 4.1, the copying
memory problem). `length` is the paper's delay T; the sequences have T + 20 steps. Categories 0..7 are data,
8 the blank, 9 the delimiter (the paper's a_1..a_8, a_9, a_10); I = 10 one-hot. Input: 10 symbols
c_1..c_10 drawn uniformly with replacement from 0..7, then T - 1 blanks, the delimiter, 10 blanks. Target
(a class at every step, `kind="sequence"`): blank for the first T + 10 steps, then c_1..c_10:

    y_t = 8 for t < T + 10,    y_{T + 10 + j} = c_{j + 1}  (j = 0..9)

Baseline (metric: the cross-entropy per step averaged over all T + 20 steps): the memoryless strategy
predicts the blank with certainty for the first T + 10 steps (cross-entropy 0 there: the target is always
blank), then the uniform distribution over the 8 data symbols for the last 10 (ln 8 each, the best one can do
without remembering c), so

    baseline = (0 * (T + 10) + 10 ln 8) / (T + 20) = 10 ln 8 / (T + 20).

Solved: below 10 ln(1/0.99) / (T + 20), what putting probability 0.99 on every recalled symbol (and being
certain elsewhere) scores (rnnkit's convention).

**pixel_digits / pixel_digits_permuted** (pixel-by-pixel MNIST of Le et al. 2015, sec. 4.2, on
scikit-learn's bundled 8x8 digits, `sklearn.datasets.load_digits`, no download). T = 64 steps, I = 1: the
pixels of one image in raster order, values / 16 in [0, 1]; `permuted=True` reads them in one fixed order
drawn from the seed (the same for train and test of one seed). The split follows the moving-digits
generator (`rnnkit.data.video.split_images`): image i of the 1797 is a test image when i % 5 == 0 (1437
train, 360 test), and `n` images are drawn without replacement from the split in a seeded order. Target
(classification, 10 classes): the digit. Baseline: always predict the training split's most common digit
(accuracy ~ 0.10: the digits are nearly balanced); `logistic_regression_baseline` fits a logistic regression
on the 64 pixels for a stronger reference (~0.96 on the test split). Solved: accuracy >= 0.9 (rnnkit's
convention).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

__all__ = [
    "COPY_BLANK",
    "COPY_DELIMITER",
    "LONG_RANGE_TASKS",
    "LongRangeTask",
    "TEMPORAL_ORDER_SYMBOLS",
    "logistic_regression_baseline",
    "make_adding",
    "make_copy",
    "make_long_range",
    "make_multiplication",
    "make_pixel_digits",
    "make_temporal_order",
    "make_xor",
    "temporal_order_windows",
]

KINDS = ("regression", "classification", "sequence")
METRICS = ("mse", "accuracy", "cross_entropy")

# The random stream of each task: np.random.default_rng([seed, k]).
_STREAM = {"adding": 0, "multiplication": 1, "temporal_order_2": 2, "temporal_order_3": 3, "xor": 4, "copy": 5,
           "pixel_digits": 6, "pixel_permutation": 7}

TEMPORAL_ORDER_SYMBOLS = ("a", "b", "c", "d", "X", "Y", "E", "B")
_X, _E, _B = 4, 6, 7
_WINDOWS = {2: ((10, 20), (50, 60)), 3: ((10, 20), (33, 43), (66, 76))}   # percent of T, both ends included
TEMPORAL_ORDER_MIN_LENGTH = 10

COPY_SYMBOLS = 10        # c_1..c_10, remembered
COPY_CATEGORIES = 8      # drawn from 0..7
COPY_BLANK = 8
COPY_DELIMITER = 9

PIXELS = 64              # 8x8 digits, one pixel a step


@dataclass(frozen=True, eq=False)
class LongRangeTask:
    """N sequences of T steps with I features, their targets, and what a trivial strategy scores.

    `metric` is "mse" (regression, lower is better), "accuracy" (classification, higher is better) or
    "cross_entropy" (sequence: mean over all N * T targets, lower is better); `baseline` is the trivial
    strategy's expected score in that metric and `baseline_loss` its training loss (MSE, or mean
    cross-entropy in nats); `solved(score)` compares a score with `threshold`.
    """

    name: str
    x: np.ndarray             # (N, T, I) float32
    y: np.ndarray             # regression (N,) float32; classification (N,) int64; sequence (N, T) int64
    kind: str                 # one of KINDS
    n_classes: int | None     # classification / sequence: the number of target classes; regression: None
    metric: str               # one of METRICS
    baseline: float
    baseline_method: str
    baseline_loss: float
    threshold: float
    extras: Mapping[str, np.ndarray] = field(default_factory=lambda: MappingProxyType({}))  # task-specific

    def __len__(self) -> int:
        return len(self.x)

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "accuracy"

    def solved(self, score: float) -> bool:
        """Whether `score` (in `metric`) meets the success threshold."""
        return score >= self.threshold if self.higher_is_better else score < self.threshold


def _check_int(task: str, name: str, value: object, low: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{task}: {name} must be an int; got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{task}: {name} must be >= {low}{why}; got {value}")
    return int(value)


def _check_common(task: str, n: object, length: object, seed: object, min_length: int,
                  why: str) -> tuple[int, int, int]:
    return (_check_int(task, "n", n, 1), _check_int(task, "length", length, min_length, why),
            _check_int(task, "seed", seed, 0))


def _rng(seed: int, task: str) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAM[task]])


def _readonly(**arrays: np.ndarray) -> Mapping[str, np.ndarray]:
    for array in arrays.values():
        array.setflags(write=False)
    return MappingProxyType(arrays)


def _one_hot(tokens: np.ndarray, size: int) -> np.ndarray:
    return np.eye(size, dtype=np.float32)[tokens]


# ---------------------------------------------------------------------------------------------------------------
# adding, multiplication, xor: a value channel and a marker channel


_MARKER_WHY = " (one marked step in each half)"


def _marked(rng: np.random.Generator, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (N, T, 2) = (values, markers) and the marked steps (N, 2): t_1 in the first half, t_2 in the second."""
    N, T = values.shape
    t_1 = rng.integers(0, T // 2, size=N)
    t_2 = rng.integers(T // 2, T, size=N)
    markers = np.zeros((N, T), dtype=np.float32)
    rows = np.arange(N)
    markers[rows, t_1] = 1.0
    markers[rows, t_2] = 1.0
    return np.stack([values.astype(np.float32), markers], axis=-1), np.stack([t_1, t_2], axis=1)


def make_adding(*, n: int, length: int, seed: int = 0) -> LongRangeTask:
    """The adding problem (Le et al. 2015): y = u_{t_1} + u_{t_2}, u_t ~ U[0, 1]; baseline MSE 1/6."""
    N, T, seed = _check_common("adding", n, length, seed, 2, _MARKER_WHY)
    rng = _rng(seed, "adding")
    u = rng.random((N, T), dtype=np.float32)                                   # (N, T)
    x, positions = _marked(rng, u)                                             # (N, T, 2), (N, 2)
    rows = np.arange(N)
    y = u[rows, positions[:, 0]] + u[rows, positions[:, 1]]                    # (N,) float32
    return LongRangeTask(
        name="adding", x=x, y=y, kind="regression", n_classes=None, metric="mse", baseline=1 / 6,
        baseline_method="predict 1 = E[y]: MSE = Var(u_1) + Var(u_2) = 2/12 = 1/6", baseline_loss=1 / 6,
        threshold=0.01, extras=_readonly(positions=positions))


def make_multiplication(*, n: int, length: int, seed: int = 0) -> LongRangeTask:
    """The multiplication problem (Hochreiter & Schmidhuber 1997): y = u_{t_1} u_{t_2}; baseline MSE 7/144."""
    N, T, seed = _check_common("multiplication", n, length, seed, 2, _MARKER_WHY)
    rng = _rng(seed, "multiplication")
    u = rng.random((N, T), dtype=np.float32)                                   # (N, T)
    x, positions = _marked(rng, u)
    rows = np.arange(N)
    y = u[rows, positions[:, 0]] * u[rows, positions[:, 1]]                    # (N,) float32
    return LongRangeTask(
        name="multiplication", x=x, y=y, kind="regression", n_classes=None, metric="mse", baseline=7 / 144,
        baseline_method="predict 1/4 = E[y]: MSE = Var(y) = E[u^2]^2 - E[u]^4 = 1/9 - 1/16 = 7/144",
        baseline_loss=7 / 144, threshold=0.0025, extras=_readonly(positions=positions))


def make_xor(*, n: int, length: int, seed: int = 0) -> LongRangeTask:
    """The XOR problem (Martens & Sutskever 2011): binary u_t, y = u_{t_1} XOR u_{t_2}; chance accuracy 0.5."""
    N, T, seed = _check_common("xor", n, length, seed, 2, _MARKER_WHY)
    rng = _rng(seed, "xor")
    u = rng.integers(0, 2, size=(N, T))                                        # (N, T) bits
    x, positions = _marked(rng, u)
    rows = np.arange(N)
    y = (u[rows, positions[:, 0]] ^ u[rows, positions[:, 1]]).astype(np.int64)  # (N,)
    return LongRangeTask(
        name="xor", x=x, y=y, kind="classification", n_classes=2, metric="accuracy", baseline=0.5,
        baseline_method="chance: P(y = 1) = 1/2, any constant guess scores 1/2; uniform prediction: ln 2",
        baseline_loss=math.log(2), threshold=0.99, extras=_readonly(positions=positions))


# ---------------------------------------------------------------------------------------------------------------
# temporal order


def temporal_order_windows(length: int, n_relevant: int) -> tuple[tuple[int, int], ...]:
    """The steps (first, last), both included, where each relevant symbol may sit: floor(p * T / 100)."""
    task = "temporal_order_windows"
    T = _check_int(task, "length", length, TEMPORAL_ORDER_MIN_LENGTH, " (the windows must fit between E and B)")
    if n_relevant not in _WINDOWS or isinstance(n_relevant, bool):
        raise ValueError(f"{task}: n_relevant must be 2 or 3; got {n_relevant!r}")
    return tuple((low * T // 100, high * T // 100) for low, high in _WINDOWS[n_relevant])


def make_temporal_order(*, n: int, length: int, seed: int = 0, n_relevant: int = 2) -> LongRangeTask:
    """The temporal order problem (Hochreiter & Schmidhuber 1997, 6a/6b): y = the order of the 2 (3) X/Y symbols."""
    if isinstance(n_relevant, bool) or n_relevant not in _WINDOWS:
        raise ValueError(f"temporal_order: n_relevant must be 2 or 3; got {n_relevant!r}. "
                         "Use make_long_range('temporal_order_2' or 'temporal_order_3', ...)")
    K = int(n_relevant)
    name = f"temporal_order_{K}"
    N, T, seed = _check_common(name, n, length, seed, TEMPORAL_ORDER_MIN_LENGTH,
                               " (the windows must fit between the start symbol E and the trigger B)")
    rng = _rng(seed, name)
    windows = temporal_order_windows(T, K)
    tokens = rng.integers(0, 4, size=(N, T))                                   # (N, T) distractors a..d
    tokens[:, 0] = _E
    tokens[:, -1] = _B
    s = rng.integers(0, 2, size=(N, K))                                        # (N, K): 0 for X, 1 for Y
    positions = np.stack([rng.integers(low, high + 1, size=N) for low, high in windows], axis=1)  # (N, K)
    tokens[np.arange(N)[:, None], positions] = _X + s
    y = (s * 2 ** np.arange(K - 1, -1, -1)).sum(axis=1).astype(np.int64)      # y = sum_k s_k 2^(K - k)
    classes = 2 ** K
    return LongRangeTask(
        name=name, x=_one_hot(tokens, len(TEMPORAL_ORDER_SYMBOLS)), y=y, kind="classification",
        n_classes=classes, metric="accuracy", baseline=1 / classes,
        baseline_method=f"chance: all {classes} orders equally likely, any constant guess scores 1/{classes}; "
                        f"uniform prediction: ln {classes}",
        baseline_loss=math.log(classes), threshold=0.99, extras=_readonly(positions=positions, tokens=tokens))


# ---------------------------------------------------------------------------------------------------------------
# copy


def make_copy(*, n: int, length: int, seed: int = 0) -> LongRangeTask:
    """The copying memory problem (Arjovsky et al. 2016): recall 10 symbols after a delay of `length` steps.

    x (N, T + 20, 10) one-hot, y (N, T + 20) int64; baseline the memoryless cross-entropy 10 ln 8 / (T + 20).
    """
    N, T, seed = _check_common("copy", n, length, seed, 1, " (the delay: T - 1 blanks and the delimiter)")
    rng = _rng(seed, "copy")
    c = rng.integers(0, COPY_CATEGORIES, size=(N, COPY_SYMBOLS))                # (N, 10)
    steps = T + 2 * COPY_SYMBOLS
    tokens = np.full((N, steps), COPY_BLANK, dtype=np.int64)                   # (N, T + 20)
    tokens[:, :COPY_SYMBOLS] = c
    tokens[:, COPY_SYMBOLS + T - 1] = COPY_DELIMITER                           # after T - 1 blanks
    y = np.full((N, steps), COPY_BLANK, dtype=np.int64)                        # blank for T + 10 steps ...
    y[:, T + COPY_SYMBOLS:] = c                                                # ... then c_1..c_10
    return LongRangeTask(
        name="copy", x=_one_hot(tokens, COPY_DELIMITER + 1), y=y, kind="sequence", n_classes=COPY_BLANK + 1,
        metric="cross_entropy", baseline=COPY_SYMBOLS * math.log(COPY_CATEGORIES) / steps,
        baseline_method="memoryless: blank with certainty for T + 10 steps (0 nats), then uniform over the 8 "
                        "data symbols (ln 8 each): 10 ln 8 / (T + 20)",
        baseline_loss=COPY_SYMBOLS * math.log(COPY_CATEGORIES) / steps,
        threshold=COPY_SYMBOLS * math.log(1 / 0.99) / steps, extras=_readonly(tokens=tokens))


# ---------------------------------------------------------------------------------------------------------------
# pixel-by-pixel digits


@functools.lru_cache(maxsize=1)
def _digit_pixels() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) float32 pixels / 16 in [0, 1] (raster order) and (1797,) int64 digits, read once."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = (bunch.data / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def make_pixel_digits(*, n: int, length: int = PIXELS, seed: int = 0, split: str = "train",
                      permuted: bool = False) -> LongRangeTask:
    """sklearn's 8x8 digits read one pixel a step (T = 64, I = 1), optionally in a seeded fixed permutation."""
    from rnnkit.data.video.moving_digits import split_images

    name = "pixel_digits_permuted" if permuted is True else "pixel_digits"
    if not isinstance(permuted, (bool, np.bool_)):
        raise TypeError(f"pixel_digits: permuted must be True or False; got {type(permuted).__name__} {permuted!r}")
    if split not in ("train", "test"):
        raise ValueError(f"{name}: split must be 'train' or 'test'; got {split!r}")
    pool = split_images(split)
    N = _check_int(name, "n", n, 1)
    if N > len(pool):
        raise ValueError(f"{name}: n must be at most {len(pool)}, the {split} split's number of images; got {N}")
    T = _check_int(name, "length", length, PIXELS)
    if T != PIXELS:
        raise ValueError(f"{name}: length must be {PIXELS} (one step per pixel of an 8x8 image); got {T}")
    seed = _check_int(name, "seed", seed, 0)
    pixels, labels = _digit_pixels()
    image = _rng(seed, "pixel_digits").permutation(pool)[:N].astype(np.int64)   # (N,)
    # The pixel order depends on the seed alone, so train and test of one seed share it.
    order = _rng(seed, "pixel_permutation").permutation(PIXELS) if permuted else np.arange(PIXELS)
    x = pixels[image][:, order][..., None]                                      # (N, 64, 1)
    y = labels[image]                                                            # (N,)
    train_counts = np.bincount(labels[split_images("train")], minlength=10)
    majority = int(np.argmax(train_counts))
    train_frequency = train_counts / train_counts.sum()
    return LongRangeTask(
        name=name, x=x, y=y, kind="classification", n_classes=10, metric="accuracy",
        baseline=float(np.mean(y == majority)),
        baseline_method=f"majority class: always predict {majority}, the training split's most common digit",
        baseline_loss=float(-np.mean(np.log(train_frequency[y]))), threshold=0.9,
        extras=_readonly(image=image, permutation=order.astype(np.int64)))


def logistic_regression_baseline(train: LongRangeTask, test: LongRangeTask) -> float:
    """The test accuracy of a logistic regression (scikit-learn, lbfgs) fit on train's flattened (T * I) inputs."""
    for role, task in (("train", train), ("test", test)):
        if not isinstance(task, LongRangeTask) or task.kind != "classification":
            what = task.kind if isinstance(task, LongRangeTask) else type(task).__name__
            raise TypeError(f"logistic_regression_baseline: {role} must be a classification LongRangeTask; got {what}")
    if train.x.shape[1:] != test.x.shape[1:]:
        raise ValueError(f"logistic_regression_baseline: train and test must have the same (T, I); got "
                         f"{train.x.shape[1:]} and {test.x.shape[1:]}")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=2000).fit(train.x.reshape(len(train), -1), train.y)
    return float(model.score(test.x.reshape(len(test), -1), test.y))


# ---------------------------------------------------------------------------------------------------------------
# the registry


LONG_RANGE_TASKS: Mapping[str, Callable[..., LongRangeTask]] = MappingProxyType({
    "adding": make_adding,
    "multiplication": make_multiplication,
    "temporal_order_2": functools.partial(make_temporal_order, n_relevant=2),
    "temporal_order_3": functools.partial(make_temporal_order, n_relevant=3),
    "xor": make_xor,
    "copy": make_copy,
    "pixel_digits": functools.partial(make_pixel_digits, permuted=False),
    "pixel_digits_permuted": functools.partial(make_pixel_digits, permuted=True),
})


def _options(generator: Callable[..., LongRangeTask]) -> tuple[str, ...]:
    """The task-specific keyword options of a registry entry (not n, length, seed, nor those a partial fixes)."""
    fixed = generator.keywords if isinstance(generator, functools.partial) else {}
    function = generator.func if isinstance(generator, functools.partial) else generator
    return tuple(p for p in inspect.signature(function).parameters if p not in ("n", "length", "seed")
                 and p not in fixed)


def make_long_range(name: str, *, n: int, length: int, seed: int = 0, **options: object) -> LongRangeTask:
    """The task `name` of `LONG_RANGE_TASKS` with n sequences of `length` steps (copy: its delay) from `seed`."""
    if not isinstance(name, str):
        raise TypeError(f"make_long_range: name must be a str; got {type(name).__name__} {name!r}")
    if name not in LONG_RANGE_TASKS:
        raise ValueError(f"make_long_range: unknown task {name!r}; known tasks: {', '.join(LONG_RANGE_TASKS)}")
    generator = LONG_RANGE_TASKS[name]
    allowed = _options(generator)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"make_long_range: task {name!r} has no option {unknown[0]!r}; its options: "
                        f"{', '.join(allowed) if allowed else 'none (only n, length, seed)'}")
    return generator(n=n, length=length, seed=seed, **options)
