"""Per-row length limits (max_lengths) and rows leaving the beam batch once done."""

import pytest
import torch

from rnnkit.decoding import beam_search, greedy
from tests.decoding._toy import ToyDecoder, exhaustive, start_state


class CountingDecoder(ToyDecoder):
    """Records how many rows every step is asked for."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rows = []

    def step(self, state, tokens):
        self.rows.append(tokens.shape[0])
        return super().step(state, tokens)


@pytest.mark.parametrize("eos_id", [None, 0])
def test_per_row_limits_equal_each_row_searched_alone_with_its_limit(eos_id):
    decoder = ToyDecoder(vocab=4, seed=3)
    starts, limits = torch.tensor([1, 2, 3]), torch.tensor([2, 5, 3])
    batched = beam_search(decoder, start_state(3), starts, beam_size=3, max_length=6, eos_id=eos_id,
                          max_lengths=limits)
    for n in range(3):
        alone = beam_search(decoder, start_state(1), starts[n:n + 1], beam_size=3, max_length=int(limits[n]),
                            eos_id=eos_id)
        assert batched.hypotheses[n][0].tokens.tolist() == alone.hypotheses[0][0].tokens.tolist()
        assert batched.scores[n] == pytest.approx(float(alone.scores[0]), abs=1e-12)
        assert int(batched.lengths[n]) <= int(limits[n])


def test_a_wide_beam_with_per_row_limits_is_exact():
    decoder = ToyDecoder(vocab=3, seed=1)
    result = beam_search(decoder, start_state(2), torch.tensor([1, 2]), beam_size=27, max_length=5, eos_id=0,
                         max_lengths=torch.tensor([3, 4]))
    for n, (start, limit) in enumerate([(1, 3), (2, 4)]):
        best = exhaustive(decoder, start, max_length=limit, eos_id=0)[0]
        assert tuple(result.hypotheses[n][0].tokens.tolist()) == best[2]


def test_finished_rows_are_not_stepped_again():
    decoder = CountingDecoder(vocab=4, seed=0)
    beam_search(decoder, start_state(3), torch.tensor([1, 2, 3]), beam_size=2, max_length=6,
                max_lengths=torch.tensor([1, 3, 6]))
    # 3 rows × 2 beams for 1 step, then 2 rows, then (after step 3) only the last row
    assert decoder.rows == [6, 4, 4, 2, 2, 2]


def test_greedy_respects_per_row_limits_and_beam_one_matches():
    decoder = ToyDecoder(vocab=5, seed=2)
    starts, limits = torch.tensor([1, 2, 4]), torch.tensor([2, 4, 1])
    out = greedy(decoder, start_state(3), starts, max_length=8, eos_id=0, max_lengths=limits)
    beam = beam_search(decoder, start_state(3), starts, beam_size=1, max_length=8, eos_id=0, max_lengths=limits)
    assert (out.lengths <= limits).all()
    for n in range(3):
        assert out.tokens[n, :out.lengths[n]].tolist() == beam.tokens[n, :beam.lengths[n]].tolist()


@pytest.mark.parametrize("bad", [torch.tensor([1, 0]), torch.tensor([1.0, 2.0]), torch.tensor([3])])
def test_bad_max_lengths_name_the_argument(bad):
    with pytest.raises(ValueError, match="max_lengths"):
        beam_search(ToyDecoder(), start_state(2), torch.tensor([1, 2]), beam_size=2, max_length=4, max_lengths=bad)
