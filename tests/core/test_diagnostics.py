"""rnnkit.diagnostics: the dh_t recorded in the kernels' BPTT equals autograd's ∂L/∂h_t through the per-step
cells (float64); recording changes nothing; spectral radius, the plot and GradientMonitor."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import rnnkit
import rnnkit.nn as rnn
from rnnkit import kernels
from rnnkit.diagnostics import (
    ExplodingGradientWarning,
    GradientMonitor,
    VanishingGradientWarning,
    hidden_gradient_norms,
    hidden_gradients,
    matrix_spectral_radius,
    plot_gradient_norms,
    spectral_radius,
)
from rnnkit.kernels._record import record_hidden_gradients, recording_hidden_gradients
from rnnkit.layers import Dense, SimpleRNN

F64 = torch.float64
CELLS = [rnn.RNN, rnn.LSTM, rnn.GRU, rnn.LayerNormLSTM, rnn.LayerNormGRU]


def _key(layer: int, direction: int) -> str:
    return f"l{layer}" + ("_reverse" if direction else "")


def reference_hidden_gradients(module: rnn.RNN, x: torch.Tensor, lengths, loss_fn) -> dict[str, torch.Tensor]:
    """∂L/∂h_t by autograd through the per-step cells (``module._step``), retain_grad on every kept h_t:
    h_t = h_{t-1} + m_t (h̃_t - h_{t-1}), y_t = m_t h_t, layers stacked, directions concatenated."""
    T, B, _ = x.shape
    H, D = module.hidden_size, module.num_directions
    mask = None if lengths is None else (torch.arange(T)[:, None] < torch.as_tensor(lengths)[None]).to(x.dtype)
    kept: dict[str, list[torch.Tensor]] = {}
    layer_input = x
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(D):
            weights = module.layer_weights(layer, direction)
            state = tuple(x.new_zeros(B, H) for _ in range(module.state_count))
            hs: list[torch.Tensor] = [x.new_empty(0)] * T
            ys: list[torch.Tensor] = [x.new_empty(0)] * T
            for t in (range(T - 1, -1, -1) if direction else range(T)):
                candidate = module._step(layer_input[t], state, weights)
                m = None if mask is None else mask[t].unsqueeze(1)
                state = tuple(c if m is None else s + m * (c - s) for s, c in zip(state, candidate))
                state[0].retain_grad()
                hs[t] = state[0]
                ys[t] = state[0] if m is None else state[0] * m
            outputs.append(torch.stack(ys))
            kept[_key(layer, direction)] = hs
        layer_input = outputs[0] if D == 1 else torch.cat(outputs, dim=2)
    loss_fn(layer_input).backward()
    return {k: torch.stack([torch.zeros_like(h) if h.grad is None else h.grad for h in hs]) for k, hs in kept.items()}


def _layer(cls, **kwargs):
    torch.manual_seed(0)
    return cls(3, 4, num_layers=2, bidirectional=True, dtype=F64, **kwargs)


@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("lengths", [None, [7, 4, 1]], ids=["full", "lengths"])
def test_recorded_dh_equals_autograd_through_the_cells(cls, lengths):
    layer = _layer(cls)
    x = torch.randn(7, 3, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    readout = torch.randn(7, 3, 8, dtype=F64, generator=torch.Generator().manual_seed(2))

    def loss_fn(y):                          # a gradient on every output, and a nonlinear one on the last step
        return (readout * y).sum() + y[-1].pow(2).sum()

    reference = reference_hidden_gradients(layer, x, lengths, loss_fn)
    # the raw records, padded steps included (the carried gradient of the held state)
    with record_hidden_gradients() as recorder:
        y, _ = layer(x, lengths=lengths)
    loss_fn(y).backward()
    assert len(recorder.records) == 4 and [r.reverse for r in recorder.records] == [False, True, False, True]
    for k, record in enumerate(recorder.records):
        torch.testing.assert_close(record.dh, reference[_key(k // 2, k % 2)], rtol=1e-10, atol=1e-12)
    # the public API: padded steps zeroed, then the batch mean over the sequences that have step t
    measured = hidden_gradients(layer, x, loss=loss_fn, lengths=lengths)
    norms = hidden_gradient_norms(layer, x, loss=loss_fn, lengths=lengths)
    assert sorted(measured) == sorted(reference) == sorted(norms)
    mask = torch.ones(7, 3, dtype=F64) if lengths is None else (torch.arange(7)[:, None] < torch.tensor(lengths))
    mask = mask.to(F64)
    for key, dh in reference.items():
        torch.testing.assert_close(measured[key], dh * mask[..., None], rtol=1e-10, atol=1e-12)
        expected = (dh.norm(dim=2) * mask).sum(1) / mask.sum(1)
        assert norms[key].shape == (7,) and norms[key].dtype == np.float64
        np.testing.assert_allclose(norms[key], expected.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", CELLS, ids=lambda c: c.__name__)
def test_default_loss_is_a_readout_of_each_sequences_last_output(cls):
    layer = _layer(cls)
    x = torch.randn(6, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(3))
    lengths = [6, 3]
    reference = reference_hidden_gradients(layer, x, lengths, lambda y: y[5, 0].sum() + y[2, 1].sum())
    measured = hidden_gradients(layer, x, lengths=lengths)
    mask = (torch.arange(6)[:, None] < torch.tensor(lengths)).to(F64)
    for key, dh in reference.items():
        torch.testing.assert_close(measured[key], dh * mask[..., None], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", CELLS[:3], ids=lambda c: c.__name__)
def test_recording_changes_neither_outputs_nor_gradients(cls):
    g = torch.Generator().manual_seed(4)
    T, B, I, H = 5, 3, 2, 4
    G = {rnn.RNN: 1, rnn.LSTM: 4, rnn.GRU: 3}[cls] * H
    x = torch.randn(T, B, I, dtype=F64, generator=g)
    mask = (torch.arange(T)[:, None] < torch.tensor([5, 3, 2])).to(F64)
    params = [torch.randn(G, I, dtype=F64, generator=g), torch.randn(G, H, dtype=F64, generator=g),
              torch.randn(G, dtype=F64, generator=g), torch.randn(G, dtype=F64, generator=g)]
    states = [torch.randn(B, H, dtype=F64, generator=g) for _ in range(2 if cls is rnn.LSTM else 1)]
    kernel = {rnn.RNN: kernels.elman_sequence, rnn.LSTM: kernels.lstm_sequence, rnn.GRU: kernels.gru_sequence}[cls]

    def run(record: bool):
        leaves = [p.clone().requires_grad_() for p in params]
        h0 = [s.clone().requires_grad_() for s in states]
        if record:
            with record_hidden_gradients():
                out = kernel(x, *h0, *leaves, mask, True)
        else:
            out = kernel(x, *h0, *leaves, mask, True)
        (out[0].pow(2).sum() + out[1].sum()).backward()
        return [o.detach() for o in out] + [p.grad for p in leaves + h0]

    for plain, recorded in zip(run(False), run(True)):
        assert torch.equal(plain, recorded)                 # the same Python kernel: bit for bit


@pytest.mark.parametrize("backend", ["kernel", "reference", "native"])
def test_layers_record_whatever_the_backend_and_gradients_agree(backend):
    layer = _layer(rnn.LSTM, backend=backend)
    x = torch.randn(5, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(5))
    y, (h, c) = layer(x)
    (y.pow(2).sum() + h.sum()).backward()
    plain = {n: p.grad.clone() for n, p in layer.named_parameters()}
    layer.zero_grad()
    with record_hidden_gradients() as recorder:
        assert recording_hidden_gradients() and layer.path_for(x) == "kernel"
        y2, (h2, c2) = layer(x)
    assert not recording_hidden_gradients()
    (y2.pow(2).sum() + h2.sum()).backward()
    assert len(recorder.records) == 4 and all(r.dh is not None for r in recorder.records)
    torch.testing.assert_close(y2, y, rtol=1e-12, atol=1e-12)      # compiled / torch.nn vs Python: rounding only
    for name, p in layer.named_parameters():
        torch.testing.assert_close(p.grad, plain[name], rtol=1e-10, atol=1e-12)


def test_measuring_leaves_parameter_grads_alone():
    layer = _layer(rnn.GRU)
    hidden_gradient_norms(layer, torch.randn(4, 2, 3, dtype=F64))
    assert all(p.grad is None for p in layer.parameters())


@pytest.mark.parametrize("cls", [rnn.LayerNormLSTM, rnn.LayerNormGRU], ids=lambda c: c.__name__)
def test_recording_changes_nothing_in_the_layer_norm_kernels(cls):
    layer = _layer(cls)
    x = torch.randn(5, 3, 3, dtype=F64, generator=torch.Generator().manual_seed(6))

    def run(record: bool):
        layer.zero_grad()
        if record:
            with record_hidden_gradients() as recorder:
                y, _ = layer(x, lengths=torch.tensor([5, 3, 2]))
        else:
            y, _ = layer(x, lengths=torch.tensor([5, 3, 2]))
        y.pow(2).sum().backward()
        if record:
            assert len(recorder.records) == 4 and all(r.dh is not None for r in recorder.records)
        return [y.detach()] + [p.grad.clone() for p in layer.parameters()]

    for plain, recorded in zip(run(False), run(True)):       # compiled vs Python kernel: rounding only
        torch.testing.assert_close(plain, recorded, rtol=1e-12, atol=1e-12)


def test_model_keys_and_compiled_loss():
    torch.manual_seed(0)
    model = rnnkit.Sequential([SimpleRNN(5, input_shape=(6, 2)), Dense(1)])
    model.compile("sgd", "mse")
    norms = hidden_gradient_norms(model, np.random.default_rng(0).normal(size=(4, 6, 2)), np.zeros((4, 1)))
    assert list(norms) == ["simple_rnn:l0"] and norms["simple_rnn:l0"].shape == (6,)
    assert np.all(norms["simple_rnn:l0"] > 0)
    with pytest.raises(ValueError, match="pass y="):
        hidden_gradient_norms(model, torch.randn(4, 6, 2))


def test_spectral_radius_of_hand_made_matrices():
    # triangular: the eigenvalues are the diagonal, though the largest singular value is about 5
    assert matrix_spectral_radius(torch.tensor([[0.3, 5.0], [0.0, -0.7]], dtype=F64)) == pytest.approx(0.7, abs=1e-12)
    # a rotation by 90° scaled by 2: eigenvalues ±2i
    assert matrix_spectral_radius(torch.tensor([[0.0, -2.0], [2.0, 0.0]], dtype=F64)) == pytest.approx(2.0, abs=1e-12)
    elman = rnn.RNN(2, 2, dtype=F64)
    lstm = rnn.LSTM(2, 2, bidirectional=True, dtype=F64)
    with torch.no_grad():
        elman.weight_hh_l0.copy_(torch.tensor([[0.3, 5.0], [0.0, -0.7]], dtype=F64))
        lstm.weight_hh_l0.copy_(torch.cat([torch.eye(2, dtype=F64) * s for s in (0.1, 0.2, 0.3, 0.4)]))
    assert spectral_radius(elman) == {"l0": {"W_hh": pytest.approx(0.7, abs=1e-12)}}
    radii = spectral_radius(lstm)
    assert sorted(radii) == ["l0", "l0_reverse"] and list(radii["l0"]) == ["i", "f", "g", "o"]
    assert [radii["l0"][k] for k in "ifgo"] == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=1e-12)
    assert list(spectral_radius(rnn.GRU(2, 3))["l0"]) == ["r", "z", "n"]


def test_plot_is_written(tmp_path):
    models = {cls.__name__: hidden_gradient_norms(_layer(cls), torch.randn(8, 2, 3, dtype=F64)) for cls in CELLS}
    path = plot_gradient_norms(tmp_path / "norms.png", {**models, "one curve": np.array([1.0, 0.1, 0.0, 0.01])})
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    with pytest.raises(ValueError, match=r"\(T,\) array"):
        plot_gradient_norms(tmp_path / "bad.png", {"x": np.zeros((2, 2))})


def _tanh_rnn(T: int, recurrent_scale: float | None):
    """SimpleRNN(8) + Dense(1) over (T, 1) inputs: W_hh scaled, or (None) W_hh = I with W_ih = 0 and b = 0."""
    torch.manual_seed(0)
    model = rnnkit.Sequential([SimpleRNN(8, input_shape=(T, 1)), Dense(1)])
    model.compile("sgd", "mse")
    core = model.layers[0].core
    with torch.no_grad():
        if recurrent_scale is None:
            core.weight_hh_l0.copy_(torch.eye(8))
            core.weight_ih_l0.zero_()
            core.bias_ih_l0.zero_()
            core.bias_hh_l0.zero_()
        else:
            core.weight_hh_l0.mul_(recurrent_scale)
    data = np.random.default_rng(0).normal(size=(16, T, 1)).astype(np.float32)
    return model, data, np.ones((16, 1), dtype=np.float32)


def test_monitor_warns_for_a_tanh_rnn_with_tiny_recurrent_weights():
    model, x, y = _tanh_rnn(50, 1e-2)
    monitor = GradientMonitor(every=2)
    with pytest.warns(VanishingGradientWarning, match=r"simple_rnn:l0: .* < vanishing=0\.001"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[monitor])
    assert [(e["epoch"], e["batch"]) for e in monitor.history] == [(0, 0), (0, 2)]
    entry = monitor.history[0]
    assert entry["norms"]["simple_rnn:l0"].shape == (50,) and entry["ratio"]["simple_rnn:l0"] < 1e-30
    assert entry["spectral_radius"]["simple_rnn:l0"]["W_hh"] == pytest.approx(1e-2, rel=1e-4)   # orthogonal × 0.01


def test_monitor_is_quiet_where_the_gradient_provably_does_not_vanish():
    # W_ih = 0, b = 0, h_0 = 0: every h_t = 0, so tanh' = 1 and dh_{t-1} = W_hhᵀ dh_t = dh_t, exactly
    model, x, y = _tanh_rnn(50, None)
    monitor = GradientMonitor()                              # the first batch of each epoch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[monitor])
    assert len(monitor.history) == 1 and monitor.history[0]["ratio"]["simple_rnn:l0"] == pytest.approx(1.0, abs=1e-6)
    norms = monitor.history[0]["norms"]["simple_rnn:l0"]
    np.testing.assert_allclose(norms, norms[-1], rtol=1e-6)


def test_monitor_on_a_probe_batch_and_exploding():
    model, x, y = _tanh_rnn(10, None)
    monitor = GradientMonitor(probe=(x[:4], y[:4]), exploding=1e-9)
    with pytest.warns(ExplodingGradientWarning, match="exploding=1e-09"):
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[monitor])
    assert [(e["epoch"], e["batch"]) for e in monitor.history] == [(0, None), (1, None)]
    assert all(math.isfinite(e["max_norm"]) and e["max_norm"] > 1e-9 for e in monitor.history)
    assert model.training                                    # the probe runs in eval mode, then restores


def test_monitor_options_are_checked():
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        GradientMonitor(every=0)
    with pytest.raises(ValueError, match="vanishing must be a positive finite number"):
        GradientMonitor(vanishing=-1.0)
    with pytest.raises(ValueError, match="pass probe=x"):
        GradientMonitor(lengths=[3, 2])
