"""Magnitude pruning: exactly the smallest weights (or hidden units) go, a pruned unit's state stays exactly 0,
and fine-tuning with KeepPruned leaves the pruned entries at 0."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.compress import KeepPruned, apply_masks, magnitude_prune, sparsity
from rnnkit.layers import GRU, LSTM, Dense, SimpleRNN
from rnnkit.models import Sequential


def model_of(layer, units=6, layers=1, seed=0):
    rnnkit.set_seed(seed)
    stack = [layer(units, return_sequences=k < layers - 1) for k in range(layers)] + [Dense(3)]
    model = Sequential(stack)
    model.build((7, 4))
    return model


def weights(model):
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.dim() >= 2}


def test_global_unstructured_prunes_exactly_the_smallest():
    model = model_of(LSTM, layers=2)
    before = weights(model)
    masks = magnitude_prune(model, 0.6)
    n = sum(w.numel() for w in before.values())
    pruned = torch.cat([before[k][masks[k] == 0].abs() for k in masks])
    kept = torch.cat([before[k][masks[k] == 1].abs() for k in masks])
    assert pruned.numel() == round(0.6 * n)
    assert pruned.max() <= kept.min()
    assert sparsity(model, masks) == pytest.approx(round(0.6 * n) / n)
    for name, p in model.named_parameters():          # biases untouched, kept weights unchanged
        if p.dim() < 2:
            assert name not in masks
        else:
            assert torch.equal(p.detach(), before[name] * masks[name])


def test_layer_scope_prunes_each_matrix_by_the_amount():
    model = model_of(GRU)
    masks = magnitude_prune(model, 0.5, scope="layer")
    for name, mask in masks.items():
        assert int((mask == 0).sum()) == round(0.5 * mask.numel()), name


@pytest.mark.parametrize("layer", [LSTM, GRU, SimpleRNN])
def test_structured_units_stay_exactly_zero(layer):
    model = model_of(layer, units=8)
    core = model.layers[0].core
    w_ih, w_hh = core.weight_ih_l0.detach().double(), core.weight_hh_l0.detach().double()
    gates, H = core.gate_count, core.hidden_size
    scores = ((w_ih.pow(2).sum(1) + w_hh.pow(2).sum(1)).view(gates, H).sum(0) + w_hh.pow(2).sum(0)).sqrt()
    masks = magnitude_prune(model, 0.5, structured=True)
    keep = masks["layers.0.core.bias_ih_l0"][:H]
    assert int((keep == 0).sum()) == 4
    assert scores[keep == 0].max() <= scores[keep == 1].min()               # the lowest-scoring units went
    gone = (keep == 0).nonzero().flatten()
    for g in range(gates):
        assert (core.weight_ih_l0[g * H + gone] == 0).all() and (core.weight_hh_l0[g * H + gone] == 0).all()
    assert (core.weight_hh_l0[:, gone] == 0).all()
    x = torch.randn(5, 7, 4)
    states, _ = core(x)                                                    # (B, T, H) all steps
    assert (states[..., gone] == 0).all() and (states[..., keep == 1] != 0).any()


def test_structured_bidirectional_and_stacked_layers_each_lose_the_amount():
    rnnkit.set_seed(0)
    model = Sequential([rnnkit.layers.Bidirectional(LSTM(6, return_sequences=True)), LSTM(6), Dense(2)])
    model.build((5, 3))
    masks = magnitude_prune(model, 0.5, structured=True)
    biases = [m for n, m in masks.items() if "bias_ih" in n]
    assert len(biases) == 3 and all(int((b.view(4, 6)[0] == 0).sum()) == 3 for b in biases)


def test_keep_pruned_holds_zeros_through_fine_tuning():
    g = np.random.default_rng(0)
    x = g.normal(size=(64, 7, 4)).astype(np.float32)
    y = g.integers(0, 3, size=64)
    model = model_of(LSTM)
    masks = magnitude_prune(model, 0.5)
    pruned_before = weights(model)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", learning_rate=1e-2)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[KeepPruned(masks)])
    after = weights(model)
    for name, mask in masks.items():
        assert (after[name][mask == 0] == 0).all()
        assert not torch.equal(after[name][mask == 1], pruned_before[name][mask == 1])   # the rest trained


def test_zero_amount_changes_nothing_and_bad_arguments():
    model = model_of(LSTM)
    before = weights(model)
    magnitude_prune(model, 0.0)
    assert all(torch.equal(before[k], v) for k, v in weights(model).items())
    for amount in (1.0, -0.1, "half", True):
        with pytest.raises(ValueError, match="amount must be a fraction in"):
            magnitude_prune(model, amount)
    with pytest.raises(ValueError, match="scope must be one of"):
        magnitude_prune(model, 0.5, scope="model")
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        magnitude_prune("model", 0.5)
    with pytest.raises(ValueError, match="KeepPruned: masks must be"):
        KeepPruned({})
    with pytest.raises(ValueError, match="masks name parameters the model does not have"):
        apply_masks(model, {"nope": torch.ones(1)})


def test_structured_refuses_layer_norm_and_models_without_recurrent_layers():
    rnnkit.set_seed(0)
    norm = Sequential([rnnkit.layers.LayerNormLSTM(4), Dense(2)])
    norm.build((5, 3))
    with pytest.raises(ValueError, match="LayerNormLSTM, whose layer norm"):
        magnitude_prune(norm, 0.5, structured=True)
    dense = Sequential([Dense(2)])
    dense.build((3,))
    with pytest.raises(ValueError, match="needs rnnkit recurrent layers"):
        magnitude_prune(dense, 0.5, structured=True)
