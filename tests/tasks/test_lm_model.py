"""The language model: truncated BPTT (chunked == unchunked), the streaming step == the sequence forward,
weight tying, the stream chunks, exact held-out scoring, and save -> load -> identical logits and text."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import rnnkit
from rnnkit.data.text import CharTokenizer
from rnnkit.tasks.lm import LanguageModel, generate
from rnnkit.tasks.lm.data import StreamChunks
from rnnkit.tasks.lm.metrics import stream_nats
from rnnkit.training.data import Batch

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 4


def _model(**kwargs) -> LanguageModel:
    tokenizer = CharTokenizer().fit([TEXT])
    torch.manual_seed(0)
    options = {"embedding_size": 8, "units": 16, "layers": 2, **kwargs}
    return LanguageModel(vocab_size=tokenizer.vocab_size, tokenizer=tokenizer.to_dict(), **options).eval()


def _ids(model: LanguageModel) -> torch.Tensor:
    return torch.tensor(model.tokenizer.encode(TEXT))


@torch.no_grad()
def test_chunked_forward_with_the_state_carried_equals_the_unchunked_forward():
    model = _model()
    ids = _ids(model)[None, :200]                                          # (1, 200)
    whole, _ = model.forward_chunk(ids)
    state, parts = None, []
    for start in range(0, 200, 37):                                        # uneven chunks
        logits, state = model.forward_chunk(ids[:, start:start + 37], state)
        parts.append(logits)
    torch.testing.assert_close(torch.cat(parts, dim=1), whole, rtol=0, atol=1e-5)


@torch.no_grad()
def test_the_streaming_step_gives_the_sequence_forward():
    model = _model()
    ids = _ids(model)[:40]
    whole, _ = model.forward_chunk(ids[None])
    state, steps = None, []
    for token in ids:
        logits, state = model.step(state, token[None])
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, dim=1), whole, rtol=0, atol=1e-5)


def test_train_steps_carry_a_detached_state_from_chunk_to_chunk():
    model = _model()
    model.compile(optimizer=rnnkit.optimizers.Adam(1e-3, clipnorm=1.0), loss="sparse_categorical_crossentropy")
    model.build_from_data(torch.zeros((2, 5), dtype=torch.long))
    model.optimizer.build(model.parameters())
    ids = _ids(model)
    chunks = list(StreamChunks(ids.numpy(), batch_size=2, seq_len=10, random_offset=False))
    model.train_step(Batch(*chunks[0]))
    h, c = model._train_state
    assert h.shape == (2, 2, 16) and not h.requires_grad and not c.requires_grad
    # the next step starts from that state: its loss is the loss of chunk 2 given chunk 1
    with torch.no_grad():
        expected = model.eval().chunk_loss(Batch(*chunks[1]), model._train_state)[0]
    torch.manual_seed(1)
    loss = model.train_step(Batch(*chunks[1]))["loss"]
    assert float(loss) == pytest.approx(float(expected), abs=1e-6)
    model.reset_states()
    assert model._train_state is None and model._test_state is None


def test_stream_chunks_continue_each_row_and_shift_the_targets():
    ids = np.arange(1000)
    chunks = StreamChunks(ids, batch_size=4, seq_len=10)
    torch.manual_seed(3)
    batches = list(chunks)
    assert len(batches) == len(chunks) == (1000 - 1 - 9) // 4 // 10
    for (x, y), (x_next, _) in zip(batches, batches[1:]):
        assert x.shape == (4, 10) and torch.equal(y, x + 1)              # y is the next token
        assert torch.equal(x_next[:, 0], x[:, -1] + 1)                   # row b continues row b
    assert 0 <= int(batches[0][0][0, 0]) < 10                             # a random offset in [0, T)
    offsets = set()
    for seed in range(20):
        torch.manual_seed(seed)
        offsets.add(int(next(iter(chunks))[0][0, 0]))
    assert len(offsets) > 3


@torch.no_grad()
def test_held_out_scoring_is_exact_and_warm_streams_approach_it():
    model = _model()
    ids = _ids(model).numpy()
    logits, _ = model.forward_chunk(torch.as_tensor(ids[:-1])[None])
    exact = float(F.cross_entropy(logits[0].double(), torch.as_tensor(ids[1:]), reduction="sum"))
    assert stream_nats(model, ids) == pytest.approx(exact, rel=1e-6)
    # a warm-up longer than the text: every segment reads the whole text before it, so the sum is exact again
    assert stream_nats(model, ids, streams=5, warmup=len(ids)) == pytest.approx(exact, rel=1e-6)
    cold = stream_nats(model, ids, streams=5, warmup=0)
    assert cold != pytest.approx(exact, rel=1e-6) and abs(cold - exact) / exact < 0.05


@pytest.mark.parametrize("embedding_size", [16, 8])
def test_tied_weights_share_the_embedding(embedding_size):
    model = _model(tie_weights=True, embedding_size=embedding_size)
    names = dict(model.named_parameters())
    assert "output.weight" not in names and "output_bias" in names
    assert ("projection.weight" in names) == (embedding_size != 16)
    logits, _ = model.forward_chunk(_ids(model)[None, :12])
    logits.sum().backward()
    assert model.embedding.weight.grad is not None
    untied = _model(embedding_size=embedding_size)
    assert model.count_params() < untied.count_params()


def test_bad_model_arguments_name_themselves():
    with pytest.raises(ValueError, match="units"):
        LanguageModel(vocab_size=10, units=0)
    with pytest.raises(ValueError, match="output_dropout"):
        LanguageModel(vocab_size=10, output_dropout=1.0)
    tokenizer = CharTokenizer().fit(["abc"])
    with pytest.raises(ValueError, match="vocab_size"):
        LanguageModel(vocab_size=99, tokenizer=tokenizer.to_dict())


def test_save_load_gives_identical_logits_and_text(tmp_path):
    model = _model(tie_weights=True, embedding_size=8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ids = _ids(model)[None, :50]
    model.build_from_data(ids)
    with torch.no_grad():   # move the weights away from their initial values
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.save(tmp_path / "lm.rnnkit")
    loaded = rnnkit.load_model(tmp_path / "lm.rnnkit").eval()
    assert type(loaded) is LanguageModel and loaded.tokenizer.to_dict() == model.tokenizer.to_dict()
    with torch.no_grad():
        assert torch.equal(loaded.forward_chunk(ids)[0], model.forward_chunk(ids)[0])
    for method in ("sample", "greedy", "beam"):
        a = generate(model, "To be", length=60, method=method, temperature=0.9, top_k=5, seed=7)
        b = generate(loaded, "To be", length=60, method=method, temperature=0.9, top_k=5, seed=7)
        assert a.text == b.text and a.log_prob == b.log_prob
        assert len(a.text) == 60


def test_generation_is_deterministic_under_a_seed():
    model = _model()
    first = generate(model, "Whether", length=80, temperature=1.2, seed=3)
    again = generate(model, "Whether", length=80, temperature=1.2, seed=3)
    other = generate(model, "Whether", length=80, temperature=1.2, seed=4)
    assert first.text == again.text and first.text != other.text
    assert math.isfinite(first.log_prob) and first.tokens_per_second > 0
    greedy = generate(model, "Whether", length=30, method="greedy")
    beam1 = generate(model, "Whether", length=30, method="beam", beam_size=1)
    top1 = generate(model, "Whether", length=30, top_k=1, seed=9)
    assert greedy.text == beam1.text == top1.text
    beam4 = generate(model, "Whether", length=30, method="beam", beam_size=4)
    assert beam4.log_prob >= greedy.log_prob - 1e-4
