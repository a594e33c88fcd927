"""CTC decoding on hand-made log-probabilities: best path vs best labelling, the exact search against
enumerating every path, and agreement with torch's CTC loss (which sums the same paths)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from rnnkit.decoding.ctc import ctc_greedy, ctc_greedy_batch, ctc_prefix_beam_search


def collapse(path, blank=0):
    out, previous = [], None
    for v in path:
        if v != previous and v != blank:
            out.append(v)
        previous = v
    return tuple(out)


def labelling_probabilities(log_probs: torch.Tensor) -> dict[tuple[int, ...], float]:
    """p(y | x) for every labelling, by enumerating all V^T paths (tiny T, V only)."""
    T, V = log_probs.shape
    probs: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(V), repeat=T):
        p = math.exp(sum(float(log_probs[t, v]) for t, v in enumerate(path)))
        probs[collapse(path)] = probs.get(collapse(path), 0.0) + p
    return probs


def test_greedy_merges_repeats_and_drops_blanks():
    # path: a a - a b b -  (blank 0, a 1, b 2) -> a a b
    path = [1, 1, 0, 1, 2, 2, 0]
    log_probs = torch.log(torch.full((7, 3), 0.1).scatter(1, torch.tensor(path)[:, None], 0.8))
    hypothesis = ctc_greedy(log_probs)
    assert hypothesis.labels == (1, 1, 2)
    assert hypothesis.log_prob == pytest.approx(7 * math.log(0.8))


def test_beam_finds_the_labelling_greedy_misses():
    # Two frames, p(blank) = 0.6, p(a) = 0.4: the best path is "- -" (empty, 0.36), but "a" has three paths
    # (a a, a -, - a): 0.16 + 0.24 + 0.24 = 0.64.
    log_probs = torch.log(torch.tensor([[0.6, 0.4], [0.6, 0.4]]))
    assert ctc_greedy(log_probs).labels == ()
    best, second = ctc_prefix_beam_search(log_probs, beam_size=4)
    assert best.labels == (1,) and math.exp(best.log_prob) == pytest.approx(0.64)
    assert second.labels == () and math.exp(second.log_prob) == pytest.approx(0.36)


@pytest.mark.parametrize("seed", range(4))
def test_a_wide_beam_is_exact(seed):
    generator = torch.Generator().manual_seed(seed)
    log_probs = torch.log_softmax(2 * torch.randn(5, 3, generator=generator, dtype=torch.float64), dim=-1)
    exact = labelling_probabilities(log_probs)
    found = ctc_prefix_beam_search(log_probs, beam_size=len(exact))
    assert {h.labels for h in found} == set(exact)
    for h in found:
        assert math.exp(h.log_prob) == pytest.approx(exact[h.labels], rel=1e-9)
    assert found[0].labels == max(exact, key=exact.get)
    assert sum(math.exp(h.log_prob) for h in found) == pytest.approx(1.0)


def test_the_beam_score_is_minus_torchs_ctc_loss():
    generator = torch.Generator().manual_seed(7)
    log_probs = torch.log_softmax(torch.randn(6, 4, generator=generator, dtype=torch.float64), dim=-1)
    best = ctc_prefix_beam_search(log_probs, beam_size=4**6)[0]                 # every prefix: exact
    loss = torch.nn.functional.ctc_loss(log_probs[:, None], torch.tensor([best.labels]), torch.tensor([6]),
                                        torch.tensor([len(best.labels)]), reduction="sum")
    assert best.log_prob == pytest.approx(-float(loss), rel=1e-9)


def test_beam_one_with_pruning_still_reads_clear_frames():
    path = [0, 3, 3, 0, 0, 2, 0, 2]
    log_probs = torch.log(torch.full((8, 4), 1e-3).scatter(1, torch.tensor(path)[:, None], 1 - 3e-3))
    assert ctc_prefix_beam_search(log_probs, beam_size=1, prune=-5.0)[0].labels == (3, 2, 2)
    assert ctc_greedy(log_probs).labels == (3, 2, 2)


def test_a_padded_batch_is_decoded_on_each_utterances_own_frames():
    a = torch.log(torch.tensor([[0.1, 0.9], [0.9, 0.1], [0.1, 0.9]]))
    padded = torch.stack([a, torch.cat([a[:1], torch.log(torch.tensor([[0.1, 0.9], [0.1, 0.9]]))])])
    results = ctc_greedy_batch(padded, torch.tensor([3, 1]))
    assert [r.labels for r in results] == [(1, 1), (1,)]


@pytest.mark.parametrize("call, match", [
    (lambda: ctc_greedy(torch.zeros(2, 3, 4)), r"shape \(T, V\)"),
    (lambda: ctc_greedy(torch.zeros(3, 4), blank=4), "blank must be a label index"),
    (lambda: ctc_prefix_beam_search(torch.zeros(3, 4), beam_size=0), "beam_size must be an int >= 1"),
    (lambda: ctc_greedy_batch(torch.zeros(3, 4)), r"shape \(B, T, V\)"),
])
def test_bad_arguments_are_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
