"""rnnkit.nn.seq2seq: attention masked from lengths, teacher forcing equal to stepping, padding invisible."""

from __future__ import annotations

import pytest
import torch

from rnnkit.decoding import beam_search, greedy
from rnnkit.nn.seq2seq import EncoderDecoder, LuongAttention, reverse_padded, source_mask
from rnnkit.nn.seq2seq.attention import attention_scores_reference

VARIANTS = [(cell, attention) for cell in ("gru", "lstm") for attention in ("none", "bahdanau", "dot", "general")]


def make(cell: str, attention: str, *, seed: int = 0, **kwargs) -> EncoderDecoder:
    torch.manual_seed(seed)
    return EncoderDecoder(source_vocab=30, target_vocab=25, embedding_size=8, hidden_size=8, cell=cell,
                          attention=attention, bidirectional=attention != "dot", **kwargs).double().eval()


def batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([7, 4, 1, 5])
    source = torch.randint(4, 30, (4, 7), generator=g) * source_mask(lengths, 7)       # pad = 0 after each length
    target_in = torch.randint(4, 25, (4, 6), generator=g)
    return source, lengths, target_in


@pytest.mark.parametrize("cell,attention", [v for v in VARIANTS if v[1] != "none"])
def test_attention_sums_to_one_over_the_source_and_is_exactly_zero_on_padding(cell, attention):
    source, lengths, target_in = batch()
    _, alpha = make(cell, attention)(source, lengths, target_in)                        # (B, T, S)
    for b, n in enumerate(lengths.tolist()):
        assert torch.allclose(alpha[b, :, :n].sum(-1), torch.ones(6, dtype=torch.float64), atol=1e-12)
        assert (alpha[b, :, n:] == 0).all()                                              # exactly, not merely small
        assert (alpha[b, :, :n] > 0).all()


@pytest.mark.parametrize("cell,attention", VARIANTS)
def test_teacher_forcing_equals_stepping_one_token_at_a_time(cell, attention):
    model = make(cell, attention)
    source, lengths, target_in = batch()
    logits, _ = model(source, lengths, target_in)
    state, steps = model.start(source, lengths), []
    with torch.no_grad():                   # the compiled streaming step, as decoding runs it
        for t in range(target_in.shape[1]):
            z, state = model.step(state, target_in[:, t])
            steps.append(z)
    assert torch.allclose(torch.stack(steps, 1), logits, atol=1e-10)


@pytest.mark.parametrize("cell,attention", VARIANTS)
def test_a_padded_row_gives_what_it_gives_alone(cell, attention):
    model = make(cell, attention, reverse_source=attention == "none")
    source, lengths, target_in = batch()
    logits, _ = model(source, lengths, target_in)
    for b, n in enumerate(lengths.tolist()):
        alone, _ = model(source[b:b + 1, :n], lengths[b:b + 1], target_in[b:b + 1])
        assert torch.allclose(alone[0], logits[b], atol=1e-10)


@pytest.mark.parametrize("attention", ["bahdanau", "general"])
def test_decoding_a_padded_batch_gives_each_row_its_own_translation(attention):
    model = make("gru", attention, seed=3)
    source, lengths, _ = batch(seed=5)
    bos, limits = torch.full((4,), 2), 2 * lengths + 2
    with torch.no_grad():
        beams = beam_search(model, model.start(source, lengths), bos, beam_size=3, max_length=20, eos_id=3,
                            max_lengths=limits)
        for b, n in enumerate(lengths.tolist()):
            alone = beam_search(model, model.start(source[b:b + 1, :n], lengths[b:b + 1]), bos[:1], beam_size=3,
                                max_length=int(limits[b]), eos_id=3)
            assert beams.tokens[b, :beams.lengths[b]].tolist() == alone.tokens[0, :alone.lengths[0]].tolist()


def test_beam_size_one_is_greedy_on_an_encoder_decoder():
    model = make("lstm", "general", seed=7)
    source, lengths, _ = batch(seed=2)
    bos, limits = torch.full((4,), 2), lengths + 3
    with torch.no_grad():
        g = greedy(model, model.start(source, lengths), bos, max_length=12, eos_id=3, max_lengths=limits)
        b = beam_search(model, model.start(source, lengths), bos, beam_size=1, max_length=12, eos_id=3,
                        max_lengths=limits)
    for n in range(4):
        assert g.tokens[n, :g.lengths[n]].tolist() == b.tokens[n, :b.lengths[n]].tolist()
        assert float(g.scores[n]) == pytest.approx(float(b.scores[n]), abs=1e-9)


def test_luong_dot_weights_match_a_plain_loop():
    g = torch.Generator().manual_seed(0)
    memory, query = torch.randn(3, 5, 4, generator=g, dtype=torch.float64), torch.randn(3, 4, generator=g, dtype=torch.float64)
    lengths = torch.tensor([5, 2, 3])
    attention = LuongAttention(query_size=4, memory_size=4, score="dot")
    context, alpha = attention(query[:, None], attention.keys(memory), memory, source_mask(lengths, 5))
    expected = attention_scores_reference(query, memory, lengths)
    assert torch.allclose(alpha[:, 0], expected, atol=1e-12)
    assert torch.allclose(context[:, 0], torch.einsum("bs,bsm->bm", expected, memory), atol=1e-12)


def test_reverse_padded_reverses_only_the_real_tokens():
    ids = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    assert reverse_padded(ids, torch.tensor([3, 2])).tolist() == [[7, 6, 5, 0], [9, 8, 0, 0]]


def test_scheduled_sampling_at_one_is_teacher_forcing_and_below_one_runs():
    model = make("gru", "bahdanau")
    source, lengths, target_in = batch()
    assert torch.equal(model.teacher_forced(source, lengths, target_in), model(source, lengths, target_in)[0])
    out = model.teacher_forced(source, lengths, target_in, teacher_forcing=0.5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (4, 6, 25) and torch.isfinite(out).all()


def test_bad_options_name_the_argument():
    with pytest.raises(ValueError, match="attention"):
        EncoderDecoder(source_vocab=10, target_vocab=10, attention="cosine")
    with pytest.raises(ValueError, match="query_size == memory_size"):
        EncoderDecoder(source_vocab=10, target_vocab=10, attention="dot", bidirectional=True)
    with pytest.raises(ValueError, match="cell"):
        EncoderDecoder(source_vocab=10, target_vocab=10, cell="rnn")
