"""Greedy, sampling and beam search against a tiny hand-built decoder: exact answers by brute force, and the
identities between the searches (greedy == beam 1 == top-k 1 == small top-p == temperature -> 0)."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.decoding import Sampling, beam_search, filter_log_probs, greedy, sample
from tests.decoding._toy import ToyDecoder, exhaustive, start_state

START = torch.tensor([0, 1, 2])


def _greedy_by_hand(decoder: ToyDecoder, start: int, length: int, eos_id=None) -> list[int]:
    state, token, out = start_state(1), torch.tensor([start]), []
    for _ in range(length):
        logits, state = decoder.step(state, token)
        token = logits.argmax(-1)
        out.append(int(token))
        if eos_id is not None and out[-1] == eos_id:
            break
    return out


@pytest.mark.parametrize("eos_id", [None, 3])
def test_greedy_takes_the_argmax_each_step(eos_id):
    decoder = ToyDecoder(seed=1)
    out = greedy(decoder, start_state(3), START, max_length=6, eos_id=eos_id)
    for n, start in enumerate(START.tolist()):
        expected = _greedy_by_hand(decoder, start, 6, eos_id)
        assert out.tokens[n, : out.lengths[n]].tolist() == expected
        assert out.scores[n] == pytest.approx(decoder.log_prob(start, tuple(expected)), abs=1e-6)


@pytest.mark.parametrize("eos_id", [None, 3])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_beam_search_finds_the_best_sequence_by_brute_force(eos_id, seed):
    decoder = ToyDecoder(seed=seed)
    for start in range(4):
        truth = exhaustive(decoder, start, max_length=4, eos_id=eos_id)
        # 3 non-eos tokens: at most 27 live prefixes of length 3, so a beam of 27 is exhaustive
        result = beam_search(decoder, start_state(1), torch.tensor([start]), beam_size=27, max_length=4, eos_id=eos_id)
        found = result.hypotheses[0]
        assert tuple(found[0].tokens.tolist()) == truth[0][2]
        assert found[0].score == pytest.approx(truth[0][1], abs=1e-9)
        # the whole kept list is the brute-force top-27, in order
        assert [tuple(h.tokens.tolist()) for h in found] == [t[2] for t in truth[:27]]


@pytest.mark.parametrize("alpha", [0.6, 1.0])
def test_beam_search_with_a_length_penalty_matches_brute_force(alpha):
    decoder = ToyDecoder(seed=5, scale=1.0)
    for start in range(4):
        truth = exhaustive(decoder, start, max_length=4, eos_id=3, alpha=alpha)
        result = beam_search(decoder, start_state(1), torch.tensor([start]), beam_size=27, max_length=4, eos_id=3,
                             length_penalty=alpha)
        assert tuple(result.hypotheses[0][0].tokens.tolist()) == truth[0][2]
        assert result.hypotheses[0][0].normalized == pytest.approx(truth[0][0], abs=1e-9)


def test_a_narrow_beam_beats_or_equals_greedy_and_scores_are_model_log_probs():
    decoder = ToyDecoder(seed=7)
    g = greedy(decoder, start_state(3), START, max_length=5)
    b = beam_search(decoder, start_state(3), START, beam_size=3, max_length=5)
    for n, start in enumerate(START.tolist()):
        assert b.scores[n] >= g.scores[n] - 1e-12
        for h in b.hypotheses[n]:
            assert h.score == pytest.approx(decoder.log_prob(start, tuple(h.tokens.tolist())), abs=1e-9)


@pytest.mark.parametrize("eos_id", [None, 3])
def test_beam_size_one_is_greedy(eos_id):
    for seed in range(6):
        decoder = ToyDecoder(seed=seed)
        g = greedy(decoder, start_state(3), START, max_length=7, eos_id=eos_id)
        b = beam_search(decoder, start_state(3), START, beam_size=1, max_length=7, eos_id=eos_id)
        assert torch.equal(b.lengths, g.lengths)
        for n in range(3):
            assert b.tokens[n, : b.lengths[n]].tolist() == g.tokens[n, : g.lengths[n]].tolist()


def test_batched_beam_search_equals_one_row_at_a_time():
    decoder = ToyDecoder(seed=3)
    batched = beam_search(decoder, start_state(3), START, beam_size=4, max_length=6, eos_id=3, length_penalty=0.6)
    for n, start in enumerate(START.tolist()):
        alone = beam_search(decoder, start_state(1), torch.tensor([start]), beam_size=4, max_length=6, eos_id=3,
                            length_penalty=0.6)
        assert [h.tokens.tolist() for h in batched.hypotheses[n]] == [h.tokens.tolist() for h in alone.hypotheses[0]]


def _sampled(decoder, sampling, seed, length=20, eos_id=None):
    return sample(decoder, start_state(3), START, max_length=length, sampling=sampling,
                  generator=torch.Generator().manual_seed(seed), eos_id=eos_id)


def test_sampling_is_deterministic_under_a_seed_and_varies_across_seeds():
    decoder = ToyDecoder(seed=2, scale=0.5)   # flat distributions: samples differ from greedy
    first = _sampled(decoder, Sampling(temperature=1.0), seed=11)
    again = _sampled(decoder, Sampling(temperature=1.0), seed=11)
    other = _sampled(decoder, Sampling(temperature=1.0), seed=12)
    assert torch.equal(first.tokens, again.tokens) and torch.equal(first.scores, again.scores)
    assert not torch.equal(first.tokens, other.tokens)


@pytest.mark.parametrize("sampling", [Sampling(top_k=1), Sampling(top_p=1e-6), Sampling(temperature=1e-4),
                                      Sampling(temperature=2.0, top_k=1), Sampling(top_k=3, top_p=0.01)])
def test_degenerate_sampling_is_greedy(sampling):
    decoder = ToyDecoder(seed=4, scale=0.5)
    g = greedy(decoder, start_state(3), START, max_length=20)
    for seed in range(3):
        s = _sampled(decoder, sampling, seed)
        assert torch.equal(s.tokens, g.tokens)


def test_temperature_towards_zero_approaches_greedy():
    decoder = ToyDecoder(seed=4, scale=0.5)
    g = greedy(decoder, start_state(3), START, max_length=30)
    agreement = []
    for temperature in (2.0, 0.5, 0.05, 0.001):
        same = [float((_sampled(decoder, Sampling(temperature=temperature), seed, 30).tokens == g.tokens).double()
                      .mean()) for seed in range(8)]
        agreement.append(sum(same) / len(same))
    assert agreement[-1] == 1.0
    assert agreement[0] < agreement[-1]
    assert agreement == sorted(agreement)


def test_filtering_keeps_the_right_tokens_and_renormalises():
    log_probs = torch.log(torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]]))
    top2 = filter_log_probs(log_probs, Sampling(top_k=2)).exp()
    assert torch.allclose(top2, torch.tensor([[0.5 / 0.7, 0.2 / 0.7, 0, 0, 0]]))
    nucleus = filter_log_probs(log_probs, Sampling(top_p=0.8)).exp()      # 0.5 + 0.2 < 0.8 <= 0.5 + 0.2 + 0.15
    assert torch.allclose(nucleus, torch.tensor([[0.5, 0.2, 0.15, 0, 0]]) / 0.85)
    exact = filter_log_probs(log_probs, Sampling(top_p=0.7)).exp()        # the mass reaches 0.7 with two tokens
    assert torch.allclose(exact, torch.tensor([[0.5 / 0.7, 0.2 / 0.7, 0, 0, 0]]), atol=1e-6)
    hot = filter_log_probs(log_probs, Sampling(temperature=2.0)).exp()
    assert torch.allclose(hot, torch.softmax(log_probs / 2, -1))
    assert torch.allclose(filter_log_probs(log_probs, Sampling()).exp().sum(-1), torch.ones(1))


def test_sampling_draws_match_the_filtered_distribution():
    class Fixed:
        def step(self, state, tokens):
            return torch.log(torch.tensor([0.5, 0.3, 0.2])).expand(len(tokens), 3), state

    out = sample(Fixed(), None, torch.zeros(4000, dtype=torch.long), max_length=1,
                 sampling=Sampling(top_k=2), generator=torch.Generator().manual_seed(0))
    share = (out.tokens[:, 0] == 0).double().mean()
    assert abs(share - 0.625) < 0.03 and not (out.tokens == 2).any()


def test_eos_stops_a_row_and_pads_after_it():
    class Countdown:   # emits token 1, 1, then eos (3)
        def step(self, state, tokens):
            state = (state or 0) + 1
            logits = torch.full((len(tokens), 4), -10.0)
            logits[:, 3 if state >= 3 else 1] = 10.0
            return logits, state

    out = greedy(Countdown(), None, torch.tensor([0, 0]), max_length=10, eos_id=3)
    assert out.tokens.tolist() == [[1, 1, 3], [1, 1, 3]] and out.lengths.tolist() == [3, 3]


@pytest.mark.parametrize("kwargs,needle", [({"temperature": 0}, "temperature"), ({"temperature": -1}, "temperature"),
                                           ({"top_k": 0}, "top_k"), ({"top_p": 0.0}, "top_p"), ({"top_p": 1.5}, "top_p"),
                                           ({"temperature": math.nan}, "temperature")])
def test_bad_sampling_options_name_the_argument(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        Sampling(**kwargs)


def test_bad_calls_name_the_argument():
    decoder = ToyDecoder()
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(decoder, start_state(1), torch.tensor([0]), beam_size=0, max_length=3)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(decoder, start_state(1), torch.tensor([0]), beam_size=2, max_length=3, length_penalty=-1)
    with pytest.raises(ValueError, match="max_length"):
        greedy(decoder, start_state(1), torch.tensor([0]), max_length=0)
    with pytest.raises(ValueError, match="tokens"):
        greedy(decoder, start_state(1), torch.tensor([[0]]), max_length=2)
    with pytest.raises(TypeError, match="reorder"):
        beam_search(object(), None, torch.tensor([0]), beam_size=2, max_length=2)
