"""The n-gram baselines: a hand-computed bigram example, a plain dict-based reference of interpolated
Kneser-Ney, and distributions that sum to 1 over the vocabulary."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from rnnkit.tasks.lm.ngram import FALLBACK_DISCOUNT, KneserNey, unigram_log_probs


def _discount(counts) -> float:
    n1 = sum(1 for c in counts if c == 1)
    n2 = sum(1 for c in counts if c == 2)
    return n1 / (n1 + 2 * n2) if n1 and n2 else FALLBACK_DISCOUNT


def reference_kn(train: list[int], V: int, order: int):
    """p(w, history) written straight from the equations with dicts (slow, obvious)."""
    raw = {k: Counter(tuple(train[i - k + 1:i + 1]) for i in range(k - 1, len(train))) for k in range(1, order + 1)}
    cont = {}
    for k in range(1, order):
        cont[k] = Counter(gram[1:] for gram in raw[k + 1])            # distinct left extensions
    disc_raw = {k: _discount(raw[k].values()) for k in raw}
    disc_cont = {k: _discount(cont[k].values()) for k in cont}

    def p(w: int, history: tuple[int, ...]) -> float:
        top = len(history) + 1
        value = 1.0 / V
        for k in range(1, top + 1):
            table, D = (raw[k], disc_raw[k]) if k == top else (cont[k], disc_cont[k])
            h = history[len(history) - (k - 1):] if k > 1 else ()
            followers = {g[-1]: c for g, c in table.items() if g[:-1] == h}
            total = sum(followers.values())
            if total == 0:
                continue
            value = (max(followers.get(w, 0) - D, 0) + D * len(followers) * value) / total
        return value

    return p


def test_a_bigram_example_computed_by_hand(monkeypatch):
    import rnnkit.tasks.lm.ngram as ngram

    # a=0, b=1; text a b a b b. Every table has n2 = 0 or n1 = 0, so each discount is the fallback: fix it at 0.5
    monkeypatch.setattr(ngram, "FALLBACK_DISCOUNT", 0.5)
    model = KneserNey(order=2, vocab_size=2).fit([0, 1, 0, 1, 1])
    # continuation unigram: N1+(. a) = 1 ({b}), N1+(. b) = 2 ({a, b}); total 3, 2 types
    #   p(a) = (1 - .5 + .5 * 2 * 1/2) / 3 = 1/3, p(b) = 2/3
    # raw bigram after a: c(ab) = 2, one type: p(b|a) = 1.5/2 + .5 * 1/2 * 2/3 = 11/12, p(a|a) = 1/12
    # after b: c(ba) = c(bb) = 1, two types: p(a|b) = .5/2 + .5 * 2/2 * 1/3 = 5/12, p(b|b) = 7/12
    # raw unigram (position 0, no history): c(a) = 2, c(b) = 3: p(b) = (2.5 + .5 * 2 / 2) / 5 = 3/5
    assert np.allclose(np.exp(model.log_probs([1, 0, 0, 1])), [3 / 5, 5 / 12, 1 / 12, 11 / 12])
    assert np.allclose(model.distribution([0]), [1 / 12, 11 / 12])
    assert np.allclose(model.distribution([1]), [5 / 12, 7 / 12])


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_matches_the_dict_reference(order):
    rng = np.random.default_rng(order)
    V = 6
    # a text with structure (a Markov chain), so that counts of 1 and 2 both occur
    transition = rng.dirichlet(np.full(V - 1, 0.4), size=V)
    train = [0]
    for _ in range(400):
        train.append(int(rng.choice(np.arange(1, V), p=transition[train[-1]])))
    scored = [int(v) for v in rng.integers(0, V, 60)]       # unseen n-grams and an id never seen in training (0 is rare)
    model = KneserNey(order=order, vocab_size=V).fit(train)
    p = reference_kn(train, V, order)
    expected = [math.log(p(w, tuple(scored[max(0, i - order + 1):i]))) for i, w in enumerate(scored)]
    assert np.allclose(model.log_probs(scored), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("context", [[], [2], [1, 2], [5, 5, 5], [0, 3, 1, 4], [7, 7]])
def test_distributions_sum_to_one_over_the_vocabulary(context):
    rng = np.random.default_rng(0)
    train = rng.integers(1, 6, 500)             # ids 0, 6, 7 never occur; context [7, 7] is unseen
    model = KneserNey(order=3, vocab_size=8).fit(train)
    dist = model.distribution(context)
    assert dist.shape == (8,) and (dist > 0).all()
    assert dist.sum() == pytest.approx(1.0, abs=1e-12)


def test_log_probs_agree_with_distribution():
    rng = np.random.default_rng(1)
    train = rng.integers(0, 5, 300)
    model = KneserNey(order=3, vocab_size=5).fit(train)
    scored = rng.integers(0, 5, 20)
    lp = model.log_probs(scored)
    for i in range(len(scored)):
        assert lp[i] == pytest.approx(math.log(model.distribution(scored[max(0, i - 2):i])[scored[i]]), abs=1e-12)


def test_higher_orders_fit_structured_text_better_and_unigram_is_add_one():
    text = ("the quick brown fox jumps over the lazy dog. " * 40).encode()
    ids = np.frombuffer(text, dtype=np.uint8).astype(np.int64)
    train, val = ids[:1500], ids[1500:]
    nats = [-KneserNey(order=k, vocab_size=256).fit(train).log_probs(val).mean() for k in (1, 2, 3, 5)]
    assert nats == sorted(nats, reverse=True) and nats[-1] < 0.3
    counts = np.bincount(train, minlength=256)
    assert unigram_log_probs(train, val[:3], 256) == pytest.approx(np.log((counts[val[:3]] + 1) / (1500 + 256)))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="order"):
        KneserNey(order=0, vocab_size=4)
    with pytest.raises(ValueError, match="2\\*\\*62"):
        KneserNey(order=8, vocab_size=300)
    with pytest.raises(ValueError, match="vocab_size=4"):
        KneserNey(order=2, vocab_size=4).fit([0, 1, 5])
    with pytest.raises(ValueError, match="fit"):
        KneserNey(order=2, vocab_size=4).log_probs([0, 1])
